"""Anomaly flags (异常线索) for the city: irregularities found in the attendance data.

- ``offline_overlap``: one person credited in two offline sessions (in any cohorts) at overlapping
  times on the same day;
- ``daily_hours``: more than ``MAX_DAILY_HOURS`` class hours credited to one person on one day;
- ``withdrawn_attendance``: attendance at a session on or after the trainee's withdrawal;
- ``duplicate_enrollment`` is raised at enrollment time (see ``services.enrollments``).

Detection is aggregate SQL; flags are upserted by ``dedupe_key`` so running it again (after every
roll save and import, or as a whole sweep) never duplicates a flag or resets a city's review.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from piccolo.query.functions.aggregate import Count

from training import db
from training.access import Actor, require, restrict
from training.errors import Invalid, NotFound
from training.rules.clock import utcnow
from training.rules.sessions import overlaps
from training.services import audit
from training.tables import AnomalyFlag, Enrollment, TrainingSession

MAX_DAILY_HOURS = 10.0
KINDS = ("offline_overlap", "daily_hours", "withdrawn_attendance")
KIND_LABELS = {
    "offline_overlap": "线下课次时间重叠",
    "daily_hours": "单日学时超过10学时",
    "withdrawn_attendance": "退出学员仍有考勤",
    "duplicate_enrollment": "同年同职业同等级重复报名",
}
_CHUNK = 500


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _where(trainees: Sequence[int] | None, dates: Sequence[date] | None, trainee_col: str, date_col: str
           ) -> tuple[str, list[Any]]:
    """Extra conditions; trainee ids are integers from our own queries, so they are inlined."""
    sql, args = "", []
    if trainees is not None:
        sql += f" AND {trainee_col} IN ({','.join(str(int(t)) for t in trainees)})"
    if dates:
        sql += f" AND {date_col} IN ({','.join('{}' for _ in dates)})"
        args.extend(dates)
    return sql, args


async def _daily_hours(trainees: Sequence[int] | None, dates: Sequence[date] | None) -> list[AnomalyFlag]:
    extra, args = _where(trainees, dates, "e.trainee", "s.session_date")
    rows = await AnomalyFlag.raw(
        "SELECT e.trainee AS trainee, s.session_date AS day, SUM(a.credited_hours) AS hours, "
        "MIN(c.city) AS city, MIN(c.institution) AS institution, MIN(c.id) AS cohort, COUNT(*) AS sessions "
        "FROM attendance a JOIN training_session s ON s.id = a.session JOIN enrollment e ON e.id = a.enrollment "
        "JOIN cohort c ON c.id = s.cohort WHERE a.credited_hours > 0" + extra +
        f" GROUP BY e.trainee, s.session_date HAVING SUM(a.credited_hours) > {MAX_DAILY_HOURS}", *args)
    return [AnomalyFlag(kind="daily_hours", city=r["city"], institution=r["institution"], cohort=r["cohort"],
                        trainee=r["trainee"],
                        details={"date": _as_date(r["day"]).isoformat(), "hours": round(float(r["hours"]), 2),
                                 "sessions": int(r["sessions"])},
                        dedupe_key=f"daily_hours:{r['trainee']}:{_as_date(r['day']).isoformat()}")
            for r in rows]


async def _offline_overlap(trainees: Sequence[int] | None, dates: Sequence[date] | None) -> list[AnomalyFlag]:
    extra, args = _where(trainees, dates, "e1.trainee", "s1.session_date")
    rows = await AnomalyFlag.raw(
        "SELECT e1.trainee AS trainee, a1.id AS a1, a2.id AS a2, s1.session_date AS day, "
        "c1.id AS cohort1, c1.code AS code1, c1.city AS city1, c1.institution AS inst1, "
        "c2.id AS cohort2, c2.code AS code2, c2.city AS city2, c2.institution AS inst2, "
        "s1.start_time AS start1, s1.end_time AS end1, s2.start_time AS start2, s2.end_time AS end2 "
        "FROM attendance a1 JOIN training_session s1 ON s1.id = a1.session "
        "JOIN enrollment e1 ON e1.id = a1.enrollment "
        "JOIN enrollment e2 ON e2.trainee = e1.trainee "
        "JOIN attendance a2 ON a2.enrollment = e2.id "
        "JOIN training_session s2 ON s2.id = a2.session "
        "JOIN cohort c1 ON c1.id = s1.cohort JOIN cohort c2 ON c2.id = s2.cohort "
        "WHERE s1.mode = 'offline' AND s2.mode = 'offline' AND s2.session_date = s1.session_date "
        "AND s1.id < s2.id AND s1.start_time < s2.end_time AND s2.start_time < s1.end_time "
        "AND a1.credited_hours > 0 AND a2.credited_hours > 0" + extra, *args)
    flags = []
    for r in rows:
        details = {"date": _as_date(r["day"]).isoformat(), "cohorts": [r["code1"], r["code2"]],
                   "times": [f"{str(r['start1'])[:5]}-{str(r['end1'])[:5]}", f"{str(r['start2'])[:5]}-{str(r['end2'])[:5]}"],
                   "attendance": [r["a1"], r["a2"]]}
        # Each city involved sees the flag (two when the cohorts are in different cities).
        for city, institution, cohort in {(r["city1"], r["inst1"], r["cohort1"]), (r["city2"], r["inst2"], r["cohort2"])}:
            flags.append(AnomalyFlag(kind="offline_overlap", city=city, institution=institution, cohort=cohort,
                                     trainee=r["trainee"], details=details,
                                     dedupe_key=f"offline_overlap:{r['a1']}:{r['a2']}:{city}"))
    return flags


async def _withdrawn_attendance(trainees: Sequence[int] | None, dates: Sequence[date] | None) -> list[AnomalyFlag]:
    extra, args = _where(trainees, dates, "e.trainee", "s.session_date")
    rows = await AnomalyFlag.raw(
        "SELECT a.id AS attendance, e.trainee AS trainee, c.id AS cohort, c.code AS code, c.city AS city, "
        "c.institution AS institution, s.session_date AS day, e.withdrawn_on AS withdrawn_on, a.status AS status "
        "FROM attendance a JOIN enrollment e ON e.id = a.enrollment JOIN training_session s ON s.id = a.session "
        "JOIN cohort c ON c.id = s.cohort WHERE e.status = 'withdrawn' AND e.withdrawn_on IS NOT NULL "
        "AND s.session_date >= e.withdrawn_on AND a.status <> 'absent'" + extra, *args)
    return [AnomalyFlag(kind="withdrawn_attendance", city=r["city"], institution=r["institution"], cohort=r["cohort"],
                        trainee=r["trainee"],
                        details={"cohort_code": r["code"], "date": _as_date(r["day"]).isoformat(),
                                 "withdrawn_on": _as_date(r["withdrawn_on"]).isoformat(), "status": r["status"]},
                        dedupe_key=f"withdrawn_attendance:{r['attendance']}")
            for r in rows]


_DETECTORS = {"offline_overlap": _offline_overlap, "daily_hours": _daily_hours,
              "withdrawn_attendance": _withdrawn_attendance}


async def _upsert(flags: list[AnomalyFlag]) -> int:
    """Insert the flags not already raised; an existing flag keeps its review status."""
    unique = {f.dedupe_key: f for f in flags}
    known: set[str] = set()
    keys = list(unique)
    for start in range(0, len(keys), _CHUNK):
        known.update(r["dedupe_key"] for r in await AnomalyFlag.select(AnomalyFlag.dedupe_key).where(
            AnomalyFlag.dedupe_key.is_in(keys[start:start + _CHUNK])))
    fresh = [f for key, f in unique.items() if key not in known]
    for start in range(0, len(fresh), _CHUNK):
        await AnomalyFlag.insert(*fresh[start:start + _CHUNK])
    return len(fresh)


async def detect_for_trainees(trainees: Iterable[int] | None, dates: Iterable[date] | None = None,
                              kinds: Sequence[str] = KINDS) -> int:
    """Detect for these people (and dates); call inside the writing transaction. Returns new flags."""
    trainee_list = None if trainees is None else sorted(set(trainees))
    if trainee_list is not None and not trainee_list:
        return 0
    date_list = sorted(set(dates)) if dates is not None else None
    found: list[AnomalyFlag] = []
    for kind in kinds:
        if trainee_list is None:
            found.extend(await _DETECTORS[kind](None, date_list))
            continue
        for start in range(0, len(trainee_list), 2000):
            found.extend(await _DETECTORS[kind](trainee_list[start:start + 2000], date_list))
    return await _upsert(found)


async def detect_after_write(cohort_id: int, enrollment_ids: Sequence[int] | None, dates: Sequence[date], *,
                             trainees: Sequence[int] | None = None) -> int:
    """Detection after a roll save or an import in one cohort, pruned to what that write can cause.

    Inside one cohort, credited hours on a day never exceed the day's scheduled hours (credited ≤
    session hours is enforced on every write path), and two offline sessions overlap only if they
    were scheduled to; only people also enrolled in another cohort can meet other sessions. So the
    aggregate queries run for the days and people where a flag is possible, which keeps a
    100,000-row import from re-scanning everything it has just written.
    """
    if trainees is None:
        trainees = [r["trainee"] for r in await Enrollment.select(Enrollment.trainee).where(
            Enrollment.id.is_in(list(enrollment_ids or [])))] if enrollment_ids else []
    people = sorted(set(trainees))
    days = sorted(set(dates))
    if not people or not days:
        return 0
    elsewhere: set[int] = set()
    for start in range(0, len(people), _CHUNK):
        elsewhere.update(r["trainee"] for r in await Enrollment.select(Enrollment.trainee).where(
            Enrollment.trainee.is_in(people[start:start + _CHUNK]) & (Enrollment.cohort != cohort_id)))
    scheduled = await TrainingSession.select(
        TrainingSession.session_date, TrainingSession.start_time, TrainingSession.end_time, TrainingSession.mode,
        TrainingSession.class_hours,
    ).where((TrainingSession.cohort == cohort_id) & TrainingSession.session_date.is_in(days))
    per_day: dict[date, float] = {}
    offline: dict[date, list[dict[str, Any]]] = {}
    for row in scheduled:
        per_day[row["session_date"]] = per_day.get(row["session_date"], 0.0) + row["class_hours"]
        if row["mode"] == "offline":
            offline.setdefault(row["session_date"], []).append(row)
    heavy = [d for d, total in per_day.items() if total > MAX_DAILY_HOURS]
    clashing = [d for d, rows in offline.items()
                if any(overlaps(a["start_time"], a["end_time"], b["start_time"], b["end_time"])
                       for i, a in enumerate(rows) for b in rows[i + 1:])]
    found: list[AnomalyFlag] = []
    for start in range(0, len(people), 2000):
        chunk = people[start:start + 2000]
        if heavy:
            found.extend(await _daily_hours(chunk, heavy))
        if clashing:
            found.extend(await _offline_overlap(chunk, clashing))
    others = sorted(elsewhere)
    for start in range(0, len(others), 2000):
        chunk = others[start:start + 2000]
        found.extend(await _daily_hours(chunk, days))
        found.extend(await _offline_overlap(chunk, days))
    return await _upsert(found)


async def sweep() -> int:
    """The whole database, every kind: the scheduler's nightly pass."""
    async with db.transaction():
        return await detect_for_trainees(None)


