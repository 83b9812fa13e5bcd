"""Attendance (考勤): the roll of one session, saved whole with optimistic locking; amendments
after filing; and the online-platform import.

Write paths. A roll is at most a few hundred rows and the online-platform import can be a million,
so both write through the database driver's bulk path on the connection of the service's own
transaction instead of Piccolo's ``insert`` (which builds SQL in Python at ~23k rows/s, see
MEASURED.md): on SQLite ``executemany`` of one ``INSERT … ON CONFLICT (enrollment, session) DO
UPDATE`` (~900k rows/s raw); on PostgreSQL ``copy_records_to_table`` into a temporary table, then
one ``INSERT … SELECT … ON CONFLICT DO UPDATE`` (COPY is ~3.5× asyncpg's executemany). Reads and
single-row changes stay with Piccolo.
"""

from __future__ import annotations

import time as _time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from training import db
from training.access import Actor, require, restrict
from training.documents import tabular
from training.documents.tabular import Column
from training.errors import BadInput, Conflict, ImportRejected, Invalid, NotFound, RowFault, StaleVersion
from training.rules import hours as rules
from training.rules.clock import today_in_china, utcnow
from training.rules.identity import InvalidIdentity, mask_id_number, parse_resident_id
from training.rules.levels import ATTENDANCE_STATUSES
from training.services import anomalies, audit
from training.services.enrollments import cohort_in_scope
from training.services.sessions import session_in_scope
from training.tables import Attendance, AttendanceAmendment, Enrollment, TrainingSession

RECORDABLE_COHORT = frozenset({"approved", "in_training", "training_ended", "assessed"})
FROZEN_COHORT = frozenset({"filed", "accepted"})
WRITE_CHUNK = 20_000  # rows per bulk write while streaming an import


# --- the roll ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RollEntry:
    """One line of a roll as submitted. ``status`` None/"" means "no record". ``was_status`` and
    ``was_hours`` are what the saver read (optional), used to name what changed on a conflict."""

    enrollment_id: int
    status: str | None
    hours: float | None = None
    was_status: str | None = None
    was_hours: float | None = None


@dataclass(slots=True)
class Roll:
    session: dict[str, Any]
    cohort: dict[str, Any]
    rows: list[dict[str, Any]]
    future: bool
    read_only: bool
    reason: str
    saved: bool = False
    counts: dict[str, int] = field(default_factory=dict)


def _read_only_reason(session: dict[str, Any], cohort_status: str, today: date) -> str:
    if cohort_status in FROZEN_COHORT:
        return "培训班已备案，考勤只读；如需更正请使用“考勤更正”并填写原因"
    if cohort_status not in RECORDABLE_COHORT:
        return "培训班当前状态不能登记考勤"
    if session["session_date"] > today:
        return "课次尚未开始，不能登记考勤"
    return ""


async def get_roll(actor: Actor, session_id: int) -> Roll:
    """Every enrollment of the cohort with its attendance at this session."""
    # One transaction: every read shares one connection (Piccolo otherwise opens one per query).
    async with db.transaction():
        session = await session_in_scope(actor, session_id)
        cohort = await cohort_in_scope(actor, session["cohort"])
        return await _load_roll(session, cohort)


async def _roll_enrollments(cohort_id: int) -> list[dict[str, Any]]:
    return await Enrollment.select(
        Enrollment.id, Enrollment.status, Enrollment.enrolled_on, Enrollment.trainee,
        Enrollment.trainee.name.as_alias("name"), Enrollment.trainee.id_number.as_alias("id_number"),
    ).where(Enrollment.cohort == cohort_id).order_by(Enrollment.id)


