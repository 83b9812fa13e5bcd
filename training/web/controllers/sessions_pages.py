"""Pages: a cohort's schedule (排课) — the sessions by week, scheduling one or a weekly pattern."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Response

from training.access import Actor, may
from training.errors import Conflict, Invalid
from training.rules import hours as hour_rules
from training.rules.clock import today_in_china
from training.rules.levels import SESSION_KINDS, SESSION_MODES
from training.rules.sessions import WEEKDAYS
from training.services import enrollments, sessions
from training.services.sessions import SessionInput, WeeklyInput
from training.web.auth import roles
from training.web.controllers.enrollments_pages import text
from training.web.list_export import ExportColumn, export_or_none, export_query
from training.web.rendering import page

_TEXT = ("topic", "teacher", "place", "platform", "mode", "kind")
SESSION_COLUMNS = [
    ExportColumn("日期", "session_date"), ExportColumn("开始", lambda r: r["start_time"].strftime("%H:%M")),
    ExportColumn("结束", lambda r: r["end_time"].strftime("%H:%M")),
    ExportColumn("方式", lambda r: SESSION_MODES.get(r["mode"], r["mode"])),
    ExportColumn("类型", lambda r: SESSION_KINDS.get(r["kind"], r["kind"])), ExportColumn("学时", "class_hours"),
    ExportColumn("主题", "topic"), ExportColumn("授课教师", "teacher"),
    ExportColumn("地点/平台", lambda r: r["place"] if r["mode"] == "offline" else r["platform"]),
    ExportColumn("已记考勤人数", "recorded"),
]


def _date(data: dict[str, Any], key: str, faults: dict[str, str]) -> date:
    try:
        return date.fromisoformat(text(data, key))
    except ValueError:
        faults[key] = "请填写日期（如 2026-11-20）"
        return date.min


def _time(data: dict[str, Any], key: str, faults: dict[str, str]) -> time:
    try:
        return time.fromisoformat(text(data, key))
    except ValueError:
        faults[key] = "请填写时间（如 09:00）"
        return time.min


def _hours(data: dict[str, Any], faults: dict[str, str]) -> float | None:
    value = text(data, "class_hours")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        faults["class_hours"] = "学时应为数字"
        return None


def _weekdays(data: dict[str, Any]) -> list[int]:
    raw = data.get("weekdays") or []
    raw = raw if isinstance(raw, list) else [raw]
    return [int(v) for v in raw if str(v).isdigit()]


class SessionPagesController(Controller):
    guards = [roles("institution", "city", "province")]
    include_in_schema = False

    async def _list(self, request: Request, actor: Actor, cohort_id: int, status_code: int = 200,
                    **context: Any) -> Response:
        cohort = await enrollments.cohort_in_scope(actor, cohort_id)
        rows = await sessions.list_sessions(actor, cohort_id)
        download = await export_or_none(context.pop("fmt", None), f"sessions-{cohort['code']}", "课次安排",
                                        SESSION_COLUMNS, rows)
        if download is not None:
            return download
        planned = hour_rules.Hours()
        weeks: list[dict[str, Any]] = []
        for row in rows:
            planned.add(row["mode"], row["kind"], row["class_hours"])
            iso = row["session_date"].isocalendar()
            if not weeks or weeks[-1]["key"] != (iso[0], iso[1]):
                weeks.append({"key": (iso[0], iso[1]), "monday": row["session_date"].toordinal() - iso[2] + 1,
                              "rows": [], "hours": 0.0})
            weeks[-1]["rows"].append(row)
            weeks[-1]["hours"] += row["class_hours"]
        for week in weeks:
            week["monday"] = date.fromordinal(week["monday"])
        defaults = {"values": {}, "errors": {}, "weekly_values": {}, "weekly_errors": {}, "error": None,
                    "notice": None, "created": None}
        return page(request, "sessions/list.html", status_code=status_code, cohort=cohort, weeks=weeks,
                    count=len(rows), planned=planned, today=today_in_china(), weekdays=WEEKDAYS,
                    can_write=may(actor, "session.write") and cohort["status"] in sessions.SCHEDULABLE,
                    tab="sessions", export_query=export_query(request), **{**defaults, **context})

    @get("/cohorts/{cohort_id:int}/sessions")
    async def index(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                    done: FromQuery[str | None] = None, format: FromQuery[str | None] = None) -> Response:
        notice = {"one": "已排课", "deleted": "已删除课次"}.get(done or "")
        created = None
        if done and done.startswith("weekly-") and done.removeprefix("weekly-").isdigit():
            notice, created = "已按周排课", int(done.removeprefix("weekly-"))
        return await self._list(request, actor, cohort_id, notice=notice, created=created, fmt=format)

    @post("/cohorts/{cohort_id:int}/sessions", status_code=200, guards=[roles("institution")])
    async def schedule(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                       data: URLEncodedBody[dict[str, Any]]) -> Response:
        faults: dict[str, str] = {}
        values = {k: text(data, k) for k in ("session_date", "start_time", "end_time", "class_hours", *_TEXT)}
        item = SessionInput(_date(data, "session_date", faults), _time(data, "start_time", faults),
                            _time(data, "end_time", faults), values["mode"], values["kind"], _hours(data, faults),
                            values["topic"], values["teacher"], values["place"], values["platform"])
        try:
            if faults:
                raise Invalid("课次信息有误，请按提示修改", fields=faults)
            await sessions.schedule_session(actor, cohort_id, item, request.app.state.settings.class_hour_minutes)
        except (Invalid, Conflict) as exc:
            return await self._list(request, actor, cohort_id, exc.status_code, values=values, errors=exc.fields,
                                    error=exc.detail)
        return Redirect(f"/cohorts/{cohort_id}/sessions?done=one", status_code=303)

    @post("/cohorts/{cohort_id:int}/sessions/weekly", status_code=200, guards=[roles("institution")])
    async def schedule_weekly(self, request: Request, actor: NamedDependency[Actor], cohort_id: FromPath[int],
                              data: URLEncodedBody[dict[str, Any]]) -> Response:
        faults: dict[str, str] = {}
        values: dict[str, Any] = {k: text(data, k) for k in ("first_date", "last_date", "start_time", "end_time",
                                                             "class_hours", *_TEXT)}
        values["weekdays"] = _weekdays(data)
        item = WeeklyInput(values["weekdays"], _date(data, "first_date", faults), _date(data, "last_date", faults),
                           _time(data, "start_time", faults), _time(data, "end_time", faults), values["mode"],
                           values["kind"], _hours(data, faults), values["topic"], values["teacher"],
                           values["place"], values["platform"])
        try:
            if faults:
                raise Invalid("排课信息有误，请按提示修改", fields=faults)
            ids = await sessions.schedule_weekly(actor, cohort_id, item, request.app.state.settings.class_hour_minutes)
        except (Invalid, Conflict) as exc:
            return await self._list(request, actor, cohort_id, exc.status_code, weekly_values=values,
                                    weekly_errors=exc.fields, error=exc.detail)
        return Redirect(f"/cohorts/{cohort_id}/sessions?done=weekly-{len(ids)}", status_code=303)

    @post("/sessions/{session_id:int}/delete", status_code=200)
    async def remove(self, request: Request, actor: NamedDependency[Actor], session_id: FromPath[int]) -> Response:
        session = await sessions.session_in_scope(actor, session_id)
        try:
            await sessions.delete_session(actor, session_id)
        except Conflict as exc:
            return await self._list(request, actor, session["cohort"], exc.status_code, error=exc.detail)
        return Redirect(f"/cohorts/{session['cohort']}/sessions?done=deleted", status_code=303)


ROUTES = [SessionPagesController]
