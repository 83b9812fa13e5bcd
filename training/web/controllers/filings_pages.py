"""Pages: the cohort's 备案 tab (narrative with a live preview, save, draft downloads, submit, versions)
and the departments' filing list and filing detail (acknowledge / return with a comment)."""

from __future__ import annotations

import dataclasses
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Response

from training.access import Actor, may
from training.errors import Conflict, Invalid
from training.rules import filing as rules
from training.rules.clock import to_local
from training.services import filings
from training.services.reference import list_cities
from training.web.auth import roles
from training.web.controllers.certificates_api import attachment
from training.web.list_export import ExportColumn, export_or_none, export_query
from training.web.rendering import page

FORM_ERRORS = (Invalid, Conflict)
NOTICES = {"saved": "备案说明已保存", "submitted": "备案材料已报送省人社厅和市人社局",
           "acknowledged": "已确认备案", "returned": "已退回，并通知培训机构"}


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key, "")
    if isinstance(value, list):
        value = value[-1] if value else ""
    return str(value or "")


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip()) if value not in (None, "") else None
    except ValueError:
        return None


class FilingCohortPagesController(Controller):
    path = "/cohorts/{cohort_id:int}/filing"
    guards = [roles("institution", "city", "province")]
    include_in_schema = False

    async def _tab(self, request: Request, actor: Actor, cohort_id: int, status_code: int = 200,
                   **context: Any) -> Response:
        view = await filings.cohort_filing(actor, cohort_id)
        typed = context.pop("narrative", None)
        package = view.package if typed is None else await filings.preview_package(actor, cohort_id, typed)
        defaults = {"error": None, "errors": {}, "notice": None}
        return page(request, "filings/cohort.html", status_code=status_code, view=view, cohort=view.cohort,
                    package=package, sections=rules.NARRATIVE_SECTIONS, max_chars=rules.NARRATIVE_MAX_CHARS,
                    can_write=may(actor, "filing.write"), states=filings.STATES, tab="filing",
                    receipt_statuses=rules.RECEIPT_STATUSES, **{**defaults, **context})

    @get("")
    async def show(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                   notice: FromQuery[str | None] = None) -> Response:
        return await self._tab(request, actor, cohort_id, notice=NOTICES.get(notice or ""))

    @post("", guards=[roles("institution")], status_code=200)
    async def save(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                   data: URLEncodedBody[dict[str, Any]]) -> Response:
        narrative = {key: _text(data, key) for key in rules.NARRATIVE_SECTIONS}
        try:
            await filings.save_narrative(actor, cohort_id, narrative, _int(_text(data, "lock_version")))
        except FORM_ERRORS as exc:
            return await self._tab(request, actor, cohort_id, exc.status_code, error=exc.detail, errors=exc.fields,
                                   narrative=narrative)
        return Redirect(f"/cohorts/{cohort_id}/filing?notice=saved", status_code=303)

    @post("/preview", guards=[roles("institution")], status_code=200)
    async def preview(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                      data: URLEncodedBody[dict[str, Any]]) -> Response:
        """The summary as HTML from the same package the documents use, with the narrative as typed."""
        narrative = {key: _text(data, key) for key in rules.NARRATIVE_SECTIONS}
        package = await filings.preview_package(actor, cohort_id, narrative)
        return page(request, "filings/_preview.html", package=package, sections=rules.NARRATIVE_SECTIONS)

    @post("/submit", guards=[roles("institution")], status_code=200)
    async def submit(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                     data: URLEncodedBody[dict[str, Any]]) -> Response:
        try:
            await filings.submit(actor, cohort_id, _int(_text(data, "lock_version")))
        except FORM_ERRORS as exc:
            return await self._tab(request, actor, cohort_id, exc.status_code, error=exc.detail, errors=exc.fields)
        return Redirect(f"/cohorts/{cohort_id}/filing?notice=submitted", status_code=303)


EXPORT_COLUMNS = [
    ExportColumn("市", "city_name"), ExportColumn("培训机构", "institution_name"), ExportColumn("班级编号", "cohort_code"),
    ExportColumn("班级名称", "cohort_name"), ExportColumn("版本", "version_number"),
    ExportColumn("状态", lambda r: filings.STATES.get(r["state"], r["state"])),
    ExportColumn("备案期限", "due_date"),
    ExportColumn("剩余天数（负数为逾期）", "days_left"),
    ExportColumn("提交时间", lambda r: to_local(r["submitted_at"]).strftime("%Y-%m-%d %H:%M") if r["submitted_at"] else ""),
    ExportColumn("逾期提交", lambda r: "是" if r["submitted_late"] else ""),
]