REVIEW_STATUSES = {"open": "待核查", "explained": "已说明", "confirmed": "确认违规"}
REVIEW_DECISIONS = ("explained", "confirmed")
_MAX_ID = 2_147_483_647


@dataclass(frozen=True, slots=True)
class FlagFilter:
    """Checked list filters: ``status`` open / explained / confirmed / reviewed (either) or "" for all."""

    kind: str = ""
    status: str = ""
    institution: int | None = None
    cohort_id: int | None = None


def parse_filter(*, kind: str | None = None, status: str | None = None, institution: int | str | None = None,
                 cohort_id: int | None = None) -> FlagFilter:
    """Filters as typed; an unknown kind or status, or an impossible institution number, is Invalid (422)."""
    kind = (kind or "").strip()
    status = (status or "").strip()
    if kind and kind not in KIND_LABELS:
        raise Invalid("未知的异常类型", fields={"kind": "应为 " + "、".join(KIND_LABELS)})
    if status == "all":
        status = ""
    if status and status not in {*REVIEW_STATUSES, "reviewed"}:
        raise Invalid("未知的核查状态", fields={"status": "应为 open、explained、confirmed、reviewed 或 all"})
    number = None
    if institution not in (None, ""):
        text = str(institution).strip()
        if not text.isascii() or not text.isdigit() or not 0 < int(text) <= _MAX_ID:
            raise Invalid("机构编号不正确", fields={"institution": "请填写机构编号"})
        number = int(text)
    return FlagFilter(kind=kind, status=status, institution=number, cohort_id=cohort_id)


