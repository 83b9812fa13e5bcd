"""/api/v1: the final completion assessment — sittings of a cohort, and each sitting's results grid
(GET, PUT the whole grid, or import a spreadsheet all-or-nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import msgspec
from litestar import Controller, Request, get, patch, post, put
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, MultipartBody
from litestar.response import Response

from training.access import Actor
from training.rules.assessment import Entry
from training.services import assessments
from training.web.auth import roles
from training.web.pagination import PAGED_HEADERS, page_params, paged_response

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ScheduleIn(msgspec.Struct):
    assessment_date: date
    form: str


class AssessmentOut(msgspec.Struct):
    id: int
    cohort: int
    attempt: int
    assessment_date: date
    form: str
    created_at: datetime | None = None
    recorded: int = 0
    passed: int = 0
    absent: int = 0


class ResultIn(msgspec.Struct):
    enrollment_id: int
    theory_score: int | None = None
    practice_score: int | None = None
    absent: bool = False


class ResultsIn(msgspec.Struct):
    entries: list[ResultIn]


class ResultRowOut(msgspec.Struct):
    enrollment_id: int
    trainee_id: int
    name: str
    id_masked: str
    status: str
    eligible: bool
    reasons: list[str]
    recordable: bool
    note: str
    theory_score: int | None
    practice_score: int | None
    absent: bool
    passed: bool | None
    certificate_number: str | None


class GridOut(msgspec.Struct):
    assessment: AssessmentOut
    cohort_id: int
    cohort_status: str
    pass_mark_theory: int
    pass_mark_practice: int
    scores: list[str]
    read_only: bool
    read_only_reason: str
    summary: dict[str, int]
    rows: list[ResultRowOut]


class ImportOut(msgspec.Struct):
    assessment_id: int
    inserted: int
    updated: int
    unchanged: int
    passed: int
    cohort_status: str


@dataclass
class UploadForm:
    file: UploadFile


def grid_out(grid: assessments.Grid) -> GridOut:
    return GridOut(
        assessment=msgspec.convert(grid.assessment, AssessmentOut), cohort_id=grid.cohort["id"],
        cohort_status=grid.cohort["status"], pass_mark_theory=grid.marks.theory,
        pass_mark_practice=grid.marks.practice, scores=list(grid.scores), read_only=grid.read_only,
        read_only_reason=grid.read_only_reason, summary=grid.summary,
        rows=[ResultRowOut(
            enrollment_id=r.enrollment_id, trainee_id=r.trainee_id, name=r.name, id_masked=r.id_masked,
            status=r.status, eligible=r.eligible, reasons=r.reasons, recordable=r.recordable, note=r.note,
            theory_score=r.theory_score, practice_score=r.practice_score, absent=r.absent, passed=r.passed,
            certificate_number=r.certificate_number) for r in grid.rows])


class AssessmentsApiController(Controller):
    path = "/api/v1"
    tags = ["assessments"]

    @get("/cohorts/{cohort_id:int}/assessments", summary="The cohort's assessment sittings (attempt 2 is the retake)",
         response_headers=PAGED_HEADERS)
    async def index(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                    page: FromQuery[int] = 1, page_size: FromQuery[int] = 50) -> Response[list[AssessmentOut]]:
        paging = page_params(page, page_size)
        rows = await assessments.list_assessments(actor, cohort_id)
        return paged_response(msgspec.convert(paging.slice(rows), list[AssessmentOut]), len(rows), paging, request)

    @post("/cohorts/{cohort_id:int}/assessments", guards=[roles("institution")],
          summary="Schedule the final assessment once training has ended, then at most one retake")
    async def schedule(self, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                       data: JSONBody[ScheduleIn]) -> AssessmentOut:
        row = await assessments.schedule(actor, cohort_id, data.assessment_date, data.form)
        return msgspec.convert(row, AssessmentOut)

    @patch("/assessments/{assessment_id:int}", guards=[roles("institution")],
           summary="Correct a sitting's date or form while it has no results")
    async def reschedule(self, actor: NamedDependency[Actor], assessment_id: FromPath[int],
                         data: JSONBody[ScheduleIn]) -> AssessmentOut:
        row = await assessments.reschedule(actor, assessment_id, data.assessment_date, data.form)
        return msgspec.convert(row, AssessmentOut)

    @get("/assessments/{assessment_id:int}/results", summary="The results grid: who may get a result, and results")
    async def results(self, actor: NamedDependency[Actor], assessment_id: FromPath[int]) -> GridOut:
        return grid_out(await assessments.get_grid(actor, assessment_id))

    @put("/assessments/{assessment_id:int}/results", guards=[roles("institution")],
         summary="Replace the whole grid (scores 0–100; eligible trainees only; all or nothing)")
    async def save(self, actor: NamedDependency[Actor], assessment_id: FromPath[int],
                   data: JSONBody[ResultsIn]) -> GridOut:
        entries = [Entry(e.enrollment_id, e.theory_score, e.practice_score, e.absent) for e in data.entries]
        await assessments.save_results(actor, assessment_id, entries)
        return grid_out(await assessments.get_grid(actor, assessment_id))

    @post("/assessments/{assessment_id:int}/results/import", guards=[roles("institution")], status_code=200,
          summary="Import results (身份证号, 理论成绩, 实操成绩, 是否缺考) from xlsx/CSV: all rows or none")
    async def import_file(self, actor: NamedDependency[Actor], assessment_id: FromPath[int],
                          data: MultipartBody[UploadForm]) -> ImportOut:
        content = await data.file.read()
        summary = await assessments.import_results(actor, assessment_id, content, data.file.filename or "")
        return msgspec.convert(summary, ImportOut, from_attributes=True)

    @get("/assessments/results-template.xlsx", summary="The results import template")
    async def template(self) -> Response[bytes]:
        return Response(await assessments.results_template(), media_type=XLSX, headers={
            "Content-Disposition": "attachment; filename*=UTF-8''assessment-results-template.xlsx"})


ROUTES = [AssessmentsApiController]
