"""Final completion assessment (结业考核): scheduling, results per trainee, the retake, the import.

The hours rule is the progress service's verdict (``rules.hours`` via ``progress.cohort_progress``);
this module never recomputes eligibility. Results are written in one transaction with the
enrollment outcomes, the cohort's move to ``assessed`` and the audit event.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from training import db
from training.access import Actor, require, restrict
from training.documents import tabular
from training.documents.tabular import Column
from training.errors import BadInput, Conflict, ImportRejected, Invalid, NotFound, RowFault, StaleVersion
from training.rules import assessment as rules
from training.rules.clock import today_in_china, utcnow
from training.rules.identity import mask_id_number
from training.rules.levels import ASSESSMENT_FORMS
from training.services import audit, filings, progress
from training.services.enrollments import cohort_in_scope
from training.services.trainees import parse_yes_no
from training.tables import Assessment, AssessmentResult, Certificate, Cohort, Enrollment

STALE = "该培训班已被他人修改，请刷新后重试"
MAX_IMPORT_ROWS = 20_000

RESULT_COLUMNS = [
    Column("id_number", "身份证号", parse=lambda s: s.strip().upper(), aliases=("身份证号码", "公民身份号码"),
           example="370102199005170010", width=22),
    Column("name", "姓名", required=False, example="张三", width=12),
    Column("theory_score", "理论成绩", required=False, parse=rules.parse_score, example="85", width=12),
    Column("practice_score", "实操成绩", required=False, parse=rules.parse_score, example="78", width=12),
    Column("absent", "是否缺考", required=False, parse=parse_yes_no, aliases=("缺考",), example="否", width=12),
]
TEMPLATE_NOTES = [
    "每行一名学员，按身份证号对应本班学员；姓名列仅供核对",
    "成绩为0到100之间的整数；笔试只填理论成绩，实操考核只填实操成绩，笔试+实操两项都填",
    "缺考的学员在“是否缺考”填“是”，成绩留空",
    "只有达到结业考核学时条件的学员可以录入成绩；任何一行有错，整个文件都不会导入",
]
_FIELD_COLUMN = {"theory_score": "理论成绩", "practice_score": "实操成绩", "absent": "是否缺考",
                 "enrollment": "身份证号"}


# --- reading ------------------------------------------------------------------------------

async def load_cohort(actor: Actor, cohort_id: int) -> dict[str, Any]:
    """The cohort with what assessments need (pass marks, dates, organisations), in scope."""
    return await cohort_in_scope(actor, cohort_id)


def pass_marks(cohort: dict[str, Any]) -> rules.PassMarks:
    return rules.PassMarks(int(cohort.get("pass_mark_theory") or rules.DEFAULT_PASS_MARK),
                           int(cohort.get("pass_mark_practice") or rules.DEFAULT_PASS_MARK))


async def _sittings(cohort_id: int) -> list[dict[str, Any]]:
    return await Assessment.select().where(Assessment.cohort == cohort_id).order_by(Assessment.attempt)


async def list_assessments(actor: Actor, cohort_id: int) -> list[dict[str, Any]]:
    await load_cohort(actor, cohort_id)
    out = []
    for sitting in await _sittings(cohort_id):
        results = await AssessmentResult.select(AssessmentResult.passed, AssessmentResult.absent).where(
            AssessmentResult.assessment == sitting["id"])
        out.append({**sitting, "recorded": len(results), "passed": sum(1 for r in results if r["passed"]),
                    "absent": sum(1 for r in results if r["absent"])})
    return out


async def _load_sitting(actor: Actor, assessment_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    row = await restrict(Assessment.select().where(Assessment.id == assessment_id), Assessment, actor).first()
    if row is None:
        raise NotFound("考核不存在，或不在您的管辖范围内")
    return row, await load_cohort(actor, row["cohort"])


@dataclass(slots=True)
class GridRow:
    enrollment_id: int
    trainee_id: int
    name: str
    id_masked: str
    status: str
    eligible: bool
    reasons: list[str]
    recordable: bool
    note: str
    result_id: int | None = None
    theory_score: int | None = None
    practice_score: int | None = None
    absent: bool = False
    passed: bool | None = None
    certificate_number: str | None = None


@dataclass(slots=True)
class Grid:
    assessment: dict[str, Any]
    cohort: dict[str, Any]
    marks: rules.PassMarks
    rows: list[GridRow]
    read_only: bool
    read_only_reason: str
    scores: tuple[str, ...] = field(default_factory=tuple)

    @property
    def summary(self) -> dict[str, int]:
        recorded = [r for r in self.rows if r.result_id is not None]
        return {"rows": len(self.rows), "recorded": len(recorded),
                "passed": sum(1 for r in recorded if r.passed), "absent": sum(1 for r in recorded if r.absent),
                "failed": sum(1 for r in recorded if not r.passed and not r.absent),
                "ineligible": sum(1 for r in self.rows if not r.recordable)}


async def _enrollments(cohort_id: int) -> list[dict[str, Any]]:
    return await Enrollment.select(
        Enrollment.id, Enrollment.status, Enrollment.trainee.id.as_alias("trainee_id"),
        Enrollment.trainee.name.as_alias("name"), Enrollment.trainee.id_number.as_alias("id_number"),
    ).where(Enrollment.cohort == cohort_id).order_by(Enrollment.id)


async def _results(assessment_id: int) -> dict[int, dict[str, Any]]:
    rows = await AssessmentResult.select().where(AssessmentResult.assessment == assessment_id)
    return {r["enrollment"]: r for r in rows}


async def _certified(cohort_id: int) -> dict[int, dict[str, Any]]:
    rows = await Certificate.select(Certificate.enrollment, Certificate.result, Certificate.number).where(
        Certificate.cohort == cohort_id)
    return {r["enrollment"]: r for r in rows}


def _read_only_reason(cohort: dict[str, Any], sitting: dict[str, Any], sittings: list[dict[str, Any]]) -> str:
    refusal = rules.recording_refusal(cohort["status"])
    if refusal:
        return refusal
    if sitting["assessment_date"] > today_in_china():
        return f"考核日期（{sitting['assessment_date'].isoformat()}）未到，届时才能录入成绩"
    if sitting["attempt"] == 1 and len(sittings) > 1:
        return "已安排补考，首次考核成绩不能再修改"
    return ""


async def get_grid(actor: Actor, assessment_id: int) -> Grid:
    """The results grid of one sitting: who may get a result, and the results recorded."""
    sitting, cohort = await _load_sitting(actor, assessment_id)
    return await _grid(actor, sitting, cohort)


async def _grid(actor: Actor, sitting: dict[str, Any], cohort: dict[str, Any]) -> Grid:
    sittings = await _sittings(cohort["id"])
    verdicts = {t.enrollment_id: t for t in (await progress.cohort_progress(actor, cohort["id"])).trainees}
    results = await _results(sitting["id"])
    first = await _results(sittings[0]["id"]) if sitting["attempt"] > 1 else {}
    certified = await _certified(cohort["id"])
    rows: list[GridRow] = []
    for person in await _enrollments(cohort["id"]):
        eid = person["id"]
        if sitting["attempt"] > 1 and not rules.retake_candidate(first.get(eid)) and eid not in results:
            continue
        verdict = verdicts.get(eid)
        eligible = bool(verdict and verdict.eligibility.eligible)
        reasons = list(verdict.eligibility.reasons) if verdict else []
        note = ""
        if person["status"] == "withdrawn":
            note = "已退出培训"
        elif not eligible:
            note = "未达到结业考核条件：" + "；".join(reasons)
        row = GridRow(eid, person["trainee_id"], person["name"], mask_id_number(person["id_number"]),
                      person["status"], eligible, reasons, recordable=not note, note=note)
        result = results.get(eid)
        if result is not None:
            row.result_id, row.theory_score, row.practice_score = result["id"], result["theory_score"], \
                result["practice_score"]
            row.absent, row.passed = bool(result["absent"]), bool(result["passed"])
            cert = certified.get(eid)
            if cert and cert["result"] == result["id"]:
                row.certificate_number = cert["number"]
        rows.append(row)
    reason = _read_only_reason(cohort, sitting, sittings)
    return Grid(sitting, cohort, pass_marks(cohort), rows, read_only=bool(reason), read_only_reason=reason,
                scores=rules.scores_of(sitting["form"]))


@dataclass(slots=True)
class Board:
    """Everything the assessment page shows: the cohort, its sittings and their grids."""

    cohort: dict[str, Any]
    marks: rules.PassMarks
    grids: list[Grid]
    schedule_refusal: str | None
    retake_refusal: str | None
    needs_ending: bool


async def board(actor: Actor, cohort_id: int) -> Board:
    cohort = await load_cohort(actor, cohort_id)
    sittings = await _sittings(cohort_id)
    grids = [await _grid(actor, s, cohort) for s in sittings]
    today = today_in_china()
    refusal = rules.schedule_refusal(cohort["status"], cohort["planned_end"], today)
    retake = None
    if sittings:
        first = grids[0]
        candidates = sum(1 for r in first.rows if r.result_id is not None and not r.passed)
        retake = refusal or rules.next_attempt_refusal(len(sittings), first.summary["recorded"] > 0, candidates)
    return Board(cohort, pass_marks(cohort), grids, refusal if not sittings else None, retake,
                 rules.needs_ending(cohort["status"], cohort["planned_end"], today))


# --- scheduling ---------------------------------------------------------------------------

async def _move_cohort(actor: Actor, cohort: dict[str, Any], status: str, action: str) -> None:
    rows = await Cohort.update({
        Cohort.status: status, Cohort.lock_version: cohort["lock_version"] + 1, Cohort.updated_at: utcnow(),
    }).where((Cohort.id == cohort["id"]) & (Cohort.lock_version == cohort["lock_version"])).returning(Cohort.id)
    if not rows:
        raise StaleVersion(STALE, fields={"lock_version": "版本已过期"})
    await audit.record(actor, action, "cohort", cohort["id"],
                       before={"status": cohort["status"], "lock_version": cohort["lock_version"]},
                       after={"status": status, "lock_version": cohort["lock_version"] + 1},
                       city_code=cohort["city_code"], institution_id=cohort["institution_id"])
    cohort["status"], cohort["lock_version"] = status, cohort["lock_version"] + 1


async def schedule(actor: Actor, cohort_id: int, assessment_date: date | None, form: str | None) -> dict[str, Any]:
    """Schedule the next sitting: the first assessment once training has ended, then one retake.

    A cohort still marked running whose planned end has passed moves to ``training_ended`` in the
    same transaction (audited)."""
    async with db.transaction():
        cohort = await load_cohort(actor, cohort_id)
        require(actor, "assessment.write")
        today = today_in_china()
        refusal = rules.schedule_refusal(cohort["status"], cohort["planned_end"], today)
        if refusal:
            raise Conflict(refusal, fields={"status": refusal})
        sittings = await _sittings(cohort_id)
        previous = sittings[-1]["assessment_date"] if sittings else None
        if sittings:
            first = await _results(sittings[0]["id"])
            candidates = sum(1 for r in first.values() if rules.retake_candidate(r))
            refusal = rules.next_attempt_refusal(len(sittings), bool(first), candidates)
            if refusal:
                raise Conflict(refusal, fields={"attempt": refusal})
        faults = rules.date_faults(assessment_date, form, cohort["planned_start"], previous)
        if faults:
            raise Invalid("考核安排有误，请按提示修改", fields=faults)
        if rules.needs_ending(cohort["status"], cohort["planned_end"], today):
            await _move_cohort(actor, cohort, "training_ended", "cohort.end_training")
        attempt = len(sittings) + 1
        row = (await Assessment.insert(Assessment(cohort=cohort_id, assessment_date=assessment_date, form=form,
                                                  attempt=attempt)).returning(*Assessment.all_columns()))[0]
        await audit.record(actor, "assessment.schedule", "assessment", row["id"], after={
            "cohort": cohort_id, "attempt": attempt, "assessment_date": assessment_date, "form": form,
        }, city_code=cohort["city_code"], institution_id=cohort["institution_id"])
        await filings.ensure_draft(cohort_id)  # the filing is due 30 days after the first sitting
    return row


async def reschedule(actor: Actor, assessment_id: int, assessment_date: date | None, form: str | None) -> dict[str, Any]:
    """Correct a sitting's date or form while no result has been recorded at it."""
    async with db.transaction():
        sitting, cohort = await _load_sitting(actor, assessment_id)
        require(actor, "assessment.write")
        refusal = rules.recording_refusal(cohort["status"])
        if refusal:
            raise Conflict(refusal)
        if await AssessmentResult.exists().where(AssessmentResult.assessment == assessment_id):
            raise Conflict("已录入成绩的考核不能再修改日期或形式")
        sittings = await _sittings(cohort["id"])
        previous = next((s["assessment_date"] for s in sittings if s["attempt"] == sitting["attempt"] - 1), None)
        later = next((s for s in sittings if s["attempt"] > sitting["attempt"]), None)
        faults = rules.date_faults(assessment_date, form, cohort["planned_start"], previous)
        if later is not None:
            raise Conflict("已安排补考，首次考核不能再修改")
        if faults:
            raise Invalid("考核安排有误，请按提示修改", fields=faults)
        await Assessment.update({Assessment.assessment_date: assessment_date, Assessment.form: form}).where(
            Assessment.id == assessment_id)
        await filings.ensure_draft(cohort["id"])  # a draft's due date follows the first sitting
        await audit.record(actor, "assessment.reschedule", "assessment", assessment_id,
                           before={"assessment_date": sitting["assessment_date"], "form": sitting["form"]},
                           after={"assessment_date": assessment_date, "form": form},
                           city_code=cohort["city_code"], institution_id=cohort["institution_id"])
        sitting.update(assessment_date=assessment_date, form=form)
    return sitting