async def _load_roll(session: dict[str, Any], cohort: dict[str, Any],
                     enrollments: list[dict[str, Any]] | None = None) -> Roll:
    today = today_in_china()
    session_id = session["id"]
    if enrollments is None:
        enrollments = await _roll_enrollments(session["cohort"])
    records = {r["enrollment"]: r for r in await Attendance.select(
        Attendance.id, Attendance.enrollment, Attendance.status, Attendance.credited_hours, Attendance.source,
        Attendance.minutes_online, Attendance.recorded_at,
    ).where(Attendance.session == session_id)}
    rows = []
    counts = dict.fromkeys(ATTENDANCE_STATUSES, 0)
    for e in enrollments:
        record = records.get(e["id"])
        late = e["enrolled_on"] > session["session_date"]
        withdrawn = e["status"] == "withdrawn"
        if record:
            counts[record["status"]] = counts.get(record["status"], 0) + 1
        rows.append({
            "enrollment_id": e["id"], "name": e["name"], "id_masked": mask_id_number(e["id_number"]),
            "enrollment_status": e["status"], "enrolled_on": e["enrolled_on"],
            "required": not late and not withdrawn, "recordable": not late and not withdrawn,
            "note": "报名晚于本课次" if late else ("已退出" if withdrawn else ""),
            "attendance_id": record["id"] if record else None,
            "status": record["status"] if record else "",
            "hours": record["credited_hours"] if record else None,
            "source": record["source"] if record else "",
            "minutes_online": record["minutes_online"] if record else None,
        })
    reason = _read_only_reason(session, cohort["status"], today)
    return Roll(session=session, cohort=cohort, rows=rows, future=session["session_date"] > today,
                read_only=bool(reason), reason=reason, saved=session["roll_saved_at"] is not None, counts=counts)


def _describe(name: str, status: str | None, hours: float | None) -> str:
    label = ATTENDANCE_STATUSES.get(status or "", "未登记")
    return f"{label} {hours:g} 学时" if status and hours is not None else label


async def save_roll(actor: Actor, session_id: int, lock_version: int, entries: Sequence[RollEntry]) -> Roll:
    """Replace the whole roll of a session (PUT semantics), guarded by the session's lock_version."""
    require(actor, "attendance.write")
    by_id: dict[int, RollEntry] = {}
    for entry in entries:
        if entry.enrollment_id in by_id:
            raise BadInput("同一学员在考勤表中出现了两次")
        by_id[entry.enrollment_id] = entry
    # The whole save, reads included, runs on the one connection of one transaction: a roll save
    # is about a dozen small statements, and a fresh connection per statement would triple its time.
    async with db.transaction() as txn:
        session = await session_in_scope(actor, session_id)
        # What the save needs of the cohort comes with the session (no second scoped query).
        cohort = {"id": session["cohort"], "status": session["cohort_status"], "city_code": session["city_code"],
                  "institution": session["institution"], "code": session["cohort_code"]}
        reason = _read_only_reason(session, cohort["status"], today_in_china())
        if reason:
            raise Conflict(reason)
        session_hours = float(session["class_hours"])
        listed = await _roll_enrollments(session["cohort"])
        enrollments = {e["id"]: e for e in listed}
        current = {r["enrollment"]: r for r in await Attendance.select(
            Attendance.id, Attendance.enrollment, Attendance.status, Attendance.credited_hours,
        ).where(Attendance.session == session_id)}
        bumped = await TrainingSession.update({
            TrainingSession.lock_version: TrainingSession.lock_version + 1, TrainingSession.roll_saved_at: utcnow(),
        }).where((TrainingSession.id == session_id) & (TrainingSession.lock_version == lock_version)).returning(
            TrainingSession.lock_version, TrainingSession.roll_saved_at)
        if not bumped:
            # Re-read: on PostgreSQL (READ COMMITTED) the read above may predate the winner's commit,
            # which the failed UPDATE waited for; the conflict must name what the winner stored.
            current = {r["enrollment"]: r for r in await Attendance.select(
                Attendance.id, Attendance.enrollment, Attendance.status, Attendance.credited_hours,
            ).where(Attendance.session == session_id)}
            raise _stale(enrollments, current, by_id)
        faults: dict[str, str] = {}
        upserts: list[tuple[int, int, str, float, None]] = []
        changed: list[list[Any]] = []
        for enrollment_id, e in enrollments.items():
            entry = by_id.pop(enrollment_id, None)
            status = (entry.status or "") if entry else ""
            hours = entry.hours if entry else None
            had = current.get(enrollment_id)
            key = f"enrollment:{enrollment_id}"
            recordable = e["status"] != "withdrawn" and e["enrolled_on"] <= session["session_date"]
            if not status:
                if had and not recordable:
                    continue  # a withdrawn trainee's earlier record stays as it was
                if recordable:
                    faults[key] = f"{e['name']}：请选择考勤状态"
                continue
            if hours is None:
                hours = rules.default_credited_hours(status, session_hours)
            if had and had["status"] == status and abs(had["credited_hours"] - hours) < 1e-9:
                continue
            if not recordable:
                faults[key] = (f"{e['name']}：已退出，不能登记考勤" if e["status"] == "withdrawn"
                               else f"{e['name']}：报名日期晚于本课次，不能登记考勤")
                continue
            problem = rules.credited_hours_fault(status, hours, session_hours)
            if problem:
                faults[key] = f"{e['name']}：{problem}"
                continue
            upserts.append((enrollment_id, session_id, status, float(hours), None))
            changed.append([enrollment_id, had and had["status"], had and had["credited_hours"], status, hours])
        for enrollment_id in by_id:
            faults[f"enrollment:{enrollment_id}"] = "该学员不在本培训班"
        if faults:
            raise Invalid("考勤表有误，未保存：" + "；".join(list(faults.values())[:5]), fields=faults)
        if upserts:
            await _bulk_upsert(txn, upserts, "manual", actor.user_id)
        await audit.record(actor, "attendance.roll_save", "session", session_id,
                           before={"lock_version": lock_version},
                           after={"lock_version": bumped[0]["lock_version"], "changed_count": len(changed),
                                  # [enrollment, old status, old hours, new status, new hours]
                                  "changed": changed[:200]},
                           city_code=cohort["city_code"], institution_id=cohort["institution"])
        if upserts:
            await anomalies.detect_after_write(cohort["id"], None, [session["session_date"]],
                                               trainees=[enrollments[u[0]]["trainee"] for u in upserts])
        session = {**session, "lock_version": bumped[0]["lock_version"], "roll_saved_at": bumped[0]["roll_saved_at"]}
        return await _load_roll(session, cohort, listed)


