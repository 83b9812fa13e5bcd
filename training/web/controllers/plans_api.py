"""/api/v1/plans: annual plans, their lines, the submit/decide flow, plan versus actual, Word and PDF."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from training.access import Actor
from training.documents import pdf
from training.documents.plan_document import build_plan_docx, filename
from training.errors import Unavailable
from training.services import plans
from training.web.auth import roles
from training.web.pagination import PAGED_HEADERS, Page, page_headers, page_params, paged_response

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class InstitutionRef(msgspec.Struct):
    id: int
    name: str


class ProgressOut(msgspec.Struct):
    target: int
    cohorts: int
    capacity: int
    enrolled: int
    completed: int
    certified: int


class LineOut(msgspec.Struct):
    id: int
    occupation_id: int
    occupation_name: str
    field: str
    level: str
    target_group: str
    class_type: str
    target_headcount: int
    note: str
    institutions: list[InstitutionRef]
    progress: ProgressOut | None = None


class PlanOut(msgspec.Struct):
    id: int
    city_code: str
    city_name: str
    year: int
    title: str
    status: str
    submitted_at: datetime | None
    submitted_late: bool
    decided_at: datetime | None
    province_comment: str
    lock_version: int
    line_count: int
    total_headcount: int
    due_date: date


class PlanDetailOut(PlanOut):
    lines: list[LineOut] = []
    totals: ProgressOut | None = None


class PlanPage(msgspec.Struct):
    items: list[PlanOut]
    total: int
    page: int
    page_size: int


class PlanCreate(msgspec.Struct):
    year: int
    title: str = ""


class PlanPatch(msgspec.Struct):
    lock_version: int
    title: str


class LineCreate(msgspec.Struct):
    occupation_id: int
    level: str
    target_group: str
    class_type: str
    target_headcount: int
    institution_ids: list[int] = []
    note: str = ""
    lock_version: int | None = None


class LinePatch(msgspec.Struct):
    lock_version: int
    occupation_id: int | msgspec.UnsetType = msgspec.UNSET
    level: str | msgspec.UnsetType = msgspec.UNSET
    target_group: str | msgspec.UnsetType = msgspec.UNSET
    class_type: str | msgspec.UnsetType = msgspec.UNSET
    target_headcount: int | msgspec.UnsetType = msgspec.UNSET
    institution_ids: list[int] | msgspec.UnsetType = msgspec.UNSET
    note: str | msgspec.UnsetType = msgspec.UNSET


class Transition(msgspec.Struct):
    """The plan version read; ``comment`` is the province's (required when returning)."""

    lock_version: int
    comment: str = ""


class StateOut(msgspec.Struct):
    id: int
    status: str
    lock_version: int
    submitted_late: bool
    province_comment: str


class Created(msgspec.Struct):
    id: int


def progress_out(p: plans.LineProgress) -> ProgressOut:
    return ProgressOut(target=p.target, cohorts=p.cohorts, capacity=p.capacity, enrolled=p.enrolled,
                       completed=p.completed, certified=p.certified)


async def plan_detail(actor: Actor, plan_id: int) -> PlanDetailOut:
    if actor.is_institution:
        plan = await plans.get_plan(actor, plan_id)
        return msgspec.convert(plan, PlanDetailOut)
    report = await plans.progress(actor, plan_id)
    lines = [{**line, "progress": progress_out(line["progress"])} for line in report["lines"]]
    return msgspec.convert({**report["plan"], "lines": lines, "totals": progress_out(report["totals"])},
                           PlanDetailOut, from_attributes=True)


def _line_input(data: LineCreate) -> plans.LineInput:
    return plans.LineInput(occupation_id=data.occupation_id, level=data.level, target_group=data.target_group,
                           class_type=data.class_type, target_headcount=data.target_headcount,
                           institution_ids=tuple(data.institution_ids), note=data.note)


def _state(row: dict[str, Any]) -> StateOut:
    return msgspec.convert(row, StateOut)


