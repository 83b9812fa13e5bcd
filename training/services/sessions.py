"""Sessions (课次): schedule one, or a weekly pattern, inside the cohort's dates; edit or delete
a session nobody has attendance for yet."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, time
from typing import Any

from training import db
from training.access import Actor, require, restrict
from training.errors import Conflict, Invalid, NotFound, StaleVersion
from training.rules import sessions as rules
from training.rules.hours import DEFAULT_MINUTES_PER_HOUR
from training.services import audit
from training.services.enrollments import cohort_in_scope
from training.tables import Attendance, TrainingSession

SCHEDULABLE = frozenset({"approved", "in_training"})


@dataclass(frozen=True, slots=True)
class SessionInput:
    session_date: date
    start_time: time
    end_time: time
    mode: str
    kind: str
    class_hours: float | None = None  # None: as many as the duration holds
    topic: str = ""
    teacher: str = ""
    place: str = ""
    platform: str = ""


@dataclass(frozen=True, slots=True)
class WeeklyInput:
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


def _faults(data: SessionInput, cohort: dict[str, Any], minutes_per_hour: int) -> dict[str, str]:
    hours = data.class_hours
    if hours is None and data.end_time > data.start_time:
        hours = rules.max_class_hours(data.start_time, data.end_time, minutes_per_hour)
    faults = rules.session_faults(
        session_date=data.session_date, start=data.start_time, end=data.end_time, class_hours=hours or 0,
        mode=data.mode, kind=data.kind, cohort_start=cohort["planned_start"], cohort_end=cohort["planned_end"],
        minutes_per_hour=minutes_per_hour)
    if data.mode == "offline" and not data.place.strip():
        faults["place"] = "线下课次请填写上课地点"
    if data.mode == "online" and not data.platform.strip():
        faults["platform"] = "线上课次请填写授课平台"
    for key, limit in (("topic", 256), ("teacher", 64), ("place", 256), ("platform", 128)):
        if len(getattr(data, key)) > limit:
            faults[key] = f"最多 {limit} 个字符"
    return faults


def _row(cohort_id: int, data: SessionInput, minutes_per_hour: int) -> TrainingSession:
    hours = data.class_hours
    if hours is None:
        hours = rules.max_class_hours(data.start_time, data.end_time, minutes_per_hour)
    return TrainingSession(
        cohort=cohort_id, session_date=data.session_date, start_time=data.start_time, end_time=data.end_time,
        mode=data.mode, kind=data.kind, class_hours=float(hours), topic=data.topic.strip(),
        teacher=data.teacher.strip(), place=data.place.strip() if data.mode == "offline" else "",
        platform=data.platform.strip() if data.mode == "online" else "",
    )


async def _writable_cohort(actor: Actor, cohort_id: int) -> dict[str, Any]:
    require(actor, "session.write")
    cohort = await cohort_in_scope(actor, cohort_id)
    if cohort["status"] not in SCHEDULABLE:
        raise Conflict("只有已批准或培训中的培训班可以排课")
    return cohort


async def _clashes(cohort_id: int, rows: list[TrainingSession], ignore_id: int | None = None) -> dict[date, str]:
    """Sessions of the same cohort at overlapping times on the same day (one query for all dates)."""
    dates = sorted({r.session_date for r in rows})
    existing = await TrainingSession.select(
        TrainingSession.id, TrainingSession.session_date, TrainingSession.start_time, TrainingSession.end_time,
    ).where((TrainingSession.cohort == cohort_id) & TrainingSession.session_date.is_in(dates))
    clashes: dict[date, str] = {}
    for row in rows:
        for other in existing:
            if other["id"] != ignore_id and other["session_date"] == row.session_date and rules.overlaps(
                    row.start_time, row.end_time, other["start_time"], other["end_time"]):
                clashes[row.session_date] = (
                    f"{row.session_date:%Y-%m-%d} 已有 {other['start_time']:%H:%M}-{other['end_time']:%H:%M} 的课次，时间重叠")
    return clashes


async def schedule_session(actor: Actor, cohort_id: int, data: SessionInput,
                           minutes_per_hour: int = DEFAULT_MINUTES_PER_HOUR) -> int:
    cohort = await _writable_cohort(actor, cohort_id)
    faults = _faults(data, cohort, minutes_per_hour)
    if faults:
        raise Invalid("课次信息有误，请按提示修改", fields=faults)
    row = _row(cohort_id, data, minutes_per_hour)
    async with db.transaction():
        clash = await _clashes(cohort_id, [row])
        if clash:
            message = next(iter(clash.values()))
            raise Invalid(message, fields={"start_time": message})
        session_id = (await TrainingSession.insert(row).returning(TrainingSession.id))[0]["id"]
        await audit.record(actor, "session.create", "session", session_id, after=_audit_view(row),
                           city_code=cohort["city_code"], institution_id=cohort["institution"])
    return session_id


async def schedule_weekly(actor: Actor, cohort_id: int, data: WeeklyInput,
                          minutes_per_hour: int = DEFAULT_MINUTES_PER_HOUR) -> list[int]:
    """A weekly pattern: one session on each chosen weekday from ``first_date`` to ``last_date``;
    all of them or none."""
    cohort = await _writable_cohort(actor, cohort_id)
    try:
        days = rules.expand_weekly(data.weekdays, data.first_date, data.last_date)
    except ValueError as exc:
        raise Invalid(str(exc), fields={"weekdays": str(exc)}) from None
    if not days:
        raise Invalid("所选日期范围内没有符合星期的日期", fields={"weekdays": "所选日期范围内没有符合星期的日期"})
    template = SessionInput(days[0], data.start_time, data.end_time, data.mode, data.kind, data.class_hours,
                            data.topic, data.teacher, data.place, data.platform)
    outside = [d for d in days if not cohort["planned_start"] <= d <= cohort["planned_end"]]
    faults = _faults(template, cohort, minutes_per_hour)
    faults.pop("session_date", None)
    if outside:
        faults["last_date" if outside[-1] > cohort["planned_end"] else "first_date"] = (
            f"有 {len(outside)} 个日期在培训班起止日期（{cohort['planned_start']:%Y-%m-%d} 至 "
            f"{cohort['planned_end']:%Y-%m-%d}）之外，如 {outside[0]:%Y-%m-%d}")
    if faults:
        raise Invalid("排课信息有误，请按提示修改", fields=faults)
    rows = [_row(cohort_id, replace(template, session_date=d), minutes_per_hour) for d in days]
    async with db.transaction():
        clash = await _clashes(cohort_id, rows)
        if clash:
            message = "；".join(list(clash.values())[:5])
            raise Invalid(message, fields={"start_time": message})
        ids = [r["id"] for r in await TrainingSession.insert(*rows).returning(TrainingSession.id)]
        await audit.record(actor, "session.create_weekly", "cohort", cohort_id,
                           after={"count": len(ids), "first": days[0], "last": days[-1], "weekdays": data.weekdays,
                                  **{k: v for k, v in _audit_view(rows[0]).items() if k != "session_date"}},
                           city_code=cohort["city_code"], institution_id=cohort["institution"])
    return ids


def _audit_view(row: TrainingSession) -> dict[str, Any]:
    return {"session_date": row.session_date, "start_time": row.start_time, "end_time": row.end_time,
            "mode": row.mode, "kind": row.kind, "class_hours": row.class_hours, "topic": row.topic,
            "teacher": row.teacher}


async def session_in_scope(actor: Actor, session_id: int) -> dict[str, Any]:
    row = await restrict(TrainingSession.select(
        TrainingSession.all_columns(),
        TrainingSession.cohort.code.as_alias("cohort_code"), TrainingSession.cohort.name.as_alias("cohort_name"),
        TrainingSession.cohort.status.as_alias("cohort_status"),
        TrainingSession.cohort.city.code.as_alias("city_code"),
        TrainingSession.cohort.city.as_alias("city"),
        TrainingSession.cohort.institution.as_alias("institution"),
    ).where(TrainingSession.id == session_id), TrainingSession, actor).first()
    if row is None:
        raise NotFound("课次不存在，或不在您的管辖范围内")
    return row


async def update_session(actor: Actor, session_id: int, data: SessionInput, lock_version: int,
                         minutes_per_hour: int = DEFAULT_MINUTES_PER_HOUR) -> None:
    current = await session_in_scope(actor, session_id)
    cohort = await _writable_cohort(actor, current["cohort"])
    faults = _faults(data, cohort, minutes_per_hour)
    if faults:
        raise Invalid("课次信息有误，请按提示修改", fields=faults)
    row = _row(current["cohort"], data, minutes_per_hour)
    async with db.transaction():
        if await Attendance.exists().where(Attendance.session == session_id):
            raise Conflict("该课次已登记考勤，不能修改")
        clash = await _clashes(current["cohort"], [row], ignore_id=session_id)
        if clash:
            message = next(iter(clash.values()))
            raise Invalid(message, fields={"start_time": message})
        values = {k: getattr(row, k) for k in ("session_date", "start_time", "end_time", "mode", "kind",
                                               "class_hours", "topic", "teacher", "place", "platform")}
        values["lock_version"] = TrainingSession.lock_version + 1
        updated = await TrainingSession.update(values).where(
            (TrainingSession.id == session_id) & (TrainingSession.lock_version == lock_version)
        ).returning(TrainingSession.id)
        if not updated:
            raise StaleVersion("该课次已被他人修改，请刷新后重试")
        await audit.record(actor, "session.update", "session", session_id,
                           before={k: current[k] for k in ("session_date", "start_time", "end_time", "mode", "kind",
                                                           "class_hours")},
                           after=_audit_view(row), city_code=cohort["city_code"], institution_id=cohort["institution"])


async def delete_session(actor: Actor, session_id: int) -> None:
    current = await session_in_scope(actor, session_id)
    cohort = await _writable_cohort(actor, current["cohort"])
    async with db.transaction():
        if await Attendance.exists().where(Attendance.session == session_id):
            raise Conflict("该课次已登记考勤，不能删除")
        await TrainingSession.delete().where(TrainingSession.id == session_id)
        await audit.record(actor, "session.delete", "session", session_id,
                           before={k: current[k] for k in ("session_date", "start_time", "end_time", "mode", "kind",
                                                           "class_hours", "topic")},
                           city_code=cohort["city_code"], institution_id=cohort["institution"])


async def list_sessions(actor: Actor, cohort_id: int) -> list[dict[str, Any]]:
    """The cohort's sessions in date order, with how many attendance rows each has."""
    await cohort_in_scope(actor, cohort_id)
    rows = await restrict(TrainingSession.select().where(TrainingSession.cohort == cohort_id).order_by(
        TrainingSession.session_date).order_by(TrainingSession.start_time), TrainingSession, actor)
    counts = {r["session"]: r["n"] for r in await Attendance.raw(
        "SELECT a.session AS session, COUNT(*) AS n FROM attendance a JOIN training_session s ON s.id = a.session "
        "WHERE s.cohort = {} GROUP BY a.session", cohort_id)}
    for row in rows:
        row["recorded"] = counts.get(row["id"], 0)
    return rows