def _stale(enrollments: dict[int, dict[str, Any]], current: dict[int, dict[str, Any]],
           entries: dict[int, RollEntry]) -> StaleVersion:
    """Name what changed: what the other saver stored against what this saver read (or submits)."""
    fields: dict[str, str] = {}
    for enrollment_id, entry in entries.items():
        e = enrollments.get(enrollment_id)
        if e is None:
            continue
        now = current.get(enrollment_id)
        now_status, now_hours = (now["status"], now["credited_hours"]) if now else (None, None)
        if entry.was_status is not None or entry.was_hours is not None:
            before_status, before_hours = entry.was_status or None, entry.was_hours
        else:
            before_status, before_hours = entry.status or None, entry.hours
        same_status = (before_status or None) == now_status
        same_hours = before_hours is None or now_hours is None or abs(before_hours - now_hours) < 1e-9
        if not (same_status and same_hours):
            fields[f"enrollment:{enrollment_id}"] = (
                f"{e['name']}：{_describe(e['name'], before_status, before_hours)} → "
                f"{_describe(e['name'], now_status, now_hours)}")
    names = "；".join(list(fields.values())[:8]) or "课次信息"
    more = f" 等 {len(fields)} 人" if len(fields) > 8 else ""
    return StaleVersion(f"本课次考勤已被他人保存，请刷新后重试。他人修改了：{names}{more}", fields=fields)