def attachment(content: bytes, media_type: str, name: str) -> Response[bytes]:
    return Response(content=content, media_type=media_type,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


async def plan_docx(actor: Actor, plan_id: int) -> tuple[bytes, dict[str, Any]]:
    facts = await plans.document_facts(actor, plan_id)
    return await asyncio.to_thread(build_plan_docx, facts), facts


async def plan_pdf(actor: Actor, plan_id: int) -> tuple[bytes, dict[str, Any]]:
    reason = pdf.unavailable_reason()
    if reason:
        await plans.document_facts(actor, plan_id)  # scope first: 404 before 503
        raise Unavailable(reason)
    docx, facts = await plan_docx(actor, plan_id)
    return await pdf.docx_to_pdf(docx), facts


class PlansApiController(Controller):
    path = "/api/v1/plans"
    tags = ["plans"]

    @get("/", summary="Annual plans in your scope (filter by city, year, occupation, status)",
         response_headers=PAGED_HEADERS)
    async def list_plans(self, request: Request, actor: NamedDependency[Actor], city: FromQuery[str | None] = None,
                         year: FromQuery[int | None] = None, occupation: FromQuery[int | None] = None,
                         status: FromQuery[str | None] = None, page: FromQuery[int] = 1,
                         page_size: FromQuery[int] = 50) -> Response[PlanPage]:
        result = await plans.list_plans(actor, city=city, year=year, occupation=occupation, status=status,
                                        page=page, page_size=page_size)
        body = PlanPage(items=msgspec.convert(result.items, list[PlanOut]), total=result.total, page=result.page,
                        page_size=result.page_size)
        return Response(body, headers=page_headers(result.total, Page(result.page, result.page_size), request))

    @post("/", guards=[roles("city")], summary="Create your city's plan for a year (one per city per year)")
    async def create(self, actor: NamedDependency[Actor], data: JSONBody[PlanCreate]) -> PlanDetailOut:
        plan_id = await plans.create_plan(actor, data.year, data.title)
        return await plan_detail(actor, plan_id)

    @get("/{plan_id:int}", summary="One plan with its lines and plan versus actual per line")
    async def show(self, actor: NamedDependency[Actor], plan_id: FromPath[int]) -> PlanDetailOut:
        return await plan_detail(actor, plan_id)

    @patch("/{plan_id:int}", guards=[roles("city")], summary="Edit the plan's title (draft or returned)")
    async def update(self, actor: NamedDependency[Actor], plan_id: FromPath[int],
                     data: JSONBody[PlanPatch]) -> PlanDetailOut:
        await plans.update_plan(actor, plan_id, data.lock_version, data.title)
        return await plan_detail(actor, plan_id)

    @get("/{plan_id:int}/lines", summary="The plan's lines (paginated)", response_headers=PAGED_HEADERS)
    async def lines(self, request: Request, actor: NamedDependency[Actor], plan_id: FromPath[int],
                    page: FromQuery[int] = 1, page_size: FromQuery[int] = 50) -> Response[list[LineOut]]:
        paging = page_params(page, page_size)
        rows = (await plan_detail(actor, plan_id)).lines
        return paged_response(paging.slice(rows), len(rows), paging, request)

    @post("/{plan_id:int}/lines", guards=[roles("city")], summary="Add a line (draft or returned plan)")
    async def add_line(self, actor: NamedDependency[Actor], plan_id: FromPath[int],
                       data: JSONBody[LineCreate]) -> LineOut:
        line_id = await plans.add_line(actor, plan_id, _line_input(data), data.lock_version)
        return msgspec.convert(await plans.get_line(actor, plan_id, line_id), LineOut)

    @get("/{plan_id:int}/lines/{line_id:int}", summary="One line of the plan")
    async def show_line(self, actor: NamedDependency[Actor], plan_id: FromPath[int],
                        line_id: FromPath[int]) -> LineOut:
        return msgspec.convert(await plans.get_line(actor, plan_id, line_id), LineOut)

    @patch("/{plan_id:int}/lines/{line_id:int}", guards=[roles("city")], summary="Edit a line")
    async def update_line(self, actor: NamedDependency[Actor], plan_id: FromPath[int], line_id: FromPath[int],
                          data: JSONBody[LinePatch]) -> LineOut:
        existing = await plans.get_line(actor, plan_id, line_id)
        changes = {k: v for k, v in msgspec.structs.asdict(data).items()
                   if v is not msgspec.UNSET and k != "lock_version"}
        await plans.update_line(actor, plan_id, line_id, plans.line_input_from(existing, changes), data.lock_version)
        return msgspec.convert(await plans.get_line(actor, plan_id, line_id), LineOut)

    @delete("/{plan_id:int}/lines/{line_id:int}", guards=[roles("city")], status_code=204,
            summary="Remove a line (lock_version as a query parameter)")
    async def remove_line(self, actor: NamedDependency[Actor], plan_id: FromPath[int], line_id: FromPath[int],
                          lock_version: FromQuery[int]) -> None:
        await plans.remove_line(actor, plan_id, line_id, lock_version)

    @post("/{plan_id:int}/submit", guards=[roles("city")], status_code=200,
          summary="Submit the plan to the province (after 30 April: accepted but marked late)")
    async def submit(self, actor: NamedDependency[Actor], plan_id: FromPath[int],
                     data: JSONBody[Transition]) -> StateOut:
        return _state(await plans.submit(actor, plan_id, data.lock_version))

    @post("/{plan_id:int}/accept", guards=[roles("province")], status_code=200, summary="Accept a submitted plan")
    async def accept(self, actor: NamedDependency[Actor], plan_id: FromPath[int],
                     data: JSONBody[Transition]) -> StateOut:
        return _state(await plans.accept(actor, plan_id, data.lock_version, data.comment))

    @post("/{plan_id:int}/return", guards=[roles("province")], status_code=200,
          summary="Return a submitted plan with the province's comment (required)")
    async def return_plan(self, actor: NamedDependency[Actor], plan_id: FromPath[int],
                          data: JSONBody[Transition]) -> StateOut:
        return _state(await plans.return_plan(actor, plan_id, data.lock_version, data.comment))

    @get("/{plan_id:int}/progress", guards=[roles("city", "province")],
         summary="Plan versus actual per line: target, approved cohorts, capacity, enrolled, completed, certified")
    async def progress(self, actor: NamedDependency[Actor], plan_id: FromPath[int]) -> PlanDetailOut:
        return await plan_detail(actor, plan_id)

    @get("/{plan_id:int}/document.docx", guards=[roles("city", "province")], summary="The plan as Word",
         media_type=DOCX)
    async def docx(self, actor: NamedDependency[Actor], plan_id: FromPath[int]) -> Response[bytes]:
        content, facts = await plan_docx(actor, plan_id)
        return attachment(content, DOCX, filename(facts, "docx"))

    @get("/{plan_id:int}/document.pdf", guards=[roles("city", "province")], media_type="application/pdf",
         summary="The plan as PDF (503 when LibreOffice is not installed)")
    async def pdf(self, actor: NamedDependency[Actor], plan_id: FromPath[int]) -> Response[bytes]:
        content, facts = await plan_pdf(actor, plan_id)
        return attachment(content, "application/pdf", filename(facts, "pdf"))


ROUTES = [PlansApiController]
