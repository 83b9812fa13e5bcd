"""/api/v1: enrollments of a cohort (one, or a list file), withdrawal, and a trainee's whole ID."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, MultipartBody
from litestar.response import Response

from training.access import Actor
from training.services import enrollments, trainees
from training.services.trainees import TraineeInput
from training.web.auth import roles
from training.web.pagination import PAGED_HEADERS, page_params, paged_response

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class EnrollmentIn(msgspec.Struct):
    id_number: str
    name: str
    phone: str = ""
    education: str = ""
    employer: str = ""
    employer_credit_code: str = ""
    new_graduate: bool = False


class EnrollmentOut(msgspec.Struct):
    id: int
    trainee: int
    name: str
    id_masked: str
    sex: str
    birth_date: date
    phone: str
    education: str
    employer: str
    new_graduate: bool
    enrolled_on: date
    status: str
    withdrawn_on: date | None
    withdraw_reason: str
    possible_duplicate: bool


class EnrollResultOut(msgspec.Struct):
    enrolled: int
    new_trainees: int
    updated_trainees: int
    flagged_duplicates: int
    enrollment_ids: list[int]


class WithdrawIn(msgspec.Struct):
    reason: str


class RevealOut(msgspec.Struct):
    trainee_id: int
    id_number: str


@dataclass
class UploadForm:
    file: UploadFile


def _result(result: enrollments.EnrollResult) -> EnrollResultOut:
    return EnrollResultOut(result.enrolled, result.new_trainees, result.updated_trainees, result.flagged_duplicates,
                           result.enrollment_ids)


class EnrollmentApiController(Controller):
    path = "/api/v1"
    tags = ["enrollments"]

    @get("/cohorts/{cohort_id:int}/enrollments", summary="Enrollments of a cohort (ID numbers masked; paginated)",
         response_headers=PAGED_HEADERS)
    async def list_enrollments(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                               status: FromQuery[str | None] = None, page: FromQuery[int] = 1,
                               page_size: FromQuery[int] = 50) -> Response[list[EnrollmentOut]]:
        paging = page_params(page, page_size)
        rows = await enrollments.list_enrollments(actor, cohort_id, status, limit=paging.limit, offset=paging.offset)
        total = await enrollments.count_enrollments(actor, cohort_id, status)
        return paged_response(msgspec.convert(rows, list[EnrollmentOut], from_attributes=True), total, paging,
                              request)

    @post("/cohorts/{cohort_id:int}/enrollments", guards=[roles("institution")], status_code=201,
          summary="Enroll one trainee (created or updated by resident ID number)")
    async def enroll(self, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                     data: JSONBody[EnrollmentIn]) -> EnrollResultOut:
        return _result(await enrollments.enroll_one(actor, cohort_id, TraineeInput(**msgspec.structs.asdict(data))))

    @post("/cohorts/{cohort_id:int}/enrollments/import", guards=[roles("institution")], status_code=201,
          summary="Enroll a list (xlsx, or CSV in UTF-8/GBK): all rows or none; faults by row and column")
    async def import_list(self, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                          data: MultipartBody[UploadForm]) -> EnrollResultOut:
        content = await data.file.read()
        return _result(await enrollments.import_list(actor, cohort_id, content, data.file.filename or ""))

    @get("/cohorts/{cohort_id:int}/enrollments/template.xlsx", summary="Enrollment list template (Chinese headers)")
    async def template(self, actor: NamedDependency[Actor], cohort_id: FromPath[int]) -> Response[bytes]:
        await enrollments.cohort_in_scope(actor, cohort_id)
        return Response(await enrollments.template(), media_type=XLSX, headers={
            "Content-Disposition": "attachment; filename*=UTF-8''enrollment-template.xlsx"})

    @post("/enrollments/{enrollment_id:int}/withdraw", guards=[roles("institution")], status_code=200,
          summary="Withdraw a trainee from a cohort, with a reason")
    async def withdraw(self, actor: NamedDependency[Actor], enrollment_id: FromPath[int],
                       data: JSONBody[WithdrawIn]) -> dict[str, str]:
        await enrollments.withdraw(actor, enrollment_id, data.reason)
        return {"status": "withdrawn"}

    @post("/trainees/{trainee_id:int}/reveal-id", status_code=200,
          summary="A trainee's whole resident ID number (audited as trainee.reveal_id)")
    async def reveal(self, actor: NamedDependency[Actor], trainee_id: FromPath[int]) -> RevealOut:
        return RevealOut(trainee_id, await trainees.reveal_id_number(actor, trainee_id))


ROUTES = [EnrollmentApiController]
