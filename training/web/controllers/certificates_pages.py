"""Pages: a cohort's certificates — issue all, download Word/PDF, revoke with a reason."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Response

from training.access import Actor, may
from training.errors import Conflict, Invalid
from training.services import assessments, certificates
from training.web.auth import roles
from training.web.controllers.certificates_api import DOCX, attachment
from training.web.list_export import ExportColumn, export_or_none, export_query
from training.web.rendering import page

CERTIFICATE_COLUMNS = [
    ExportColumn("证书编号", "number"), ExportColumn("姓名", "name"), ExportColumn("身份证号", "id_masked"),
    ExportColumn("等级", "level_label"), ExportColumn("学时", "hours"), ExportColumn("发证日期", "issue_date"),
    ExportColumn("状态", "status_label"), ExportColumn("撤销时间", "revoked_at"),
    ExportColumn("撤销原因", "revoke_reason"), ExportColumn("查验码", "verification_code"),
]


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key, "")
    if isinstance(value, list):
        value = value[-1] if value else ""
    return str(value or "").strip()


class CertificatePagesController(Controller):
    guards = [roles("institution", "city", "province")]
    include_in_schema = False

    async def _list(self, request: Request, actor: Actor, cohort_id: int, status_code: int = 200,
                    **context: Any) -> Response:
        listing = await certificates.cohort_certificates(actor, cohort_id)
        download = await export_or_none(context.pop("fmt", None), f"certificates-{listing.cohort['code']}",
                                        "培训合格证书", CERTIFICATE_COLUMNS, listing.certificates)
        if download is not None:
            return download
        cohort = await assessments.load_cohort(actor, cohort_id)
        defaults = {"error": None, "errors": {}, "notice": None, "revoking": None, "reason": ""}
        return page(request, "certificates/list.html", status_code=status_code, listing=listing, cohort=cohort,
                    can_issue=may(actor, "certificate.issue"), can_revoke=may(actor, "certificate.revoke"),
                    tab="certificates", export_query=export_query(request), **{**defaults, **context})

    @get("/cohorts/{cohort_id:int}/certificates")
    async def index(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                    notice: FromQuery[str | None] = None, format: FromQuery[str | None] = None) -> Response:
        notices = {"revoked": "证书已撤销"}
        return await self._list(request, actor, cohort_id, notice=notices.get(notice or ""), fmt=format)

    @post("/cohorts/{cohort_id:int}/certificates/issue", status_code=200)
    async def issue(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int]) -> Response:
        try:
            outcome = await certificates.issue_all(actor, cohort_id)
        except Conflict as exc:
            return await self._list(request, actor, cohort_id, exc.status_code, error=exc.detail)
        return await self._list(request, actor, cohort_id, notice=outcome.message)

    @post("/certificates/{number:str}/revoke", status_code=200)
    async def revoke(self, request: Request, actor: NamedDependency[Actor], number: FromPath[str],
                     data: URLEncodedBody[dict[str, Any]]) -> Response:
        cert = await certificates.get_certificate(actor, number)
        reason = _text(data, "reason")
        try:
            await certificates.revoke(actor, number, reason)
        except (Invalid, Conflict) as exc:
            return await self._list(request, actor, cert["cohort"], exc.status_code, error=exc.detail,
                                    errors=exc.fields, revoking=cert["number"], reason=reason)
        return Redirect(f"/cohorts/{cert['cohort']}/certificates?notice=revoked", status_code=303)

    @get("/certificates/{number:str}/certificate.docx")
    async def docx(self, request: Request, actor: NamedDependency[Actor], number: FromPath[str]) -> Response[bytes]:
        cert, content = await certificates.document_docx(actor, number, request.app.state.settings.public_base_url)
        return attachment(content, DOCX, f"{cert['number']}.docx")

    @get("/certificates/{number:str}/certificate.pdf")
    async def pdf(self, request: Request, actor: NamedDependency[Actor], number: FromPath[str]) -> Response[bytes]:
        cert, content = await certificates.document_pdf(actor, number, request.app.state.settings.public_base_url)
        return attachment(content, "application/pdf", f"{cert['number']}.pdf")


ROUTES = [CertificatePagesController]
