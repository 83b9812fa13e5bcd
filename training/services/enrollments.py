"""Enrollment (报名): trainees into a cohort, one at a time or from a list, and withdrawal.

Rules: the cohort is approved or in training and not yet ended; capacity; one person is never in
two cohorts whose dates overlap (any institution); a second enrollment in the same occupation and
level in the same year is allowed but flagged to the city (possible duplicate subsidy).
Imports are all-or-nothing: every fault is reported as (row, column, reason) and nothing is written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from training import db
from training.access import Actor, require, restrict
from training.documents import tabular
from training.documents.tabular import Column
from training.errors import BadInput, Conflict, ImportRejected, Invalid, NotFound, RowFault
from training.rules.clock import today_in_china, utcnow
from training.rules.identity import mask_id_number
from training.rules.levels import EDUCATION_LEVELS
from training.services import anomalies, audit, trainees
from training.services.trainees import TraineeInput, TraineeValues
from training.tables import AnomalyFlag, Cohort, Enrollment, Trainee

ENROLLABLE = frozenset({"approved", "in_training"})
# Cohorts that never ran (or will not run) do not hold a person's time.
INACTIVE_COHORT = frozenset({"draft", "rejected", "cancelled"})
BATCH = 500  # IN-list and insert batch: well under SQLite's bound-variable limit
MAX_IMPORT_ROWS = 20_000

TRAINEE_COLUMNS = [
    Column("name", "姓名", parse=trainees.parse_name, example="张三", width=12),
    Column("id_number", "身份证号", parse=trainees.parse_id, aliases=("身份证号码", "公民身份号码"),
           example="370102199005170010", width=22),
    Column("phone", "手机号", required=False, parse=trainees.parse_optional_phone, aliases=("联系电话", "手机号码"),
           example="13800000000", width=14),
    Column("education", "学历", required=False, parse=trainees.parse_education, example="大学本科", width=12),
    Column("employer", "工作单位", required=False, example="济南某某科技有限公司", width=28),
    Column("employer_credit_code", "单位统一社会信用代码", required=False,
           parse=trainees.parse_optional_credit_code, aliases=("统一社会信用代码",), example="", width=24),
    Column("new_graduate", "是否应届毕业生", required=False, parse=trainees.parse_yes_no, aliases=("应届毕业生",),
           example="否", width=14),
]
TEMPLATE_NOTES = [
    "每行一名学员；身份证号须为18位有效号码（末位校验位正确）",
    "学历可填：" + "、".join(EDUCATION_LEVELS),
    "是否应届毕业生填“是”或“否”，不填视为“否”",
    "支持 .xlsx，或 UTF-8 / GBK 编码的 .csv；任何一行有错，整个文件都不会导入",
]


async def cohort_in_scope(actor: Actor, cohort_id: int) -> dict[str, Any]:
    """The cohort with its standard, city and institution, or NotFound when outside the scope."""
    query = Cohort.select(
        Cohort.id, Cohort.code, Cohort.name, Cohort.status, Cohort.level, Cohort.capacity,
        Cohort.planned_start, Cohort.planned_end, Cohort.occupation, Cohort.city, Cohort.institution,
        Cohort.lock_version,
        Cohort.occupation.name.as_alias("occupation_name"),
        Cohort.city.code.as_alias("city_code"),
        Cohort.city.name.as_alias("city_name"),
        Cohort.institution.name.as_alias("institution_name"),
        Cohort.standard.required_hours.as_alias("required_hours"),
        Cohort.standard.min_practice_hours.as_alias("min_practice_hours"),
        Cohort.standard.max_online_share.as_alias("max_online_share"),
        Cohort.standard.version_label.as_alias("standard_label"),
        Cohort.standard.illustrative.as_alias("standard_illustrative"),
        Cohort.standard.pass_mark_theory.as_alias("pass_mark_theory"),
        Cohort.standard.pass_mark_practice.as_alias("pass_mark_practice"),
    ).where(Cohort.id == cohort_id)
    row = await restrict(query, Cohort, actor).first()
    if row is None:
        raise NotFound("培训班不存在，或不在您的管辖范围内")
    # the same ids under the names the assessment and certificate services use
    row.update(institution_id=row["institution"], city_id=row["city"], occupation_id=row["occupation"])
    return row


def _check_enrollable(cohort: dict[str, Any], today: date) -> None:
    if cohort["status"] not in ENROLLABLE:
        raise Conflict("培训班须经批准（已批准或培训中）后才能报名")
    if cohort["planned_end"] < today:
        raise Conflict("培训班已结束，不能再报名")


def _chunks(items: list[Any], size: int = BATCH) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


@dataclass(slots=True)
class _Candidate:
    row: int
    values: TraineeValues


@dataclass(slots=True)
class EnrollResult:
    enrolled: int
    new_trainees: int
    updated_trainees: int
    flagged_duplicates: int
    enrollment_ids: list[int]


async def _plan(cohort: dict[str, Any], candidates: list[_Candidate], id_column: str) -> tuple[
        list[RowFault], dict[str, dict[str, Any]], set[str]]:
    """Check every candidate against the database with one IN query per batch (never per row).

    Returns the faults, the existing trainees by ID number and the ID numbers to flag as duplicates.
    """
    numbers = [c.values.id_number for c in candidates]
    existing: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(numbers):
        for row in await Trainee.select().where(Trainee.id_number.is_in(chunk)):
            existing[row["id_number"]] = row
    others: dict[int, list[dict[str, Any]]] = {}
    trainee_ids = [r["id"] for r in existing.values()]
    for chunk in _chunks(trainee_ids):
        rows = await Enrollment.select(
            Enrollment.trainee, Enrollment.status, Enrollment.cohort,
            Enrollment.cohort.code.as_alias("code"), Enrollment.cohort.status.as_alias("cohort_status"),
            Enrollment.cohort.planned_start.as_alias("start"), Enrollment.cohort.planned_end.as_alias("end"),
            Enrollment.cohort.occupation.as_alias("occupation"), Enrollment.cohort.level.as_alias("level"),
        ).where(Enrollment.trainee.is_in(chunk))
        for row in rows:
            others.setdefault(row["trainee"], []).append(row)
    faults: list[RowFault] = []
    duplicates: set[str] = set()
    year = cohort["planned_start"].year
    for candidate in candidates:
        person = existing.get(candidate.values.id_number)
        if person is None:
            continue
        for other in others.get(person["id"], []):
            if other["cohort"] == cohort["id"]:
                state = "已从本班退出" if other["status"] == "withdrawn" else "已在本班报名"
                faults.append(RowFault(candidate.row, id_column, f"该学员{state}，不能重复报名"))
                continue
            if other["status"] == "withdrawn" or other["cohort_status"] in INACTIVE_COHORT:
                continue
            if other["start"] <= cohort["planned_end"] and cohort["planned_start"] <= other["end"]:
                faults.append(RowFault(candidate.row, id_column,
                                       f"该学员已在培训班 {other['code']}（{other['start']:%Y-%m-%d} 至 "
                                       f"{other['end']:%Y-%m-%d}）学习，培训日期重叠"))
            elif (other["occupation"] == cohort["occupation"] and other["level"] == cohort["level"]
                  and other["start"].year == year):
                duplicates.add(candidate.values.id_number)
    return faults, existing, duplicates


async def _active_count(cohort_id: int) -> int:
    return await Enrollment.count().where((Enrollment.cohort == cohort_id) & (Enrollment.status != "withdrawn"))


async def _write(actor: Actor, cohort: dict[str, Any], candidates: list[_Candidate],
                 existing: dict[str, dict[str, Any]], duplicates: set[str], today: date) -> EnrollResult:
    """Create or update the trainees, then insert the enrollments and the duplicate flags."""
    ids: dict[str, int] = {}
    new_rows: list[Trainee] = []
    updated = 0
    for candidate in candidates:
        values = candidate.values.columns()
        person = existing.get(candidate.values.id_number)
        if person is None:
            new_rows.append(Trainee(**values))
            continue
        ids[person["id_number"]] = person["id"]
        changes = {k: v for k, v in values.items()
                   if k not in {"id_number", "sex", "birth_date"} and (v or k == "new_graduate") and person[k] != v}
        if changes:
            # Only people whose details changed get an UPDATE; an import of known trainees is mostly none.
            changes["updated_at"] = utcnow()
            await Trainee.update(changes).where(Trainee.id == person["id"])
            updated += 1
    for chunk in _chunks(new_rows):
        for row in await Trainee.insert(*chunk).returning(Trainee.id, Trainee.id_number):
            ids[row["id_number"]] = row["id"]
    enrollment_rows = [
        Enrollment(trainee=ids[c.values.id_number], cohort=cohort["id"], enrolled_on=today, status="enrolled",
                   possible_duplicate=c.values.id_number in duplicates)
        for c in candidates
    ]
    enrollment_ids: list[int] = []
    for chunk in _chunks(enrollment_rows):
        enrollment_ids.extend(r["id"] for r in await Enrollment.insert(*chunk).returning(Enrollment.id))
    if duplicates:
        flags = [
            AnomalyFlag(kind="duplicate_enrollment", city=cohort["city"], institution=cohort["institution"],
                        cohort=cohort["id"], trainee=ids[number],
                        details={"cohort_code": cohort["code"], "occupation": cohort["occupation_name"],
                                 "level": cohort["level"], "year": cohort["planned_start"].year,
                                 "trainee_masked": mask_id_number(number)},
                        dedupe_key=f"duplicate_enrollment:{ids[number]}:{cohort['id']}")
            for number in sorted(duplicates)
        ]
        known = {r["dedupe_key"] for r in await AnomalyFlag.select(AnomalyFlag.dedupe_key).where(
            AnomalyFlag.dedupe_key.is_in([f.dedupe_key for f in flags]))}
        fresh = [f for f in flags if f.dedupe_key not in known]
        for chunk in _chunks(fresh):
            await AnomalyFlag.insert(*chunk)
    return EnrollResult(len(candidates), len(new_rows), updated, len(duplicates), enrollment_ids)


async def enroll_one(actor: Actor, cohort_id: int, data: TraineeInput) -> EnrollResult:
    """Enroll one person, creating the trainee or updating their details."""
    require(actor, "enrollment.write")
    cohort = await cohort_in_scope(actor, cohort_id)
    values = trainees.validate(data)
    today = today_in_china()
    async with db.transaction():
        _check_enrollable(cohort, today)
        if await _active_count(cohort_id) + 1 > cohort["capacity"]:
            raise Conflict(f"培训班已满（容量 {cohort['capacity']} 人）")
        candidates = [_Candidate(1, values)]
        faults, existing, duplicates = await _plan(cohort, candidates, "id_number")
        if faults:
            raise Conflict(faults[0].reason, fields={"id_number": faults[0].reason})
        result = await _write(actor, cohort, candidates, existing, duplicates, today)
        await audit.record(actor, "enrollment.create", "enrollment", result.enrollment_ids[0],
                           after={"cohort": cohort["code"], "trainee": values.name,
                                  "trainee_masked": mask_id_number(values.id_number),
                                  "possible_duplicate": bool(duplicates)},
                           city_code=cohort["city_code"], institution_id=cohort["institution"])
    return result


async def import_list(actor: Actor, cohort_id: int, data: bytes, filename: str = "") -> EnrollResult:
    """Enroll a whole list (xlsx or CSV): all rows or none, every fault as row, column and reason."""
    require(actor, "enrollment.write")
    cohort = await cohort_in_scope(actor, cohort_id)
    table = await asyncio.to_thread(tabular.read_table, data, TRAINEE_COLUMNS, filename, max_rows=MAX_IMPORT_ROWS)
    id_header = "身份证号"
    faults = list(table.faults)
    candidates: list[_Candidate] = []
    seen: dict[str, int] = {}
    for number, record in table.rows:
        identity = record.get("id_number")
        if identity is None or "name" not in record or record.get("name") is None:
            continue
        if identity.number in seen:
            faults.append(RowFault(number, id_header, f"与第 {seen[identity.number]} 行的身份证号重复"))
            continue
        seen[identity.number] = number
        if any(k not in record for k in ("phone", "education", "employer_credit_code", "new_graduate")):
            continue  # a cell of this row failed to parse; its fault is already listed
        candidates.append(_Candidate(number, TraineeValues(
            identity=identity, name=record["name"], phone=record.get("phone") or "",
            education=record.get("education") or "", employer=" ".join((record.get("employer") or "").split()),
            employer_credit_code=record.get("employer_credit_code") or "",
            new_graduate=bool(record.get("new_graduate")),
        )))
    today = today_in_china()
    async with db.transaction():
        _check_enrollable(cohort, today)
        plan_faults, existing, duplicates = await _plan(cohort, candidates, id_header)
        faults.extend(plan_faults)
        room = cohort["capacity"] - await _active_count(cohort_id)
        if len(seen) > room:
            first_over = sorted(seen.values())[max(room, 0)]
            faults.append(RowFault(first_over, "—",
                                   f"超出培训班容量：容量 {cohort['capacity']} 人，还可报名 {max(room, 0)} 人，"
                                   f"文件中有 {len(seen)} 人"))
        if faults:
            faults.sort(key=lambda f: (f.row, f.column))
            raise ImportRejected(faults[:tabular.MAX_FAULTS_REPORTED])
        result = await _write(actor, cohort, candidates, existing, duplicates, today)
        await audit.record(actor, "enrollment.import", "cohort", cohort_id,
                           after={"cohort": cohort["code"], "enrolled": result.enrolled,
                                  "new_trainees": result.new_trainees, "updated_trainees": result.updated_trainees,
                                  "possible_duplicates": result.flagged_duplicates, "file": filename[:100]},
                           city_code=cohort["city_code"], institution_id=cohort["institution"])
    return result


async def withdraw(actor: Actor, enrollment_id: int, reason: str) -> None:
    """Withdraw an enrolled trainee (退出) with a reason; the record stays."""
    require(actor, "enrollment.write")
    row = await restrict(Enrollment.select(
        Enrollment.id, Enrollment.status, Enrollment.cohort, Enrollment.trainee,
        Enrollment.cohort.status.as_alias("cohort_status"), Enrollment.cohort.code.as_alias("cohort_code"),
        Enrollment.cohort.city.code.as_alias("city_code"), Enrollment.cohort.institution.as_alias("institution"),
        Enrollment.trainee.name.as_alias("name"),
    ).where(Enrollment.id == enrollment_id), Enrollment, actor).first()
    if row is None:
        raise NotFound("报名记录不存在，或不在您的管辖范围内")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("请填写退出原因", fields={"reason": "请填写退出原因"})
    if row["status"] != "enrolled":
        raise Conflict("只有在读学员可以办理退出")
    if row["cohort_status"] in {"filed", "accepted"}:
        raise Conflict("培训班已备案，不能再办理退出")
    async with db.transaction():
        updated = await Enrollment.update({
            Enrollment.status: "withdrawn", Enrollment.withdrawn_on: today_in_china(),
            Enrollment.withdraw_reason: reason[:500],
        }).where((Enrollment.id == enrollment_id) & (Enrollment.status == "enrolled")).returning(Enrollment.id)
        if not updated:
            raise Conflict("该学员的报名状态已被他人修改，请刷新后重试")
        await anomalies.detect_for_trainees([row["trainee"]], kinds=("withdrawn_attendance",))
        await audit.record(actor, "enrollment.withdraw", "enrollment", enrollment_id,
                           before={"status": "enrolled"}, after={"status": "withdrawn", "reason": reason[:500],
                                                                "trainee": row["name"]},
                           city_code=row["city_code"], institution_id=row["institution"])


async def list_enrollments(actor: Actor, cohort_id: int, status: str | None = None, *, limit: int | None = None,
                           offset: int = 0) -> list[dict[str, Any]]:
    """The cohort's enrollments with each trainee's details; ID numbers masked (``limit``/``offset``: one page)."""
    await cohort_in_scope(actor, cohort_id)
    query = Enrollment.select(
        Enrollment.id, Enrollment.enrolled_on, Enrollment.status, Enrollment.withdrawn_on,
        Enrollment.withdraw_reason, Enrollment.possible_duplicate, Enrollment.trainee,
        Enrollment.trainee.id_number.as_alias("id_number"), Enrollment.trainee.name.as_alias("name"),
        Enrollment.trainee.sex.as_alias("sex"), Enrollment.trainee.birth_date.as_alias("birth_date"),
        Enrollment.trainee.phone.as_alias("phone"), Enrollment.trainee.education.as_alias("education"),
        Enrollment.trainee.employer.as_alias("employer"), Enrollment.trainee.new_graduate.as_alias("new_graduate"),
    ).where(Enrollment.cohort == cohort_id).order_by(Enrollment.id)
    if status:
        query = query.where(Enrollment.status == status)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return [trainees.public_view(row) for row in await restrict(query, Enrollment, actor)]


async def count_enrollments(actor: Actor, cohort_id: int, status: str | None = None) -> int:
    await cohort_in_scope(actor, cohort_id)
    query = Enrollment.count().where(Enrollment.cohort == cohort_id)
    if status:
        query = query.where(Enrollment.status == status)
    return await restrict(query, Enrollment, actor)


async def template() -> bytes:
    return await asyncio.to_thread(tabular.template_xlsx, "学员名单", TRAINEE_COLUMNS, TEMPLATE_NOTES)


def check_upload(data: bytes) -> None:
    if not data:
        raise BadInput("请选择要上传的文件")