# --- results ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Fault:
    enrollment_id: int | None
    field: str
    message: str
    conflict: bool = False  # a programme rule the facts break (409), not bad input (422)


def _key(fault: Fault) -> str:
    return fault.field if fault.enrollment_id is None else f"{fault.enrollment_id}.{fault.field}"


def _raise(faults: list[Fault]) -> None:
    if not faults:
        return
    fields: dict[str, str] = {}
    for fault in faults:
        fields.setdefault(_key(fault), fault.message)
    if any(not f.conflict for f in faults):
        raise Invalid(f"成绩有 {len(fields)} 处错误，未保存任何成绩，请按提示修改", fields=fields)
    raise Conflict(f"有 {len(fields)} 名学员不能录入成绩，未保存任何成绩", fields=fields)


def _same(result: dict[str, Any], entry: rules.Entry) -> bool:
    return (result["theory_score"], result["practice_score"], bool(result["absent"])) == (
        entry.theory_score, entry.practice_score, entry.absent)


@dataclass(slots=True)
class SaveSummary:
    assessment_id: int
    inserted: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    passed: int = 0
    cohort_status: str = ""


async def _apply(actor: Actor, assessment_id: int, entries: list[rules.Entry], *, whole_grid: bool,
                 on_faults: Any = _raise) -> SaveSummary:
    """Check every entry against every rule, then write all of them or none (caller's transaction)."""
    sitting, cohort = await _load_sitting(actor, assessment_id)
    require(actor, "assessment.write")
    sittings = await _sittings(cohort["id"])
    reason = _read_only_reason(cohort, sitting, sittings)
    if reason:
        raise Conflict(reason, fields={"status": reason})
    verdicts = {t.enrollment_id: t for t in (await progress.cohort_progress(actor, cohort["id"])).trainees}
    existing = await _results(assessment_id)
    first = await _results(sittings[0]["id"]) if sitting["attempt"] > 1 else {}
    certified = await _certified(cohort["id"])
    form, marks = sitting["form"], pass_marks(cohort)

    faults: list[Fault] = []
    seen: set[int] = set()
    for entry in entries:
        eid = entry.enrollment_id
        if eid in seen:
            faults.append(Fault(eid, "enrollment", "同一学员出现了不止一次"))
            continue
        seen.add(eid)
        verdict = verdicts.get(eid)
        if verdict is None:
            faults.append(Fault(eid, "enrollment", "该学员不在本班"))
            continue
        faults.extend(Fault(eid, name, message) for name, message in rules.entry_faults(entry, form).items())
        current = existing.get(eid)
        if current is not None and _same(current, entry):
            continue
        if current is not None and eid in certified and certified[eid]["result"] == current["id"]:
            faults.append(Fault(eid, "enrollment", f"已发证书（{certified[eid]['number']}），成绩不能修改", True))
            continue
        if entry.blank:
            continue
        if verdict.status == "withdrawn":
            faults.append(Fault(eid, "enrollment", f"{verdict.name}已退出培训，不能录入成绩", True))
        elif not verdict.eligibility.eligible:
            faults.append(Fault(eid, "enrollment", f"{verdict.name}未达到结业考核条件："
                                + "；".join(verdict.eligibility.reasons), True))
        elif sitting["attempt"] > 1 and not rules.retake_candidate(first.get(eid)):
            faults.append(Fault(eid, "enrollment", f"{verdict.name}首次考核已通过或未参加首次考核，不能补考", True))
    removed = [] if not whole_grid else [r for eid, r in existing.items() if eid not in seen]
    for result in removed:
        cert = certified.get(result["enrollment"])
        if cert and cert["result"] == result["id"]:
            faults.append(Fault(result["enrollment"], "enrollment", f"已发证书（{cert['number']}），成绩不能删除", True))
    on_faults(faults)

    summary = SaveSummary(assessment_id)
    now = utcnow()
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    touched: set[int] = set()
    for entry in entries:
        eid = entry.enrollment_id
        current = existing.get(eid)
        if current is not None and _same(current, entry):
            summary.unchanged += 1
            continue
        touched.add(eid)
        if current is not None:
            before[str(eid)] = _snapshot(current)
        if entry.blank:
            if current is not None:
                await AssessmentResult.delete().where(AssessmentResult.id == current["id"])
                summary.removed += 1
            continue
        outcome = rules.passed(entry, form, marks)
        values = {"theory_score": entry.theory_score, "practice_score": entry.practice_score,
                  "absent": entry.absent, "passed": outcome}
        if current is None:
            await AssessmentResult.insert(AssessmentResult(assessment=assessment_id, enrollment=eid,
                                                           recorded_by=actor.user_id, recorded_at=now, **values))
            summary.inserted += 1
        else:
            await AssessmentResult.update({**{getattr(AssessmentResult, k): v for k, v in values.items()},
                                           AssessmentResult.recorded_by: actor.user_id,
                                           AssessmentResult.recorded_at: now}).where(
                AssessmentResult.id == current["id"])
            summary.updated += 1
        after[str(eid)] = values
    for result in removed:
        await AssessmentResult.delete().where(AssessmentResult.id == result["id"])
        before[str(result["enrollment"])] = _snapshot(result)
        touched.add(result["enrollment"])
        summary.removed += 1
    await _settle_enrollments(cohort["id"], touched)
    if touched and cohort["status"] == "training_ended" and summary.inserted + summary.updated:
        await _move_cohort(actor, cohort, "assessed", "cohort.assessed")
    summary.passed = await AssessmentResult.count().where(
        (AssessmentResult.assessment == assessment_id) & (AssessmentResult.passed == True))  # noqa: E712
    summary.cohort_status = cohort["status"]
    if touched:
        await audit.record(actor, "assessment.results", "assessment", assessment_id, before=before, after={
            "attempt": sitting["attempt"], "results": after, "inserted": summary.inserted,
            "updated": summary.updated, "removed": summary.removed,
        }, city_code=cohort["city_code"], institution_id=cohort["institution_id"])
    return summary


