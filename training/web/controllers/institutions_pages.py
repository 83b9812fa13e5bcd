"""Pages: the public institution list, and the province's institution catalogue (机构目录) with import."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, MultipartBody, URLEncodedBody
from litestar.response import Redirect, Response

from training.access import Actor
from training.errors import BadInput, Conflict, ImportRejected, Invalid, StaleVersion
from training.rules.levels import INSTITUTION_STATUSES, LEVELS
from training.services import accounts, anomalies, institutions
from training.services.reference import list_cities, list_occupations
from training.web.auth import SESSION_COOKIE, client_addr, roles
from training.web.controllers.institutions_api import XLSX
from training.web.list_export import ExportColumn, export_pages, export_query
from training.web.rendering import page

_EDITABLE = ("name", "credit_code", "city", "address", "contact_person", "phone", "email")


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key, "")
    if isinstance(value, list):
        value = value[-1] if value else ""
    return str(value or "").strip()


def _occupation_text(row: dict[str, Any]) -> str:
    return "；".join(f"{o['occupation_name']}（{'、'.join(LEVELS.get(x, x) for x in o['levels'])}）"
                    for o in row.get("occupations", []))


PUBLIC_COLUMNS = [ExportColumn("机构名称", "name"), ExportColumn("城市", "city_name"), ExportColumn("地址", "address"),
                  ExportColumn("联系人", "contact_person"), ExportColumn("电话", "phone"),
                  ExportColumn("电子邮箱", "email"), ExportColumn("批准职业及等级", _occupation_text)]
MANAGE_COLUMNS = [
    ExportColumn("编号", "id"), ExportColumn("机构名称", "name"), ExportColumn("统一社会信用代码", "credit_code"),
    ExportColumn("城市", "city_name"), ExportColumn("地址", "address"), ExportColumn("联系人", "contact_person"),
    ExportColumn("电话", "phone"), ExportColumn("电子邮箱", "email"),
    ExportColumn("状态", lambda r: INSTITUTION_STATUSES.get(r["status"], r["status"])),
    ExportColumn("状态原因", "status_reason"),
    ExportColumn("有效批准数", lambda r: sum(1 for a in r.get("approvals", []) if a.get("current"))),
]


async def _choices() -> dict[str, Any]:
    return {"cities": await list_cities(), "occupations": await list_occupations()}


class PublicInstitutionsController(Controller):
    include_in_schema = False

    @get("/institutions", opt={"exclude_from_auth": True})
    async def public(self, request: Request, city: FromQuery[str | None] = None,
                     occupation: FromQuery[str | None] = None, page_number: FromQuery[int] = 1,
                     format: FromQuery[str | None] = None) -> Response:
        # Public page: the auth middleware does not run, so recognise a signed-in visitor here.
        token = request.cookies.get(SESSION_COOKIE, "")
        visitor = await accounts.actor_for_token(token, "session", client_addr(request)) if token else None
        if visitor is not None:
            request.scope["user"] = visitor

        async def fetch(number: int, size: int) -> institutions.Page:
            return await institutions.public_list(city=city or None, occupation=_int(occupation), page=number,
                                                  page_size=size)

        if (download := await export_pages(format, "institutions", "机构名录", PUBLIC_COLUMNS, fetch)) is not None:
            return download
        listed = await fetch(max(1, page_number), 50)
        return page(request, "institutions/public.html", listed=listed, city=city or "",
                    occupation=_int(occupation), export_query=export_query(request), **await _choices())


@dataclass
class ImportForm:
    file: UploadFile


class InstitutionManageController(Controller):
    path = "/institutions/manage"
    guards = [roles("province")]
    include_in_schema = False

    @get("")
    async def index(self, request: Request, actor: NamedDependency[Actor], city: FromQuery[str | None] = None,
                    status: FromQuery[str | None] = None, occupation: FromQuery[str | None] = None,
                    q: FromQuery[str | None] = None, page_number: FromQuery[int] = 1,
                    format: FromQuery[str | None] = None) -> Response:
        status = status if status in institutions.rules.STATUSES else None

        async def fetch(number: int, size: int) -> institutions.Page:
            return await institutions.list_institutions(actor, city=city or None, status=status,
                                                        occupation=_int(occupation), search=q, page=number,
                                                        page_size=size)

        if (download := await export_pages(format, "institutions", "机构目录", MANAGE_COLUMNS, fetch)) is not None:
            return download
        listed = await fetch(max(1, page_number), 50)
        return page(request, "institutions/manage_list.html", listed=listed, city=city or "", status=status or "",
                    occupation=_int(occupation), q=q or "", export_query=export_query(request),
                    **await _choices())

    @get("/new")
    async def new_form(self, request: Request, actor: NamedDependency[Actor]) -> Response:
        return page(request, "institutions/form.html", values={}, errors={}, error=None, **await _choices())

    @post("/new", status_code=200)
    async def create(self, request: Request, actor: NamedDependency[Actor],
                     data: URLEncodedBody[dict[str, Any]]) -> Response:
        values = {k: _text(data, k) for k in _EDITABLE}
        try:
            created = await institutions.create_institution(actor, values)
        except (Invalid, Conflict) as exc:
            return page(request, "institutions/form.html", status_code=exc.status_code, values=values,
                        errors=exc.fields, error=exc.detail, **await _choices())
        return Redirect(f"/institutions/manage/{created['id']}?saved=1", status_code=303)

    async def _detail(self, request: Request, actor: Actor, institution_id: int, status_code: int = 200,
                      **context: Any) -> Response:
        institution = await institutions.get_institution(actor, institution_id)
        values = context.pop("values", None) or {**institution, "city": institution["city_code"]}
        defaults = {"errors": {}, "error": None, "approval_errors": {}, "approval_values": {},
                    "status_errors": {}, "notice": None}
        confirmed = (await anomalies.confirmed_counts([institution_id])).get(institution_id, 0)
        return page(request, "institutions/detail.html", status_code=status_code, institution=institution,
                    values=values, confirmed_flags=confirmed, **{**defaults, **context}, **await _choices())

    @get("/{institution_id:int}")
    async def detail(self, request: Request, actor: NamedDependency[Actor], institution_id: FromPath[int],
                     saved: FromQuery[str | None] = None) -> Response:
        return await self._detail(request, actor, institution_id, notice="已保存" if saved else None)

    @post("/{institution_id:int}", status_code=200)
    async def edit(self, request: Request, actor: NamedDependency[Actor], institution_id: FromPath[int],
                   data: URLEncodedBody[dict[str, Any]]) -> Response:
        values = {k: _text(data, k) for k in _EDITABLE}
        try:
            await institutions.update_institution(actor, institution_id, values,
                                                  _int(_text(data, "lock_version")) or 0)
        except StaleVersion as exc:
            return await self._detail(request, actor, institution_id, 409, error=exc.detail)
        except (Invalid, Conflict) as exc:
            return await self._detail(request, actor, institution_id, exc.status_code, values=values,
                                      errors=exc.fields, error=exc.detail)
        return Redirect(f"/institutions/manage/{institution_id}?saved=1", status_code=303)

    @post("/{institution_id:int}/status", status_code=200)
    async def change_status(self, request: Request, actor: NamedDependency[Actor], institution_id: FromPath[int],
                            data: URLEncodedBody[dict[str, Any]]) -> Response:
        try:
            await institutions.change_status(actor, institution_id, _text(data, "status"), _text(data, "reason"),
                                             _int(_text(data, "lock_version")))
        except (Invalid, Conflict) as exc:
            return await self._detail(request, actor, institution_id, exc.status_code,
                                      status_errors=exc.fields or {"reason": exc.detail}, error=exc.detail)
        return Redirect(f"/institutions/manage/{institution_id}?saved=1", status_code=303)

    @post("/{institution_id:int}/approvals", status_code=200)
    async def grant(self, request: Request, actor: NamedDependency[Actor], institution_id: FromPath[int],
                    data: URLEncodedBody[dict[str, Any]]) -> Response:
        levels = data.get("levels") or []
        levels = levels if isinstance(levels, list) else [levels]
        values = {"occupation_id": _text(data, "occupation_id"), "levels": levels,
                  "valid_from": _text(data, "valid_from"), "valid_to": _text(data, "valid_to"),
                  "document_number": _text(data, "document_number")}
        try:
            await institutions.grant_approval(actor, institution_id, **values)
        except (Invalid, Conflict) as exc:
            return await self._detail(request, actor, institution_id, exc.status_code, approval_values=values,
                                      approval_errors=exc.fields, error=exc.detail)
        return Redirect(f"/institutions/manage/{institution_id}?saved=1#approvals", status_code=303)

    @post("/{institution_id:int}/approvals/{approval_id:int}/withdraw", status_code=200)
    async def withdraw(self, request: Request, actor: NamedDependency[Actor], institution_id: FromPath[int],
                       approval_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]) -> Response:
        try:
            await institutions.withdraw_approval(actor, institution_id, approval_id, _text(data, "reason"))
        except (Invalid, Conflict) as exc:
            return await self._detail(request, actor, institution_id, exc.status_code, error=exc.detail)
        return Redirect(f"/institutions/manage/{institution_id}?saved=1#approvals", status_code=303)

    @get("/import")
    async def import_form(self, request: Request, actor: NamedDependency[Actor]) -> Response:
        return page(request, "institutions/import.html", columns=institutions.import_columns(),
                    notes=institutions.IMPORT_NOTES)

    @post("/import", status_code=200)
    async def import_file(self, request: Request, actor: NamedDependency[Actor],
                          data: MultipartBody[ImportForm]) -> Response:
        content = await data.file.read()
        filename = data.file.filename or ""
        try:
            result = await institutions.import_institutions(actor, content, filename)
        except ImportRejected as exc:
            return page(request, "institutions/import_result.html", status_code=422, result=None,
                        faults=exc.faults, detail=exc.detail, filename=filename)
        except BadInput as exc:
            return page(request, "institutions/import_result.html", status_code=400, result=None, faults=[],
                        detail=exc.detail, filename=filename)
        return page(request, "institutions/import_result.html", result=result, faults=[], detail=None,
                    filename=filename)

    @get("/import-template.xlsx")
    async def template(self, actor: NamedDependency[Actor]) -> Response[bytes]:
        return Response(institutions.import_template(), media_type=XLSX, headers={
            "Content-Disposition": "attachment; filename*=UTF-8''institutions-template.xlsx"})


ROUTES = [PublicInstitutionsController, InstitutionManageController]
