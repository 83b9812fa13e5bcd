"""Pages: annual plans (年度计划) for cities and the province, with plan versus actual."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Response

from training.access import Actor
from training.documents import pdf
from training.documents.plan_document import filename
from training.errors import Conflict, DomainError, Invalid
from training.rules.clock import today_in_china
from training.rules.levels import PLAN_STATUSES
from training.services import plans
from training.services.reference import list_cities
from training.tables import Approval, Institution, Occupation
from training.web.auth import roles
from training.web.controllers.plans_api import DOCX, attachment, plan_docx, plan_pdf
from training.web.list_export import ExportColumn, export_pages, export_query
from training.web.rendering import page

FORM_ERRORS = (Invalid, Conflict)
PLAN_COLUMNS = [
    ExportColumn("年度", "year"), ExportColumn("城市", "city_name"), ExportColumn("计划名称", "title"),
    ExportColumn("状态", lambda r: PLAN_STATUSES.get(r["status"], r["status"])),
    ExportColumn("计划条目数", "line_count"), ExportColumn("计划人数", "total_headcount"),
    ExportColumn("报送截止", "due_date"), ExportColumn("报送时间", "submitted_at"),
    ExportColumn("逾期报送", "submitted_late"), ExportColumn("省级意见", "province_comment"),
]


def text(data: dict[str, Any], key: str) -> str:
    value = data.get(key, "")
    if isinstance(value, list):
        value = value[-1] if value else ""
    return str(value or "").strip()


def values(data: dict[str, Any], key: str) -> list[str]:
    value = data.get(key, [])
    items = value if isinstance(value, list) else [value]
    return [str(v).strip() for v in items if str(v or "").strip()]


def integer(data: dict[str, Any], key: str, errors: dict[str, str], label: str = "应为整数") -> int | None:
    raw = text(data, key)
    if raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        errors[key] = label
        return None


def day(data: dict[str, Any], key: str, errors: dict[str, str]) -> date | None:
    raw = text(data, key)
    if raw == "":
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[key] = "日期格式应为 YYYY-MM-DD"
        return None


def query_int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def error_context(exc: DomainError) -> dict[str, Any]:
    return {"errors": exc.fields, "error": exc.detail}


def redirect(url: str) -> Redirect:
    return Redirect(url, status_code=303)


async def occupations() -> list[dict[str, Any]]:
    return await Occupation.select(Occupation.id, Occupation.name, Occupation.field).order_by(Occupation.sort_order)


async def institution_choices(actor: Actor) -> list[dict[str, Any]]:
    """Active institutions holding any approval, the city's own first: the intended-institution list."""
    approved = Approval.select(Approval.institution).where(Approval.withdrawn == False)  # noqa: E712
    rows = await Institution.select(Institution.id, Institution.name, Institution.city.code.as_alias("city_code"),
                                    Institution.city.name.as_alias("city_name")).where(
        (Institution.status == "active") & Institution.id.is_in(approved)).order_by(Institution.name)
    return sorted(rows, key=lambda r: (r["city_code"] != actor.city_code, r["city_code"], r["name"]))


def _line_input(data: dict[str, Any]) -> tuple[plans.LineInput, dict[str, str]]:
    errors: dict[str, str] = {}
    institution_ids = []
    for raw in values(data, "institution_ids"):
        if raw.isdigit():
            institution_ids.append(int(raw))
    line = plans.LineInput(
        occupation_id=integer(data, "occupation_id", errors), level=text(data, "level"),
        target_group=text(data, "target_group"), class_type=text(data, "class_type"),
        target_headcount=integer(data, "target_headcount", errors, "计划人数须为正整数"),
        institution_ids=tuple(institution_ids), note=text(data, "note"),
    )
    return line, errors