def _filtered(query: Any, selection: FlagFilter) -> Any:
    if selection.kind:
        query = query.where(AnomalyFlag.kind == selection.kind)
    if selection.status == "reviewed":
        query = query.where(AnomalyFlag.review_status != "open")
    elif selection.status:
        query = query.where(AnomalyFlag.review_status == selection.status)
    if selection.institution is not None:
        query = query.where(AnomalyFlag.institution == selection.institution)
    if selection.cohort_id is not None:
        query = query.where(AnomalyFlag.cohort == selection.cohort_id)
    return query


async def list_flags(actor: Actor, *, kind: str | None = None, open_only: bool = False,
                     cohort_id: int | None = None, selection: FlagFilter | None = None, limit: int | None = None,
                     offset: int = 0) -> list[dict[str, Any]]:
    """Flags in the actor's scope, newest first (``selection`` for the review filters; ``limit``: a page)."""
    selection = selection or FlagFilter(kind=kind or "", status="open" if open_only else "", cohort_id=cohort_id)
    query = AnomalyFlag.select(
        AnomalyFlag.all_columns(), AnomalyFlag.trainee.name.as_alias("trainee_name"),
        AnomalyFlag.cohort.code.as_alias("cohort_code"), AnomalyFlag.institution.name.as_alias("institution_name"),
        AnomalyFlag.city.name.as_alias("city_name"), AnomalyFlag.city.code.as_alias("city_code"),
        AnomalyFlag.reviewed_by.username.as_alias("reviewer"),
    ).order_by(AnomalyFlag.id, ascending=False).output(load_json=True)
    query = _filtered(restrict(query, AnomalyFlag, actor), selection)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    rows = await query
    for row in rows:
        details = row.get("details")
        if isinstance(details, dict):
            details.pop("id_number", None)
    return rows


