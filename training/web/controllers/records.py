"""A trainee's record (学员培训档案): the page and ``GET /api/v1/trainees/{id}/record``."""

from __future__ import annotations

from datetime import date, datetime

import msgspec
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Response

from training.access import Actor
from training.services import records
from training.web.auth import roles
from training.web.rendering import page

READERS = roles("institution", "city", "province")


class HoursOut(msgspec.Struct):
    online_theory: float
    online_practice: float
    offline_theory: float
    offline_practice: float
    total: float


class ResultOut(msgspec.Struct):
    attempt: int
    assessment_date: date
    form: str
    theory_score: int | None
    practice_score: int | None
    absent: bool
    passed: bool


class CertificateOut(msgspec.Struct):
    number: str
    issue_date: date
    hours: float
    status: str
    revoked_at: datetime | None


class EnrollmentOut(msgspec.Struct):
    enrollment_id: int
    status: str
    enrolled_on: date
    cohort_id: int
    cohort_code: str
    cohort_name: str
    occupation_name: str
    level: str
    institution_name: str
    city_name: str
    planned_start: date
    planned_end: date
    hours: HoursOut
    results: list[ResultOut]
    certificate: CertificateOut | None


class RecordOut(msgspec.Struct):
    trainee_id: int
    name: str
    id_masked: str
    sex: str
    employer: str
    total_hours: float
    enrollments: list[EnrollmentOut]


def record_out(record: records.TraineeRecord) -> RecordOut:
    person = record.trainee
    items = []
    for item in record.enrollments:
        e, h = item.enrollment, item.hours
        items.append(EnrollmentOut(
            enrollment_id=e["id"], status=e["status"], enrolled_on=e["enrolled_on"], cohort_id=e["cohort_id"],
            cohort_code=e["cohort_code"], cohort_name=e["cohort_name"], occupation_name=e["occupation_name"],
            level=e["level"], institution_name=e["institution_name"], city_name=e["city_name"],
            planned_start=e["planned_start"], planned_end=e["planned_end"],
            hours=HoursOut(h.online_theory, h.online_practice, h.offline_theory, h.offline_practice, h.total),
            results=msgspec.convert(item.results, list[ResultOut], from_attributes=True),
            certificate=msgspec.convert(item.certificate, CertificateOut, from_attributes=True)
            if item.certificate else None))
    return RecordOut(trainee_id=person["id"], name=person["name"], id_masked=person["id_masked"], sex=person["sex"],
                     employer=person.get("employer") or "", total_hours=record.total_hours, enrollments=items)


class RecordPagesController(Controller):
    guards = [READERS]
    include_in_schema = False

    @get("/trainees/{trainee_id:int}/record")
    async def record(self, request: Request, actor: NamedDependency[Actor], trainee_id: FromPath[int]) -> Response:
        return page(request, "records/record.html", record=await records.trainee_record(actor, trainee_id))


class RecordApiController(Controller):
    path = "/api/v1"
    tags = ["trainees"]
    guards = [READERS]

    @get("/trainees/{trainee_id:int}/record",
         summary="A person's enrollments, hours by mode × kind, results and certificates (within your scope)")
    async def record(self, actor: NamedDependency[Actor], trainee_id: FromPath[int]) -> RecordOut:
        return record_out(await records.trainee_record(actor, trainee_id))


ROUTES = [RecordPagesController, RecordApiController]
