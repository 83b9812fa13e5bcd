"""/api/v1: sessions (课次) of a cohort — list, schedule one or a weekly pattern, edit, delete."""

from __future__ import annotations

from datetime import date, datetime, time

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Response

from training.access import Actor
from training.services import sessions
from training.services.sessions import SessionInput, WeeklyInput
from training.web.auth import roles
from training.web.pagination import PAGED_HEADERS, page_params, paged_response


class SessionIn(msgspec.Struct):
    session_date: date
    start_time: time
    end_time: time
    mode: str
    kind: str
    class_hours: float | None = None
    topic: str = ""
    teacher: str = ""
    place: str = ""
    platform: str = ""


class SessionPatch(SessionIn):
    lock_version: int = 0


class WeeklyIn(msgspec.Struct):
    weekdays: list[int]
    first_date: date
    last_date: date
    start_time: time
    end_time: time
    mode: str
    kind: str
    class_hours: float | None = None
    topic: str = ""
    teacher: str = ""
    place: str = ""
    platform: str = ""


class SessionOut(msgspec.Struct):
    id: int
    cohort: int
    session_date: date
    start_time: time
    end_time: time
    mode: str
    kind: str
    class_hours: float
    topic: str
    teacher: str
    place: str
    platform: str
    lock_version: int
    roll_saved_at: datetime | None
    recorded: int


class CreatedOut(msgspec.Struct):
    ids: list[int]


def minutes_per_hour(request: Request) -> int:
    return request.app.state.settings.class_hour_minutes


def _input(data: SessionIn) -> SessionInput:
    return SessionInput(data.session_date, data.start_time, data.end_time, data.mode, data.kind, data.class_hours,
                        data.topic, data.teacher, data.place, data.platform)


class SessionApiController(Controller):
    path = "/api/v1"
    tags = ["sessions"]

    @get("/cohorts/{cohort_id:int}/sessions", summary="Sessions of a cohort in date order (paginated)",
         response_headers=PAGED_HEADERS)
    async def list_sessions(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                            page: FromQuery[int] = 1, page_size: FromQuery[int] = 50) -> Response[list[SessionOut]]:
        paging = page_params(page, page_size)
        rows = await sessions.list_sessions(actor, cohort_id)
        return paged_response(msgspec.convert(paging.slice(rows), list[SessionOut]), len(rows), paging, request)

    @post("/cohorts/{cohort_id:int}/sessions", guards=[roles("institution")], status_code=201,
          summary="Schedule one session (class hours default to what the duration holds)")
    async def schedule(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                       data: JSONBody[SessionIn]) -> CreatedOut:
        return CreatedOut([await sessions.schedule_session(actor, cohort_id, _input(data), minutes_per_hour(request))])

    @post("/cohorts/{cohort_id:int}/sessions/weekly", guards=[roles("institution")], status_code=201,
          summary="Schedule a weekly pattern (weekdays 1 = Monday … 7 = Sunday): all sessions or none")
    async def schedule_weekly(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                              data: JSONBody[WeeklyIn]) -> CreatedOut:
        weekly = WeeklyInput(**msgspec.structs.asdict(data))
        return CreatedOut(await sessions.schedule_weekly(actor, cohort_id, weekly, minutes_per_hour(request)))

    @patch("/sessions/{session_id:int}", guards=[roles("institution")],
           summary="Edit a session nobody has attendance for (carries lock_version)")
    async def edit(self, request: Request, actor: NamedDependency[Actor], session_id: FromPath[int],
                   data: JSONBody[SessionPatch]) -> dict[str, str]:
        await sessions.update_session(actor, session_id, _input(data), data.lock_version, minutes_per_hour(request))
        return {"status": "saved"}

    @delete("/sessions/{session_id:int}", guards=[roles("institution")], status_code=204,
            summary="Delete a session nobody has attendance for")
    async def remove(self, actor: NamedDependency[Actor], session_id: FromPath[int]) -> None:
        await sessions.delete_session(actor, session_id)


ROUTES = [SessionApiController]