async def count_flags(actor: Actor, selection: FlagFilter | None = None) -> int:
    return await _filtered(restrict(AnomalyFlag.count(), AnomalyFlag, actor), selection or FlagFilter())


async def flag_institutions(actor: Actor) -> list[dict[str, Any]]:
    """The institutions that have flags in the actor's scope (for the filter's choices)."""
    rows = await restrict(AnomalyFlag.select(
        AnomalyFlag.institution.id.as_alias("id"), AnomalyFlag.institution.name.as_alias("name"),
    ).where(AnomalyFlag.institution.is_not_null()).distinct(), AnomalyFlag, actor)
    return sorted(rows, key=lambda r: (r["name"] or "", r["id"]))


async def confirmed_counts(institution_ids: Sequence[int]) -> dict[int, int]:
    """Confirmed flags per institution (they count against it)."""
    if not institution_ids:
        return {}
    rows = await AnomalyFlag.select(AnomalyFlag.institution, Count(AnomalyFlag.id, alias="n")).where(
        AnomalyFlag.institution.is_in(list(institution_ids)) & (AnomalyFlag.review_status == "confirmed")
    ).group_by(AnomalyFlag.institution)
    return {r["institution"]: r["n"] for r in rows}


async def review_flag(actor: Actor, flag_id: int, status: str, note: str) -> dict[str, Any]:
    """The city's (or province's) conclusion on a flag: ``explained`` (a note is required) or ``confirmed``
    (note optional; it then counts against the institution). A flag may be reviewed again; each decision is
    audited with the one it replaced."""
    require(actor, "anomaly.review")
    row = await restrict(AnomalyFlag.select(
        AnomalyFlag.id, AnomalyFlag.review_status, AnomalyFlag.review_note, AnomalyFlag.kind,
        AnomalyFlag.institution, AnomalyFlag.reviewed_at, AnomalyFlag.reviewed_by.username.as_alias("reviewer"),
        AnomalyFlag.city.code.as_alias("city_code"),
    ).where(AnomalyFlag.id == flag_id), AnomalyFlag, actor).first()
    if row is None:
        raise NotFound("异常线索不存在，或不在您的管辖范围内")
    note = (note or "").strip()
    status = (status or "").strip()
    if status not in REVIEW_DECISIONS:
        raise Invalid("请选择核查结论", fields={"status": "请选择“已说明”或“确认违规”"})
    if status == "explained" and not note:
        raise Invalid("标记为已说明时请填写说明", fields={"note": "请填写核查说明"})
    if "\x00" in note:
        raise Invalid("核查说明含有不可用的字符", fields={"note": "含有不可用的字符"})
    now = utcnow()
    async with db.transaction():
        await AnomalyFlag.update({AnomalyFlag.review_status: status, AnomalyFlag.review_note: note[:2000],
                                  AnomalyFlag.reviewed_by: actor.user_id, AnomalyFlag.reviewed_at: now}).where(
            AnomalyFlag.id == flag_id)
        before = {"review_status": row["review_status"]}
        if row["review_status"] != "open":
            before.update(note=row["review_note"], reviewer=row["reviewer"] or "", reviewed_at=row["reviewed_at"])
        await audit.record(actor, "anomaly.re_review" if row["review_status"] != "open" else "anomaly.review",
                           "anomaly_flag", flag_id, before=before,
                           after={"review_status": status, "note": note[:2000], "kind": row["kind"]},
                           city_code=row["city_code"], institution_id=row["institution"])
    return {"id": flag_id, "review_status": status, "review_note": note[:2000], "reviewer": actor.username,
            "reviewed_at": now}