async def amend_attendance(actor: Actor, attendance_id: int, status: str, hours: float | None, reason: str) -> int:
    """A correction after the cohort is filed (考勤更正): recorded with its reason, carried into the
    next filing version. Before filing, corrections go through the roll."""
    require(actor, "attendance.write")
    row = await restrict(Attendance.select(
        Attendance.id, Attendance.status, Attendance.credited_hours, Attendance.enrollment,
        Attendance.session.class_hours.as_alias("session_hours"), Attendance.session.cohort.as_alias("cohort"),
        Attendance.session.cohort.status.as_alias("cohort_status"),
        Attendance.session.cohort.city.code.as_alias("city_code"),
        Attendance.session.cohort.institution.as_alias("institution"),
    ).where(Attendance.id == attendance_id), Attendance, actor).first()
    if row is None:
        raise NotFound("考勤记录不存在，或不在您的管辖范围内")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("请填写更正原因", fields={"reason": "请填写更正原因"})
    if row["cohort_status"] not in FROZEN_COHORT:
        raise Conflict("培训班尚未备案，请直接在考勤表中修改")
    if hours is None:
        hours = rules.default_credited_hours(status, row["session_hours"])
    problem = rules.credited_hours_fault(status, hours, row["session_hours"])
    if problem:
        raise Invalid(problem, fields={"hours" if status in ATTENDANCE_STATUSES else "status": problem})
    async with db.transaction():
        amendment = await AttendanceAmendment.insert(AttendanceAmendment(
            attendance=attendance_id, cohort=row["cohort"], old_status=row["status"],
            old_hours=row["credited_hours"], new_status=status, new_hours=float(hours), reason=reason[:1000],
            amended_by=actor.user_id,
        )).returning(AttendanceAmendment.id)
        await Attendance.update({Attendance.status: status, Attendance.credited_hours: float(hours),
                                 Attendance.recorded_by: actor.user_id, Attendance.recorded_at: utcnow()}).where(
            Attendance.id == attendance_id)
        await audit.record(actor, "attendance.amend", "attendance", attendance_id,
                           before={"status": row["status"], "hours": row["credited_hours"]},
                           after={"status": status, "hours": hours, "reason": reason[:1000]},
                           city_code=row["city_code"], institution_id=row["institution"])
    return amendment[0]["id"]


async def list_amendments(actor: Actor, cohort_id: int) -> list[dict[str, Any]]:
    await cohort_in_scope(actor, cohort_id)
    return await restrict(AttendanceAmendment.select(
        AttendanceAmendment.all_columns(),
        AttendanceAmendment.attendance.enrollment.trainee.name.as_alias("name"),
        AttendanceAmendment.attendance.session.session_date.as_alias("session_date"),
    ).where(AttendanceAmendment.cohort == cohort_id).order_by(AttendanceAmendment.id), AttendanceAmendment, actor)


# --- the bulk write path ---------------------------------------------------------------------

_SQLITE_UPSERT = (
    "INSERT INTO attendance (enrollment, session, status, credited_hours, minutes_online, source, recorded_by, "
    "recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (enrollment, session) DO UPDATE SET "
    "status = excluded.status, credited_hours = excluded.credited_hours, minutes_online = excluded.minutes_online, "
    "source = excluded.source, recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at"
)
_PG_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS attendance_stage (enrollment integer, session integer, status varchar(12), "
    "credited_hours double precision, minutes_online integer) ON COMMIT DROP"
)
_PG_MERGE = (
    "INSERT INTO attendance (enrollment, session, status, credited_hours, minutes_online, source, recorded_by, "
    "recorded_at) SELECT enrollment, session, status, credited_hours, minutes_online, $1, $2, $3 "
    "FROM attendance_stage ON CONFLICT (enrollment, session) DO UPDATE SET status = excluded.status, "
    "credited_hours = excluded.credited_hours, minutes_online = excluded.minutes_online, source = excluded.source, "
    "recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at"
)


class _BulkWriter:
    """Writes (enrollment, session, status, hours, minutes) tuples on the transaction's own connection.

    ``fresh``: the caller knows no (enrollment, session) row exists yet (a cohort's first import),
    so on PostgreSQL the rows are COPied straight into the table, skipping the staging merge.
    """

    def __init__(self, txn: Any, source: str, user_id: int | None, *, fresh: bool = False) -> None:
        self.connection = txn.connection
        self.source = source
        self.user_id = user_id
        self.now: datetime = utcnow()
        self.postgres = db.is_postgres()
        self.staged = False
        self.fresh = fresh

    async def add(self, rows: list[tuple[int, int, str, float, int | None]]) -> None:
        if not rows:
            return
        if self.postgres and self.fresh:
            tail = (self.source, self.user_id, self.now)
            await self.connection.copy_records_to_table(
                "attendance", records=[(*row, *tail) for row in rows],
                columns=["enrollment", "session", "status", "credited_hours", "minutes_online", "source",
                         "recorded_by", "recorded_at"])
        elif self.postgres:
            if not self.staged:
                await self.connection.execute(_PG_STAGE)
                await self.connection.execute("TRUNCATE attendance_stage")
                self.staged = True
            await self.connection.copy_records_to_table(
                "attendance_stage", records=rows,
                columns=["enrollment", "session", "status", "credited_hours", "minutes_online"])
        else:
            # Piccolo's own SQLite adapter format for timestamptz, converted once, not per row.
            tail = (self.source, self.user_id, str(self.now.astimezone(UTC)))
            await self.connection.executemany(_SQLITE_UPSERT, [(*row, *tail) for row in rows])

    async def finish(self) -> None:
        if self.postgres and self.staged:
            await self.connection.execute(_PG_MERGE, self.source, self.user_id, self.now)
            await self.connection.execute("DROP TABLE attendance_stage")


