"""/api/v1: the attendance roll of a session (GET, PUT the whole roll), online-platform import,
amendments after filing, and a cohort's progress and eligibility."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, MultipartBody
from litestar.response import Response

from training.access import Actor
from training.services import attendance, progress
from training.services.attendance import RollEntry
from training.web.auth import roles
from training.web.controllers.enrollments_api import XLSX


class RollEntryIn(msgspec.Struct):
    enrollment_id: int
    status: str | None = None
    hours: float | None = None
    was_status: str | None = None
    was_hours: float | None = None


class RollIn(msgspec.Struct):
    lock_version: int
    entries: list[RollEntryIn]


class RollRowOut(msgspec.Struct):
    enrollment_id: int
    name: str
    id_masked: str
    enrollment_status: str
    enrolled_on: date
    required: bool
    recordable: bool
    note: str
    attendance_id: int | None
    status: str
    hours: float | None
    source: str
    minutes_online: int | None


class RollOut(msgspec.Struct):
    session_id: int
    cohort_id: int
    session_date: date
    mode: str
    kind: str
    class_hours: float
    lock_version: int
    read_only: bool
    read_only_reason: str
    rows: list[RollRowOut]


class ImportOut(msgspec.Struct):
    rows: int
    inserted: int
    updated: int
    sessions: int
    trainees: int
    seconds: float


class AmendIn(msgspec.Struct):
    status: str
    reason: str
    hours: float | None = None


class HoursOut(msgspec.Struct):
    online_theory: float
    online_practice: float
    offline_theory: float
    offline_practice: float
    total: float


class TraineeProgressOut(msgspec.Struct):
    enrollment_id: int
    name: str
    id_masked: str
    status: str
    hours: HoursOut
    countable_total: float
    online_counted: float
    eligible: bool
    reasons: list[str]
    at_risk: bool


class ProgressOut(msgspec.Struct):
    cohort_id: int
    standard: str
    illustrative: bool
    required_hours: float
    min_practice_hours: float
    max_online_share: float
    scheduled: HoursOut
    remaining: HoursOut
    eligible_count: int
    at_risk: list[int]
    trainees: list[TraineeProgressOut]


@dataclass
class UploadForm:
    file: UploadFile


def roll_out(roll: attendance.Roll) -> RollOut:
    s = roll.session
    return RollOut(session_id=s["id"], cohort_id=s["cohort"], session_date=s["session_date"], mode=s["mode"],
                   kind=s["kind"], class_hours=s["class_hours"], lock_version=s["lock_version"],
                   read_only=roll.read_only, read_only_reason=roll.reason,
                   rows=msgspec.convert(roll.rows, list[RollRowOut]))


def _hours(h) -> HoursOut:
    return HoursOut(h.online_theory, h.online_practice, h.offline_theory, h.offline_practice, h.total)


class AttendanceApiController(Controller):
    path = "/api/v1"
    tags = ["attendance"]

    @get("/sessions/{session_id:int}/attendance", summary="The roll of a session: every enrollment and its record")
    async def roll(self, actor: NamedDependency[Actor], session_id: FromPath[int]) -> RollOut:
        return roll_out(await attendance.get_roll(actor, session_id))

    @put("/sessions/{session_id:int}/attendance", guards=[roles("institution")],
         summary="Replace the whole roll (carries the session's lock_version; 409 names what changed)")
    async def save(self, actor: NamedDependency[Actor], session_id: FromPath[int], data: JSONBody[RollIn]) -> RollOut:
        entries = [RollEntry(e.enrollment_id, e.status, e.hours, e.was_status, e.was_hours) for e in data.entries]
        return roll_out(await attendance.save_roll(actor, session_id, data.lock_version, entries))

    @post("/cohorts/{cohort_id:int}/attendance/import", guards=[roles("institution")], status_code=200,
          summary="Import an online platform's CSV/xlsx (身份证号, 课次编号 or 日期+开始时间, 在线分钟数): all or nothing")
    async def import_online(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                            data: MultipartBody[UploadForm]) -> ImportOut:
        content = await data.file.read()
        summary = await attendance.import_online(actor, cohort_id, content, data.file.filename or "",
                                                 request.app.state.settings.class_hour_minutes)
        return msgspec.convert(summary, ImportOut, from_attributes=True)

    @get("/cohorts/{cohort_id:int}/attendance/template.xlsx", summary="Online-platform import template")
    async def template(self, actor: NamedDependency[Actor], cohort_id: FromPath[int]) -> Response[bytes]:
        await progress.cohort_in_scope(actor, cohort_id)
        return Response(await attendance.online_template(), media_type=XLSX, headers={
            "Content-Disposition": "attachment; filename*=UTF-8''online-attendance-template.xlsx"})

    @post("/attendance/{attendance_id:int}/amend", guards=[roles("institution")], status_code=201,
          summary="Correct a filed cohort's attendance (an amendment with a reason)")
    async def amend(self, actor: NamedDependency[Actor], attendance_id: FromPath[int],
                    data: JSONBody[AmendIn]) -> dict[str, int]:
        return {"amendment_id": await attendance.amend_attendance(actor, attendance_id, data.status, data.hours,
                                                                  data.reason)}

    @get("/cohorts/{cohort_id:int}/progress",
         summary="Credited hours by mode × kind per trainee against the cohort's standard; eligibility; at risk")
    async def progress(self, actor: NamedDependency[Actor], cohort_id: FromPath[int]) -> ProgressOut:
        result = await progress.cohort_progress(actor, cohort_id)
        req = result.requirement
        return ProgressOut(
            cohort_id=cohort_id, standard=result.cohort["standard_label"], illustrative=result.illustrative,
            required_hours=req.required_hours, min_practice_hours=req.min_practice_hours,
            max_online_share=req.max_online_share, scheduled=_hours(result.scheduled),
            remaining=_hours(result.remaining), eligible_count=result.eligible_count,
            at_risk=[t.enrollment_id for t in result.at_risk],
            trainees=[TraineeProgressOut(
                enrollment_id=t.enrollment_id, name=t.name, id_masked=t.id_masked, status=t.status,
                hours=_hours(t.hours), countable_total=t.eligibility.countable_total,
                online_counted=t.eligibility.online_counted, eligible=t.eligibility.eligible,
                reasons=t.eligibility.reasons, at_risk=t.at_risk) for t in result.trainees])


ROUTES = [AttendanceApiController]