class FilingPagesController(Controller):
    path = "/filings"
    include_in_schema = False

    @get("", guards=[roles("province", "city")])
    async def index(self, request: Request, actor: NamedDependency[Actor], status: FromQuery[str | None] = None,
                    city: FromQuery[str | None] = None, institution: FromQuery[str | None] = None,
                    year: FromQuery[str | None] = None, format: FromQuery[str | None] = None) -> Response:
        status = status if status in filings.FILTERS else ("awaiting" if status is None else "all")
        listing = await filings.department_filings(
            actor, status_filter=status, city_code=(city or None) if actor.is_province else None,
            institution_id=_int(institution), year=_int(year))
        rows = [dataclasses.asdict(row) for row in listing.rows]
        if (download := await export_or_none(format, "filings", "培训备案", EXPORT_COLUMNS, rows)) is not None:
            return download
        return page(request, "filings/list.html", listing=listing, export_query=export_query(request), status=status, city=city or "",
                    institution=_int(institution), year=_int(year), filters=filings.FILTERS, states=filings.STATES,
                    cities=await list_cities() if actor.is_province else [],
                    years=list(range(listing.today.year, 2019, -1)))

    async def _detail(self, request: Request, actor: Actor, filing_id: int, status_code: int = 200,
                      **context: Any) -> Response:
        detail = await filings.filing_detail(actor, filing_id)
        defaults = {"error": None, "errors": {}, "notice": None, "comment": ""}
        return page(request, "filings/detail.html", status_code=status_code, filing=detail, cohort=detail["cohort"],
                    sections=rules.NARRATIVE_SECTIONS, states=filings.STATES,
                    can_decide=may(actor, "filing.decide") and detail["can_decide"], **{**defaults, **context})

    @get("/{filing_id:int}", guards=[roles("institution", "city", "province")])
    async def show(self, request: Request, actor: NamedDependency[Actor], filing_id: FromPath[int],
                   notice: FromQuery[str | None] = None) -> Response:
        return await self._detail(request, actor, filing_id, notice=NOTICES.get(notice or ""))

    async def _decide(self, request: Request, actor: Actor, filing_id: int, action: str, comment: str) -> Response:
        try:
            await filings.decide(actor, filing_id, action, comment)
        except FORM_ERRORS as exc:
            return await self._detail(request, actor, filing_id, exc.status_code, error=exc.detail,
                                      errors=exc.fields, comment=comment)
        notice = "acknowledged" if action == "acknowledge" else "returned"
        return Redirect(f"/filings/{filing_id}?notice={notice}", status_code=303)

    @post("/{filing_id:int}/acknowledge", guards=[roles("province", "city")], status_code=200)
    async def acknowledge(self, request: Request, actor: NamedDependency[Actor], filing_id: FromPath[int]
                          ) -> Response:
        return await self._decide(request, actor, filing_id, "acknowledge", "")

    @post("/{filing_id:int}/return", guards=[roles("province", "city")], status_code=200)
    async def return_(self, request: Request, actor: NamedDependency[Actor], filing_id: FromPath[int],
                      data: URLEncodedBody[dict[str, Any]]) -> Response:
        return await self._decide(request, actor, filing_id, "return", _text(data, "comment"))

    @get("/{filing_id:int}/report.docx", guards=[roles("institution", "city", "province")])
    async def report(self, actor: NamedDependency[Actor], filing_id: FromPath[int]) -> Response[bytes]:
        content, name, media = await filings.document(actor, filing_id, "report")
        return attachment(content, media, name)

    @get("/{filing_id:int}/trainees.xlsx", guards=[roles("institution", "city", "province")])
    async def trainees(self, actor: NamedDependency[Actor], filing_id: FromPath[int]) -> Response[bytes]:
        content, name, media = await filings.document(actor, filing_id, "trainees")
        return attachment(content, media, name)


ROUTES = [FilingCohortPagesController, FilingPagesController]