async def _bulk_upsert(txn: Any, rows: list[tuple[int, int, str, float, int | None]], source: str,
                       user_id: int | None) -> None:
    if db.is_postgres() and len(rows) < 1000:
        # A roll: executemany beats setting up a staging table for a few dozen rows.
        now = utcnow()
        await txn.connection.executemany(_PG_UPSERT, [(*row, source, user_id, now) for row in rows])
        return
    writer = _BulkWriter(txn, source, user_id)
    await writer.add(rows)
    await writer.finish()


def _pg_placeholders(sql: str) -> str:
    parts = sql.split("?")
    return "".join(part + (f"${i + 1}" if i < len(parts) - 1 else "") for i, part in enumerate(parts))


_PG_UPSERT = _pg_placeholders(_SQLITE_UPSERT)


# --- online-platform import ------------------------------------------------------------------

ONLINE_COLUMNS = [
    Column("id_number", "身份证号", aliases=("身份证号码", "证件号码"), example="370102199005170010", width=22),
    Column("session_id", "课次编号", required=False, aliases=("课次ID", "session_id"), example="101", width=10),
    Column("session_date", "日期", required=False, aliases=("上课日期", "课次日期"), example="2026-11-20", width=12),
    Column("start_time", "开始时间", required=False, example="09:00", width=10),
    Column("minutes", "在线分钟数", aliases=("在线时长(分钟)", "在线时长", "minutes"), example="90", width=12),
]
ONLINE_NOTES = [
    "每行一名学员在一个线上课次的在线时长；同一学员同一课次只能出现一次",
    "课次用“课次编号”标识（见排课表），或同时填写“日期”（如 2026-11-20）与“开始时间”（如 09:00）",
    "在线分钟数按每学时的分钟数折算为学时（向下取到0.1学时），不超过该课次的学时",
    "任何一行有错，整个文件都不会导入；支持 .xlsx 或 UTF-8/GBK 编码的 .csv",
]


@dataclass(slots=True)
class ImportSummary:
    rows: int
    inserted: int
    updated: int
    sessions: int
    trainees: int
    seconds: float


def _header_positions(header: list[str]) -> tuple[dict[str, int], list[RowFault]]:
    by_name = {name: column for column in ONLINE_COLUMNS for name in column.names()}
    positions: dict[str, int] = {}
    for index, cell in enumerate(header):
        column = by_name.get(tabular._norm(cell))
        if column is not None and column.key not in positions:
            positions[column.key] = index
    faults = [RowFault(1, c.header, f"缺少列“{c.header}”") for c in ONLINE_COLUMNS
              if c.required and c.key not in positions]
    if "session_id" not in positions and not {"session_date", "start_time"} <= positions.keys():
        faults.append(RowFault(1, "课次编号", "缺少列“课次编号”（或“日期”和“开始时间”两列）"))
    return positions, faults


def _parse_date(text: str) -> date:
    text = text.strip().replace("/", "-").replace(".", "-")
    try:
        year, month, day = (int(part) for part in text.split(" ")[0].split("T")[0].split("-"))
        return date(year, month, day)
    except ValueError:
        raise ValueError("日期格式应为 2026-11-20") from None


def _parse_time(text: str) -> time:
    text = text.strip().replace("：", ":")
    try:
        parts = [int(p) for p in text.split(":")[:2]]
        return time(parts[0], parts[1] if len(parts) > 1 else 0)
    except (ValueError, IndexError):
        raise ValueError("开始时间格式应为 09:00") from None