def _snapshot(result: dict[str, Any]) -> dict[str, Any]:
    return {k: result[k] for k in ("theory_score", "practice_score", "absent", "passed")}


async def _settle_enrollments(cohort_id: int, enrollment_ids: set[int]) -> None:
    """Each touched enrollment's status from its latest result (withdrawn ones stay withdrawn)."""
    if not enrollment_ids:
        return
    rows = await AssessmentResult.select(
        AssessmentResult.enrollment, AssessmentResult.passed, AssessmentResult.assessment.attempt.as_alias("attempt"),
    ).where(AssessmentResult.enrollment.is_in(list(enrollment_ids)) & (AssessmentResult.assessment.cohort == cohort_id))
    latest: dict[int, dict[str, Any]] = {}
    for row in rows:
        if row["enrollment"] not in latest or row["attempt"] > latest[row["enrollment"]]["attempt"]:
            latest[row["enrollment"]] = row
    by_status: dict[str, list[int]] = {}
    for eid in enrollment_ids:
        row = latest.get(eid)
        status = rules.enrollment_outcome(row["attempt"], bool(row["passed"])) if row else "enrolled"
        by_status.setdefault(status, []).append(eid)
    for status, ids in by_status.items():
        await Enrollment.update({Enrollment.status: status}).where(
            Enrollment.id.is_in(ids) & (Enrollment.status != "withdrawn"))


