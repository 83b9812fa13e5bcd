"""Pages: cohorts (培训班) — the institution's opening application, the city's decision, lists."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Response

from training.access import Actor
from training.errors import Invalid
from training.rules.clock import today_in_china
from training.rules.cohorts import EDITABLE_STATUSES, RUNNING_STATUSES, SUBMITTABLE_STATUSES, cancel_refusal
from training.rules.levels import COHORT_STATUSES, LEVELS
from training.services import cohorts
from training.services.reference import list_cities
from training.web.auth import roles
from training.web.controllers.cohorts_api import history_rows
from training.web.controllers.plans_pages import (
    FORM_ERRORS,
    day,
    error_context,
    integer,
    occupations,
    query_int,
    redirect,
    text,
)
from training.web.list_export import ExportColumn, export_pages, export_query
from training.web.rendering import page

COHORT_COLUMNS = [
    ExportColumn("班级编号", "code"), ExportColumn("班级名称", "name"), ExportColumn("城市", "city_name"),
    ExportColumn("培训机构", "institution_name"), ExportColumn("职业", "occupation_name"),
    ExportColumn("等级", lambda r: LEVELS.get(r["level"], r["level"])), ExportColumn("计划开班", "planned_start"),
    ExportColumn("计划结业", "planned_end"), ExportColumn("核定容量", "capacity"),
    ExportColumn("状态", lambda r: COHORT_STATUSES.get(r["status"], r["status"])),
]

ACTION_LABELS = {
    "cohort.create": "创建开班申请",
    "cohort.update": "修改开班申请",
    "cohort.submit": "提交审批",
    "cohort.approve": "批准开班",
    "cohort.reject": "不予批准",
    "cohort.cancel": "取消培训班",
    "cohort.start_training": "开班（到达开班日期）",
    "cohort.end_training": "培训结束（到达结业日期）",
    "cohort.assessed": "完成结业考核",
    "cohort.filed": "提交备案",
    "cohort.accepted": "备案完成",
}


def _fields(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    values = {
        "name": text(data, "name"), "direction": text(data, "direction"), "class_type": text(data, "class_type"),
        "partner_name": text(data, "partner_name"), "partner_credit_code": text(data, "partner_credit_code"),
        "planned_start": day(data, "planned_start", errors), "planned_end": day(data, "planned_end", errors),
        "capacity": integer(data, "capacity", errors, "招生人数（容量）必须为正整数"),
    }
    return values, errors


class CohortPagesController(Controller):
    path = "/cohorts"
    guards = [roles("province", "city", "institution")]
    include_in_schema = False

    async def _index(self, request: Request, actor: Actor, *, city: str = "", year: int | None = None,
                     occupation: int | None = None, status: str = "", plan_line: int | None = None,
                     page_number: int = 1, status_code: int = 200, **extra: Any) -> Response:

        async def fetch(number: int, size: int) -> Any:
            return await cohorts.list_cohorts(actor, city=city or None, year=year, occupation=occupation,
                                              status=status or None, plan_line=plan_line, page=number, page_size=size)

        download = await export_pages(extra.pop("fmt", None), "cohorts", "培训班", COHORT_COLUMNS, fetch)
        if download is not None:
            return download
        listed = await fetch(max(1, page_number), 50)
        today = today_in_china()
        pending = (await cohorts.list_cohorts(actor, status="submitted", page_size=1)).total if actor.is_city else 0
        return page(request, "cohorts/list.html", pending=pending, status_code=status_code, listed=listed, city=city, year=year,
                    occupation=occupation, status=status, plan_line=plan_line, statuses=COHORT_STATUSES,
                    cities=await list_cities(), occupations=await occupations(), today=today,
                    years=list(range(today.year + 1, 2019, -1)),
                    lines=await cohorts.offerable_lines(actor) if actor.is_institution else [],
                    errors=extra.pop("errors", {}), error=extra.pop("error", ""), form=extra.pop("form", {}),
                    export_query=export_query(request), **extra)

    @get("")
    async def index(self, request: Request, actor: NamedDependency[Actor], city: FromQuery[str | None] = None,
                    year: FromQuery[str | None] = None, occupation: FromQuery[str | None] = None,
                    status: FromQuery[str | None] = None, plan_line: FromQuery[str | None] = None,
                    page_number: FromQuery[int] = 1, format: FromQuery[str | None] = None) -> Response:
        status = status if status in COHORT_STATUSES else ""
        return await self._index(request, actor, city=city or "", year=query_int(year),
                                 occupation=query_int(occupation), status=status, plan_line=query_int(plan_line),
                                 page_number=page_number, fmt=format)

    @post("", guards=[roles("institution")])
    async def create(self, request: Request, actor: NamedDependency[Actor],
                     data: URLEncodedBody[dict[str, Any]]) -> Response:
        values, errors = _fields(data)
        line_id = integer(data, "plan_line_id", errors)
        try:
            if errors:
                raise Invalid("开班申请填写有误", fields=errors)
            cohort_id = await cohorts.open_cohort(actor, cohorts.CohortInput(plan_line_id=line_id, **values))
        except FORM_ERRORS as exc:
            return await self._index(request, actor, status_code=exc.status_code, form=dict(data),
                                     **error_context(exc))
        return redirect(f"/cohorts/{cohort_id}")

    async def _detail(self, request: Request, actor: Actor, cohort_id: int, status_code: int = 200,
                      **extra: Any) -> Response:
        cohort = await cohorts.get_cohort(actor, cohort_id)
        today = today_in_china()
        mine = actor.is_institution
        return page(
            request, "cohorts/detail.html", status_code=status_code, cohort=cohort,
            history=history_rows(cohort["history"]), action_labels=ACTION_LABELS, today=today,
            running=cohort["status"] in RUNNING_STATUSES,
            can_edit=mine and cohort["status"] in EDITABLE_STATUSES,
            can_submit=mine and cohort["status"] in SUBMITTABLE_STATUSES,
            can_cancel=mine and cancel_refusal(cohort["status"], cohort["planned_start"], today) is None,
            can_decide=actor.is_city and cohort["status"] == "submitted",
            errors=extra.pop("errors", {}), error=extra.pop("error", ""), form=extra.pop("form", {}),
            form_name=extra.pop("form_name", ""), **extra)

    @get("/{cohort_id:int}")
    async def show(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int]) -> Response:
        return await self._detail(request, actor, cohort_id)

    async def _form(self, request: Request, actor: Actor, cohort_id: int, form_name: str, data: dict[str, Any],
                    action: Any) -> Response:
        try:
            await action()
        except FORM_ERRORS as exc:
            return await self._detail(request, actor, cohort_id, status_code=exc.status_code, form=dict(data),
                                      form_name=form_name, **error_context(exc))
        return redirect(f"/cohorts/{cohort_id}")

    @post("/{cohort_id:int}/edit", guards=[roles("institution")])
    async def edit(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                   data: URLEncodedBody[dict[str, Any]]) -> Response:
        values, errors = _fields(data)
        version = integer(data, "lock_version", errors) or 0

        async def action() -> None:
            if errors:
                raise Invalid("开班申请填写有误", fields=errors)
            await cohorts.update_cohort(actor, cohort_id, version, values)

        return await self._form(request, actor, cohort_id, "edit", data, action)

    @post("/{cohort_id:int}/submit", guards=[roles("institution")])
    async def submit(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                     data: URLEncodedBody[dict[str, Any]]) -> Response:
        version = integer(data, "lock_version", {}) or 0
        return await self._form(request, actor, cohort_id, "submit", data,
                                lambda: cohorts.submit(actor, cohort_id, version))

    @post("/{cohort_id:int}/cancel", guards=[roles("institution")])
    async def cancel(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                     data: URLEncodedBody[dict[str, Any]]) -> Response:
        version = integer(data, "lock_version", {}) or 0
        return await self._form(request, actor, cohort_id, "cancel", data,
                                lambda: cohorts.cancel(actor, cohort_id, version, text(data, "reason")))

    @post("/{cohort_id:int}/approve", guards=[roles("city")])
    async def approve(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                      data: URLEncodedBody[dict[str, Any]]) -> Response:
        version = integer(data, "lock_version", {}) or 0
        return await self._form(request, actor, cohort_id, "decide", data,
                                lambda: cohorts.approve(actor, cohort_id, version))

    @post("/{cohort_id:int}/reject", guards=[roles("city")])
    async def reject(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                     data: URLEncodedBody[dict[str, Any]]) -> Response:
        version = integer(data, "lock_version", {}) or 0
        return await self._form(request, actor, cohort_id, "decide", data,
                                lambda: cohorts.reject(actor, cohort_id, version, text(data, "reason")))


ROUTES = [CohortPagesController]