async def import_online(actor: Actor, cohort_id: int, data: bytes, filename: str = "",
                        minutes_per_hour: int = rules.DEFAULT_MINUTES_PER_HOUR) -> ImportSummary:
    """Import an online platform's export: one row per trainee per online session, all or nothing.

    The file is streamed (only the raw rows of one chunk and a set of seen keys are held), checked
    in Python against dictionaries loaded once, and written chunk by chunk inside one transaction;
    any fault stops the writing and rolls everything back.
    """
    require(actor, "attendance.write")
    started = _time.perf_counter()
    cohort = await cohort_in_scope(actor, cohort_id)
    if cohort["status"] in FROZEN_COHORT:
        raise Conflict("培训班已备案，考勤只读；如需更正请使用“考勤更正”并填写原因")
    if cohort["status"] not in RECORDABLE_COHORT:
        raise Conflict("培训班当前状态不能登记考勤")
    if not data:
        raise BadInput("请选择要上传的文件")
    today = today_in_china()
    # Everything a row is checked against, loaded once: enrollments by ID number, sessions by id
    # and by (date, start time).
    people: dict[str, tuple[int, date, bool, int, int]] = {}
    for index, e in enumerate(await Enrollment.select(
            Enrollment.id, Enrollment.enrolled_on, Enrollment.status, Enrollment.trainee,
            Enrollment.trainee.id_number.as_alias("id_number")).where(Enrollment.cohort == cohort_id)):
        people[e["id_number"]] = (e["id"], e["enrolled_on"], e["status"] == "withdrawn", e["trainee"], index)
    sessions: dict[int, tuple[date, float, str | None, int]] = {}
    by_slot: dict[tuple[date, time], int] = {}
    for index, s in enumerate(await TrainingSession.select(
            TrainingSession.id, TrainingSession.session_date, TrainingSession.start_time, TrainingSession.mode,
            TrainingSession.class_hours).where(TrainingSession.cohort == cohort_id)):
        problem = None
        if s["mode"] != "online":
            problem = "该课次是线下课次，不能导入线上学时"
        elif s["session_date"] > today:
            problem = "该课次尚未开始，不能登记考勤"
        sessions[s["id"]] = (s["session_date"], float(s["class_hours"]), problem, index)
        by_slot[(s["session_date"], s["start_time"].replace(second=0, microsecond=0))] = s["id"]

    rows = tabular.iter_rows(data, filename)
    header = next(rows, None)
    if header is None:
        raise BadInput("上传的文件是空的")
    positions, header_faults = _header_positions(header)
    if header_faults:
        raise ImportRejected(header_faults)
    p_id = positions["id_number"]
    p_minutes = positions["minutes"]
    p_session = positions.get("session_id")
    p_date = positions.get("session_date")
    p_start = positions.get("start_time")
    width = max(positions.values()) + 1
    slot_cache: dict[tuple[str, str], int | str] = {}
    # First row number of each (enrollment, session) pair, in a flat array of 4-byte cells indexed
    # densely: a million rows cost megabytes, not the ~100 MB of a dict of pairs.
    n_sessions = max(1, len(sessions))
    seen = array("I", bytes(4 * max(1, len(people)) * n_sessions))
    faults: list[RowFault] = []
    touched_sessions: set[int] = set()
    touched_trainees: set[int] = set()
    count = 0
    mph = minutes_per_hour
    limit = tabular.MAX_FAULTS_REPORTED

    async with db.transaction() as txn:
        before = await _attendance_count(cohort_id)
        writer = _BulkWriter(txn, "online_platform", actor.user_id, fresh=before == 0)
        chunk: list[tuple[int, int, str, float, int | None]] = []
        for number, raw in enumerate(rows, start=2):
            if len(raw) < width:
                if not any(cell for cell in raw):
                    continue
                raw = raw + [""] * (width - len(raw))
            count += 1
            ident = raw[p_id].strip().upper()
            person = people.get(ident)
            if person is None:
                if not ident:
                    reason = "不能为空"
                else:
                    try:
                        parse_resident_id(ident)
                        reason = "该学员未在本培训班报名"
                    except InvalidIdentity as exc:
                        reason = exc.reason
                faults.append(RowFault(number, "身份证号", reason))
            # the session
            session_id: int | None = None
            text = raw[p_session].strip() if p_session is not None else ""
            if text:
                try:
                    session_id = int(text)
                except ValueError:
                    faults.append(RowFault(number, "课次编号", "课次编号应为数字"))
                else:
                    if session_id not in sessions:
                        faults.append(RowFault(number, "课次编号", "本培训班没有这个课次"))
                        session_id = None
            else:
                day_text = raw[p_date].strip() if p_date is not None else ""
                start_text = raw[p_start].strip() if p_start is not None else ""
                if not day_text or not start_text:
                    faults.append(RowFault(number, "课次编号", "请填写课次编号，或日期和开始时间"))
                else:
                    found = slot_cache.get((day_text, start_text))
                    if found is None:
                        try:
                            slot = (_parse_date(day_text), _parse_time(start_text))
                            found = by_slot.get(slot, "本培训班在该日期和开始时间没有课次")
                        except ValueError as exc:
                            found = str(exc)
                        slot_cache[(day_text, start_text)] = found
                    if isinstance(found, str):
                        faults.append(RowFault(number, "日期", found))
                    else:
                        session_id = found
            # the minutes
            minutes_text = raw[p_minutes].strip()
            try:
                minutes = int(minutes_text)
            except ValueError:
                try:
                    minutes = int(float(minutes_text))
                except ValueError:
                    minutes = -1
            if minutes < 0 or minutes > 1440:
                faults.append(RowFault(number, "在线分钟数",
                                       "不能为空" if not minutes_text else "在线分钟数应为0到1440之间的整数"))
                minutes = -1
            if session_id is None or person is None or minutes < 0:
                if len(faults) > limit:
                    break
                continue
            session_date, session_hours, problem, session_index = sessions[session_id]
            enrollment_id, enrolled_on, withdrawn, trainee_id, person_index = person
            if problem:
                faults.append(RowFault(number, "课次编号", problem))
            elif withdrawn:
                faults.append(RowFault(number, "身份证号", "该学员已退出，不能登记考勤"))
            elif enrolled_on > session_date:
                faults.append(RowFault(number, "身份证号", "该学员报名晚于本课次，不能登记考勤"))
            key = person_index * n_sessions + session_index
            first = seen[key]
            if first:
                faults.append(RowFault(number, "身份证号", f"与第 {first} 行重复（同一学员同一课次）"))
            else:
                seen[key] = number
            if faults:
                if len(faults) > limit:
                    break
                continue  # keep checking to report every fault, but write nothing more
            credited = int(minutes * 10 // mph) / 10
            if credited > session_hours:
                credited = session_hours
            status = "absent" if credited <= 0 else ("present" if credited >= session_hours else "left_early")
            chunk.append((enrollment_id, session_id, status, credited, minutes))
            touched_sessions.add(session_id)
            touched_trainees.add(trainee_id)
            if len(chunk) >= WRITE_CHUNK:
                await writer.add(chunk)
                chunk = []
        if faults:
            raise ImportRejected(faults[:limit])
        if count == 0:
            raise BadInput("文件中只有表头，没有数据行")
        await writer.add(chunk)
        await writer.finish()
        after = await _attendance_count(cohort_id)
        inserted = after - before
        summary = ImportSummary(rows=count, inserted=inserted, updated=count - inserted,
                                sessions=len(touched_sessions), trainees=len(touched_trainees), seconds=0.0)
        if touched_sessions:
            await TrainingSession.update({TrainingSession.lock_version: TrainingSession.lock_version + 1}).where(
                TrainingSession.id.is_in(sorted(touched_sessions)))
        await audit.record(actor, "attendance.online_import", "cohort", cohort_id,
                           after={"rows": count, "inserted": inserted, "updated": count - inserted,
                                  "sessions": len(touched_sessions), "file": filename[:100]},
                           city_code=cohort["city_code"], institution_id=cohort["institution"])
        dates = sorted({sessions[sid][0] for sid in touched_sessions})
        await anomalies.detect_after_write(cohort_id, None, dates, trainees=sorted(touched_trainees))
    summary.seconds = round(_time.perf_counter() - started, 3)
    return summary


async def _attendance_count(cohort_id: int) -> int:
    rows = await Attendance.raw(
        "SELECT COUNT(*) AS n FROM attendance WHERE session IN (SELECT id FROM training_session WHERE cohort = {})",
        cohort_id)
    return int(rows[0]["n"])


async def online_template() -> bytes:
    import asyncio

    return await asyncio.to_thread(tabular.template_xlsx, "线上学习记录", ONLINE_COLUMNS, ONLINE_NOTES)
