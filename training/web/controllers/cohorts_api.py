"""/api/v1/cohorts: opening applications (开班申请), the city's decision, cancel, list and show."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from training.access import Actor
from training.services import cohorts
from training.web.auth import roles
from training.web.pagination import PAGED_HEADERS, Page, page_headers


class CohortOut(msgspec.Struct):
    id: int
    code: str
    name: str
    status: str
    status_reason: str
    institution_id: int
    institution_name: str
    city_code: str
    city_name: str
    plan_line_id: int | None
    plan_id: int | None
    plan_year: int | None
    occupation_id: int
    occupation_name: str
    level: str
    direction: str
    class_type: str
    partner_name: str
    partner_credit_code: str
    planned_start: date
    planned_end: date
    capacity: int
    submitted_at: datetime | None
    decided_at: datetime | None
    lock_version: int


class StandardOut(msgspec.Struct):
    id: int
    version_label: str
    required_hours: float
    min_practice_hours: float
    max_online_share: float
    illustrative: bool


class HistoryOut(msgspec.Struct):
    occurred_at: datetime
    username: str
    org_role: str
    action: str
    status: str = ""
    reason: str = ""


class CohortDetailOut(CohortOut):
    standard: StandardOut | None = None
    history: list[HistoryOut] = []


class CohortPage(msgspec.Struct):
    items: list[CohortOut]
    total: int
    page: int
    page_size: int


class CohortCreate(msgspec.Struct):
    plan_line_id: int
    planned_start: date
    planned_end: date
    capacity: int
    class_type: str = ""
    name: str = ""
    direction: str = ""
    partner_name: str = ""
    partner_credit_code: str = ""


class CohortPatch(msgspec.Struct):
    lock_version: int
    name: str | msgspec.UnsetType = msgspec.UNSET
    direction: str | msgspec.UnsetType = msgspec.UNSET
    class_type: str | msgspec.UnsetType = msgspec.UNSET
    partner_name: str | msgspec.UnsetType = msgspec.UNSET
    partner_credit_code: str | msgspec.UnsetType = msgspec.UNSET
    planned_start: date | msgspec.UnsetType = msgspec.UNSET
    planned_end: date | msgspec.UnsetType = msgspec.UNSET
    capacity: int | msgspec.UnsetType = msgspec.UNSET


class Decision(msgspec.Struct):
    """The cohort version read; ``reason`` is required when rejecting."""

    lock_version: int
    reason: str = ""


def history_rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for event in events:
        after = event.get("after") or {}
        rows.append({**event, "status": after.get("status", "") if isinstance(after, dict) else "",
                     "reason": after.get("status_reason", "") if isinstance(after, dict) else ""})
    return rows


async def cohort_detail(actor: Actor, cohort_id: int) -> CohortDetailOut:
    cohort = await cohorts.get_cohort(actor, cohort_id)
    cohort["history"] = history_rows(cohort["history"])
    return msgspec.convert(cohort, CohortDetailOut)


class CohortsApiController(Controller):
    path = "/api/v1/cohorts"
    tags = ["cohorts"]

    @get("/", summary="Cohorts in your scope (filter by city, year, occupation, status, institution)",
         response_headers=PAGED_HEADERS)
    async def list_cohorts(self, request: Request, actor: NamedDependency[Actor], city: FromQuery[str | None] = None,
                           year: FromQuery[int | None] = None, occupation: FromQuery[int | None] = None,
                           status: FromQuery[str | None] = None, institution: FromQuery[int | None] = None,
                           plan_line: FromQuery[int | None] = None, page: FromQuery[int] = 1,
                           page_size: FromQuery[int] = 50) -> Response[CohortPage]:
        result = await cohorts.list_cohorts(actor, city=city, year=year, occupation=occupation, status=status,
                                            institution=institution, plan_line=plan_line, page=page,
                                            page_size=page_size)
        body = CohortPage(items=msgspec.convert(result.items, list[CohortOut]), total=result.total,
                          page=result.page, page_size=result.page_size)
        return Response(body, headers=page_headers(result.total, Page(result.page, result.page_size), request))

    @post("/", guards=[roles("institution")],
          summary="Open a cohort against a line of your city's submitted or accepted plan (saved as draft)")
    async def create(self, actor: NamedDependency[Actor], data: JSONBody[CohortCreate]) -> CohortDetailOut:
        cohort_id = await cohorts.open_cohort(actor, cohorts.CohortInput(**msgspec.structs.asdict(data)))
        return await cohort_detail(actor, cohort_id)

    @get("/{cohort_id:int}", summary="One cohort with its standard and status history")
    async def show(self, actor: NamedDependency[Actor], cohort_id: FromPath[int]) -> CohortDetailOut:
        return await cohort_detail(actor, cohort_id)

    @patch("/{cohort_id:int}", guards=[roles("institution")], summary="Edit a draft or rejected cohort")
    async def update(self, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                     data: JSONBody[CohortPatch]) -> CohortDetailOut:
        changes = {k: v for k, v in msgspec.structs.asdict(data).items()
                   if v is not msgspec.UNSET and k != "lock_version"}
        await cohorts.update_cohort(actor, cohort_id, data.lock_version, changes)
        return await cohort_detail(actor, cohort_id)

    @post("/{cohort_id:int}/submit", guards=[roles("institution")], status_code=200,
          summary="Submit for the city's approval (the opening rules are checked again)")
    async def submit(self, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                     data: JSONBody[Decision]) -> CohortDetailOut:
        await cohorts.submit(actor, cohort_id, data.lock_version)
        return await cohort_detail(actor, cohort_id)

    @post("/{cohort_id:int}/approve", guards=[roles("city")], status_code=200,
          summary="The cohort's city approves the opening")
    async def approve(self, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                      data: JSONBody[Decision]) -> CohortDetailOut:
        await cohorts.approve(actor, cohort_id, data.lock_version)
        return await cohort_detail(actor, cohort_id)

    @post("/{cohort_id:int}/reject", guards=[roles("city")], status_code=200,
          summary="The cohort's city rejects the opening with a reason (required)")
    async def reject(self, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                     data: JSONBody[Decision]) -> CohortDetailOut:
        await cohorts.reject(actor, cohort_id, data.lock_version, data.reason)
        return await cohort_detail(actor, cohort_id)

    @post("/{cohort_id:int}/cancel", guards=[roles("institution")], status_code=200,
          summary="Cancel a cohort before its training starts")
    async def cancel(self, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                     data: JSONBody[Decision]) -> CohortDetailOut:
        await cohorts.cancel(actor, cohort_id, data.lock_version, data.reason)
        return await cohort_detail(actor, cohort_id)


ROUTES = [CohortsApiController]