class PlanPagesController(Controller):
    path = "/plans"
    guards = [roles("province", "city")]
    include_in_schema = False

    async def _index(self, request: Request, actor: Actor, *, year: int | None = None, status: str = "",
                     city: str = "", occupation: int | None = None, page_number: int = 1, status_code: int = 200,
                     **extra: Any) -> Response:
        today = today_in_china()

        async def fetch(number: int, size: int) -> plans.Page:
            return await plans.list_plans(actor, city=city or None, year=year, status=status or None,
                                          occupation=occupation, page=number, page_size=size)

        download = await export_pages(extra.pop("fmt", None), "plans", "年度计划", PLAN_COLUMNS, fetch)
        if download is not None:
            return download
        listed = await fetch(max(1, page_number), 50)
        progress_year = year or today.year
        cities = await plans.province_progress(actor, progress_year) if actor.is_province else []
        own_years = {p["year"] for p in listed.items} if actor.is_city else set()
        suggested = next((y for y in (today.year, today.year + 1) if y not in own_years), today.year + 1)
        return page(request, "plans/list.html", status_code=status_code, listed=listed, year=year, status=status,
                    city=city, occupation=occupation, today=today, statuses=PLAN_STATUSES,
                    cities=await list_cities(), occupations=await occupations(), progress_year=progress_year,
                    city_progress=cities, grand_total=plans.grand_total(cities) if cities else None,
                    years=list(range(today.year + 1, 2019, -1)), suggested_year=suggested,
                    errors=extra.pop("errors", {}), error=extra.pop("error", ""), form=extra.pop("form", {}),
                    export_query=export_query(request), **extra)

    @get("")
    async def index(self, request: Request, actor: NamedDependency[Actor], year: FromQuery[str | None] = None,
                    status: FromQuery[str | None] = None, city: FromQuery[str | None] = None,
                    occupation: FromQuery[str | None] = None, page_number: FromQuery[int] = 1,
                    format: FromQuery[str | None] = None) -> Response:
        status = status if status in PLAN_STATUSES else ""
        return await self._index(request, actor, year=query_int(year), status=status, city=city or "",
                                 occupation=query_int(occupation), page_number=page_number, fmt=format)

    @post("", guards=[roles("city")])
    async def create(self, request: Request, actor: NamedDependency[Actor],
                     data: URLEncodedBody[dict[str, Any]]) -> Response:
        errors: dict[str, str] = {}
        year = integer(data, "year", errors, "请选择计划年度")
        try:
            if errors or year is None:
                raise Invalid("请选择计划年度", fields=errors or {"year": "请选择计划年度"})
            plan_id = await plans.create_plan(actor, year, text(data, "title"))
        except FORM_ERRORS as exc:
            return await self._index(request, actor, status_code=exc.status_code, form=dict(data),
                                     **error_context(exc))
        return redirect(f"/plans/{plan_id}")

    async def _detail(self, request: Request, actor: Actor, plan_id: int, status_code: int = 200,
                      **extra: Any) -> Response:
        report = await plans.progress(actor, plan_id)
        plan = report["plan"]
        return page(
            request, "plans/detail.html", status_code=status_code, plan=plan, lines=report["lines"],
            totals=report["totals"], occupations=await occupations(),
            institutions=await institution_choices(actor) if actor.is_city and plan["editable"] else [],
            pdf_reason=pdf.unavailable_reason(), today=today_in_china(),
            can_edit=actor.is_city and plan["editable"],
            can_submit=actor.is_city and plan["status"] in ("draft", "returned") and bool(plan["lines"]),
            can_decide=actor.is_province and plan["status"] == "submitted",
            errors=extra.pop("errors", {}), error=extra.pop("error", ""), form=extra.pop("form", {}),
            form_name=extra.pop("form_name", ""), **extra)

    @get("/{plan_id:int}")
    async def show(self, request: Request, actor: NamedDependency[Actor], plan_id: FromPath[int]) -> Response:
        return await self._detail(request, actor, plan_id)

    async def _form(self, request: Request, actor: Actor, plan_id: int, form_name: str, data: dict[str, Any],
                    action: Any) -> Response:
        """Run ``action``; on a rule or validation error show the page again with the field messages."""
        try:
            await action()
        except FORM_ERRORS as exc:
            return await self._detail(request, actor, plan_id, status_code=exc.status_code, form=dict(data),
                                      form_name=form_name, **error_context(exc))
        return redirect(f"/plans/{plan_id}")

    @post("/{plan_id:int}/title", guards=[roles("city")])
    async def update_title(self, request: Request, actor: NamedDependency[Actor], plan_id: FromPath[int],
                           data: URLEncodedBody[dict[str, Any]]) -> Response:
        errors: dict[str, str] = {}
        version = integer(data, "lock_version", errors) or 0
        return await self._form(request, actor, plan_id, "title", data,
                                lambda: plans.update_plan(actor, plan_id, version, text(data, "title")))

    @post("/{plan_id:int}/lines", guards=[roles("city")])
    async def add_line(self, request: Request, actor: NamedDependency[Actor], plan_id: FromPath[int],
                       data: URLEncodedBody[dict[str, Any]]) -> Response:
        line, errors = _line_input(data)
        version = integer(data, "lock_version", errors)

        async def action() -> None:
            if errors:
                raise Invalid("计划明细填写有误", fields=errors)
            await plans.add_line(actor, plan_id, line, version)

        return await self._form(request, actor, plan_id, "add_line", data, action)

    @post("/{plan_id:int}/lines/{line_id:int}", guards=[roles("city")])
    async def update_line(self, request: Request, actor: NamedDependency[Actor], plan_id: FromPath[int],
                          line_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]) -> Response:
        line, errors = _line_input(data)
        version = integer(data, "lock_version", errors) or 0

        async def action() -> None:
            if errors:
                raise Invalid("计划明细填写有误", fields=errors)
            await plans.update_line(actor, plan_id, line_id, line, version)

        return await self._form(request, actor, plan_id, f"line_{line_id}", data, action)

    @post("/{plan_id:int}/lines/{line_id:int}/delete", guards=[roles("city")])
    async def remove_line(self, request: Request, actor: NamedDependency[Actor], plan_id: FromPath[int],
                          line_id: FromPath[int], data: URLEncodedBody[dict[str, Any]]) -> Response:
        version = integer(data, "lock_version", {}) or 0
        return await self._form(request, actor, plan_id, f"line_{line_id}", data,
                                lambda: plans.remove_line(actor, plan_id, line_id, version))

    @post("/{plan_id:int}/submit", guards=[roles("city")])
    async def submit(self, request: Request, actor: NamedDependency[Actor], plan_id: FromPath[int],
                     data: URLEncodedBody[dict[str, Any]]) -> Response:
        version = integer(data, "lock_version", {}) or 0
        return await self._form(request, actor, plan_id, "submit", data,
                                lambda: plans.submit(actor, plan_id, version))

    @post("/{plan_id:int}/decide", guards=[roles("province")])
    async def decide(self, request: Request, actor: NamedDependency[Actor], plan_id: FromPath[int],
                     data: URLEncodedBody[dict[str, Any]]) -> Response:
        version = integer(data, "lock_version", {}) or 0
        comment = text(data, "comment")
        if text(data, "decision") == "accept":
            return await self._form(request, actor, plan_id, "decide", data,
                                    lambda: plans.accept(actor, plan_id, version, comment))
        return await self._form(request, actor, plan_id, "decide", data,
                                lambda: plans.return_plan(actor, plan_id, version, comment))

    @get("/{plan_id:int}/document.docx")
    async def docx(self, actor: NamedDependency[Actor], plan_id: FromPath[int]) -> Response[bytes]:
        content, facts = await plan_docx(actor, plan_id)
        return attachment(content, DOCX, filename(facts, "docx"))

    @get("/{plan_id:int}/document.pdf")
    async def pdf(self, actor: NamedDependency[Actor], plan_id: FromPath[int]) -> Response[bytes]:
        content, facts = await plan_pdf(actor, plan_id)
        return attachment(content, "application/pdf", filename(facts, "pdf"))


ROUTES = [PlanPagesController]