async def save_results(actor: Actor, assessment_id: int, entries: list[rules.Entry]) -> SaveSummary:
    """Replace the whole grid of a sitting: a trainee left out (or left blank) has no result."""
    async with db.transaction():
        return await _apply(actor, assessment_id, entries, whole_grid=True)


async def import_results(actor: Actor, assessment_id: int, data: bytes, filename: str = "") -> SaveSummary:
    """Results from a spreadsheet (身份证号, 理论成绩, 实操成绩, 是否缺考): all rows or none.

    Only the rows in the file change; every fault is reported as (row, column, reason)."""
    if not data:
        raise BadInput("请选择要上传的文件")
    _, cohort = await _load_sitting(actor, assessment_id)
    require(actor, "assessment.write")
    table = await asyncio.to_thread(tabular.read_table, data, RESULT_COLUMNS, filename, max_rows=MAX_IMPORT_ROWS)
    people = {p["id_number"]: p for p in await _enrollments(cohort["id"])}
    entries: list[rules.Entry] = []
    rows_of: dict[int, int] = {}
    faults = list(table.faults)
    for number, record in table.rows:
        person = people.get(record.get("id_number") or "")
        if person is None:
            if record.get("id_number"):
                faults.append(RowFault(number, "身份证号", "本班没有这名学员"))
            continue
        if person["id"] in rows_of:
            faults.append(RowFault(number, "身份证号", f"与第 {rows_of[person['id']]} 行重复"))
            continue
        name = (record.get("name") or "").strip()
        if name and name != person["name"]:
            faults.append(RowFault(number, "姓名", f"姓名与身份证号不符（本班登记为{person['name']}）"))
        rows_of[person["id"]] = number
        entries.append(rules.Entry(person["id"], record.get("theory_score"), record.get("practice_score"),
                                   bool(record.get("absent"))))
    if faults:
        raise ImportRejected(faults[: tabular.MAX_FAULTS_REPORTED])

    def as_rows(found: list[Fault]) -> None:
        if found:
            raise ImportRejected([RowFault(rows_of.get(f.enrollment_id or 0, 1), _FIELD_COLUMN.get(f.field, f.field),
                                           f.message) for f in found][: tabular.MAX_FAULTS_REPORTED])

    async with db.transaction():
        summary = await _apply(actor, assessment_id, entries, whole_grid=False, on_faults=as_rows)
        await audit.record(actor, "assessment.import", "assessment", assessment_id, after={
            "file": filename[:100], "rows": len(entries), "inserted": summary.inserted, "updated": summary.updated,
        }, city_code=cohort["city_code"], institution_id=cohort["institution_id"])
    return summary


async def results_template() -> bytes:
    return await asyncio.to_thread(tabular.template_xlsx, "考核成绩", RESULT_COLUMNS, TEMPLATE_NOTES)


def form_label(form: str) -> str:
    return ASSESSMENT_FORMS.get(form, form)
