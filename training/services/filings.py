"""Filing (备案): the trainee list and training summary sent to the province and the cohort's city
within 30 days of the end of training, their answers, and the department views of who is late.

Life of a filing. A draft (version 1) exists for every cohort once its first assessment is
scheduled (``ensure_draft`` from the assessment service; ``ensure_drafts`` from the daily sweep);
its due date is the first assessment date + 30 days (``rules.filing.due_date``). The institution
writes the five narrative sections and submits: both documents are generated, stored
content-addressed, and their digests frozen in ``package_sha256``; the province and the city each
get a pending receipt and a notification; the cohort becomes ``filed`` (attendance and results
are then read-only). Each addressee acknowledges (备案完成) or returns it with a comment. Both
acknowledged → the filing is ``acknowledged`` and the cohort ``accepted``. Either returns → the
filing is ``returned``, the institution is told, and the next version is opened at once as a
draft (same due date, narrative carried over); attendance is corrected through the amendment flow
and the new version is submitted like the first. Earlier versions stay readable with their files.

Lateness. ``submitted_late`` is judged by the version's own submission date against the one due
date, except that a version submitted after a return is never late: the institution met (or
missed) the deadline with version 1, and a correction the departments asked for is not a new
deadline. Version 1 submitted late stays marked late for good.

``package_sha256`` = SHA-256 of the text ``"<report sha256>\\n<trainees sha256>\\n"`` (the two stored
files' digests, report first), so anyone holding the two files can recompute it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from training import db
from training.access import Actor, require, restrict
from training.errors import Conflict, Invalid, NotFound, StaleVersion
from training.rules import filing as rules
from training.rules.clock import to_local, today_in_china, utcnow
from training.rules.hours import Hours
from training.rules.identity import mask_id_number
from training.rules.levels import CLASS_TYPES, ENROLLMENT_STATUSES, LEVELS, TARGET_GROUPS
from training.services import audit, progress, storage
from training.services.enrollments import cohort_in_scope
from training.services.notifications import notify
from training.tables import (
    Assessment,
    AssessmentResult,
    AttendanceAmendment,
    Certificate,
    Cohort,
    Enrollment,
    Filing,
    FilingReceipt,
    Institution,
    TrainingSession,
)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STALE = "备案材料已在您打开后被修改"
MODES, KINDS = ("offline", "online"), ("theory", "practice")
# Cohort statuses from which a (first) filing may be submitted.
SUBMITTABLE_COHORT = frozenset({"assessed", "filed"})
DUE_SOON_DAYS = 7
STATES = {
    "due": "待报送",
    "due_soon": "即将到期",
    "overdue": "逾期未报",
    "submitted": "待备案",
    "late": "逾期提交",
    "returned": "已退回",
    "acknowledged": "备案完成",
}
FILTERS = {
    "awaiting": "待我备案",
    "due_soon": "即将到期",
    "overdue": "逾期未报",
    "late": "逾期提交",
    "returned": "已退回",
    "acknowledged": "备案完成",
    "all": "全部",
}


def _as_date(value: Any) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value)[:10])


def _as_json(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return json.loads(value or "{}")
    return dict(value or {})


def package_digest(report_sha256: str, trainees_sha256: str) -> str:
    """The package's digest over its two files' digests (see the module docstring)."""
    return hashlib.sha256(f"{report_sha256}\n{trainees_sha256}\n".encode("ascii")).hexdigest()


# --- drafts ---------------------------------------------------------------------------------

def _due_sql() -> str:
    return "a.assessment_date + 30" if db.is_postgres() else "date(a.assessment_date, '+30 days')"


async def ensure_drafts() -> int:
    """Version-1 drafts for every cohort with a first assessment and no filing yet (idempotent).

    One ``INSERT … SELECT``; the unique (cohort, version_number) index makes a concurrent run harmless.
    """
    rows = await Filing.raw(
        "INSERT INTO filing (cohort, version_number, status, due_date, narrative, submitted_late, package_sha256, "
        f"lock_version, created_at) SELECT a.cohort, 1, 'draft', {_due_sql()}, {{}}, {{}}, '', 1, {{}} "
        "FROM assessment a JOIN cohort c ON c.id = a.cohort WHERE a.attempt = 1 "
        "AND c.status NOT IN ('cancelled', 'rejected') "
        "AND NOT EXISTS (SELECT 1 FROM filing f WHERE f.cohort = a.cohort) "
        "ON CONFLICT (cohort, version_number) DO NOTHING RETURNING id",
        "{}", False, utcnow())
    return len(rows)


async def ensure_draft(cohort_id: int) -> None:
    """The cohort's version-1 draft, due 30 days after its first assessment (caller's transaction).

    Called when an assessment is scheduled or rescheduled: while version 1 is still a draft its
    due date follows the first sitting's date."""
    first = await Assessment.select(Assessment.assessment_date).where(
        (Assessment.cohort == cohort_id) & (Assessment.attempt == 1)).first()
    if first is None:
        return
    due = rules.due_date(_as_date(first["assessment_date"]))
    await Filing.raw(
        "INSERT INTO filing (cohort, version_number, status, due_date, narrative, submitted_late, package_sha256, "
        "lock_version, created_at) VALUES ({}, 1, 'draft', {}, {}, {}, '', 1, {}) "
        "ON CONFLICT (cohort, version_number) DO NOTHING", cohort_id, due, "{}", False, utcnow())
    await Filing.update({Filing.due_date: due}).where(
        (Filing.cohort == cohort_id) & (Filing.version_number == 1) & (Filing.status == "draft")
        & (Filing.due_date != due))


# --- the package ----------------------------------------------------------------------------

async def _first_and_retake(cohort_id: int) -> list[dict[str, Any]]:
    return await Assessment.select().where(Assessment.cohort == cohort_id).order_by(Assessment.attempt)


async def _hours_rows(cohort_id: int, today: date) -> list[rules.HoursRow]:
    """Planned = every scheduled session; delivered = sessions held (on or before today, with
    attendance recorded). One aggregate query."""
    found: dict[tuple[str, str], tuple[float, float]] = {}
    for row in await TrainingSession.raw(
            "SELECT s.mode AS mode, s.kind AS kind, SUM(s.class_hours) AS planned, "
            "SUM(CASE WHEN s.session_date <= {} AND (s.roll_saved_at IS NOT NULL OR EXISTS "
            "(SELECT 1 FROM attendance a WHERE a.session = s.id)) THEN s.class_hours ELSE 0 END) AS delivered "
            "FROM training_session s WHERE s.cohort = {} GROUP BY s.mode, s.kind", today, cohort_id):
        found[(row["mode"], row["kind"])] = (float(row["planned"] or 0), float(row["delivered"] or 0))
    return [rules.HoursRow(mode, kind, *found.get((mode, kind), (0.0, 0.0))) for mode in MODES for kind in KINDS]


async def _teachers(cohort_id: int) -> list[rules.Teacher]:
    rows = await TrainingSession.raw(
        "SELECT teacher, COUNT(*) AS sessions, SUM(class_hours) AS hours FROM training_session "
        "WHERE cohort = {} AND teacher <> '' GROUP BY teacher ORDER BY SUM(class_hours) DESC, teacher", cohort_id)
    return [rules.Teacher(r["teacher"], int(r["sessions"]), float(r["hours"] or 0)) for r in rows]


async def _latest_results(cohort_id: int) -> dict[int, dict[str, Any]]:
    """Each enrollment's result at its latest sitting (one query for the whole cohort)."""
    rows = await AssessmentResult.select(
        AssessmentResult.enrollment, AssessmentResult.theory_score, AssessmentResult.practice_score,
        AssessmentResult.absent, AssessmentResult.passed, AssessmentResult.assessment.attempt.as_alias("attempt"),
    ).where(AssessmentResult.assessment.cohort == cohort_id)
    latest: dict[int, dict[str, Any]] = {}
    for row in rows:
        if row["enrollment"] not in latest or row["attempt"] > latest[row["enrollment"]]["attempt"]:
            latest[row["enrollment"]] = row
    return latest


def _result_label(result: dict[str, Any] | None) -> str:
    if result is None:
        return "未参加考核"
    if result["absent"]:
        return "缺考"
    return "合格" if result["passed"] else "不合格"


def _fmt_hours(value: float) -> str:
    return f"{value:g}"


def _cn_date(day: date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


async def _cohort_facts(cohort_id: int) -> dict[str, Any]:
    row = await Cohort.select(
        Cohort.class_type, Cohort.partner_name, Cohort.partner_credit_code, Cohort.direction, Cohort.plan_line,
        Cohort.institution.credit_code.as_alias("institution_credit_code"),
        Cohort.plan_line.plan.year.as_alias("plan_year"),
        Cohort.plan_line.plan.title.as_alias("plan_title"),
        Cohort.plan_line.target_group.as_alias("target_group"),
        Cohort.plan_line.target_headcount.as_alias("target_headcount"),
    ).where(Cohort.id == cohort_id).first()
    return row or {}


@dataclass(slots=True)
class Loaded:
    """A package and the filing it belongs to (``filing`` is None before any draft exists)."""

    package: rules.FilingPackage
    cohort: dict[str, Any]
    filing: dict[str, Any] | None


async def _package(actor: Actor, cohort_id: int, *, whole_ids: bool, today: date | None = None,
                   filing: dict[str, Any] | None = None, narrative: dict[str, str] | None = None) -> Loaded:
    today = today or today_in_china()
    report = await progress.cohort_progress(actor, cohort_id)  # scope check and the eligibility verdicts
    cohort = report.cohort
    if filing is None:
        filing = await _latest(cohort_id)
    extra = await _cohort_facts(cohort_id)
    sittings = await _first_and_retake(cohort_id)
    first_day = _as_date(sittings[0]["assessment_date"]) if sittings else None
    due = _as_date(filing["due_date"]) if filing else (rules.due_date(first_day) if first_day else None)
    people = await Enrollment.select(
        Enrollment.id, Enrollment.status, Enrollment.trainee.name.as_alias("name"),
        Enrollment.trainee.id_number.as_alias("id_number"), Enrollment.trainee.sex.as_alias("sex"),
        Enrollment.trainee.phone.as_alias("phone"), Enrollment.trainee.education.as_alias("education"),
        Enrollment.trainee.employer.as_alias("employer"),
    ).where(Enrollment.cohort == cohort_id).order_by(Enrollment.id)
    verdicts = {t.enrollment_id: t for t in report.trainees}
    results = await _latest_results(cohort_id)
    certificates = {r["enrollment"]: r["number"] for r in await Certificate.select(
        Certificate.enrollment, Certificate.number).where(
        (Certificate.cohort == cohort_id) & (Certificate.status == "valid"))}
    lines: list[rules.TraineeLine] = []
    for seq, person in enumerate(people, start=1):
        verdict = verdicts.get(person["id"])
        hours = verdict.hours if verdict else Hours()
        result = results.get(person["id"])
        lines.append(rules.TraineeLine(
            seq=seq, name=person["name"],
            id_number=person["id_number"] if whole_ids else mask_id_number(person["id_number"]),
            sex={"M": "男", "F": "女"}.get(person["sex"], person["sex"] or ""), phone=person["phone"] or "",
            education=person["education"] or "", employer=person["employer"] or "",
            enrollment_status=ENROLLMENT_STATUSES.get(person["status"], person["status"]), hours=hours,
            counted_hours=verdict.eligibility.countable_total if verdict else 0.0,
            theory_score=result["theory_score"] if result and not result["absent"] else None,
            practice_score=result["practice_score"] if result and not result["absent"] else None,
            result=_result_label(result), certificate_number=certificates.get(person["id"], ""),
        ))
    counts = rules.Counts(
        enrolled=len(people), withdrawn=sum(1 for p in people if p["status"] == "withdrawn"),
        eligible=report.eligible_count,
        assessed=sum(1 for r in results.values() if not r["absent"]),
        passed=sum(1 for r in results.values() if r["passed"]),
        certified=len(certificates),
    )
    req = report.requirement
    note = (f"总学时≥{_fmt_hours(req.required_hours)}，实操≥{_fmt_hours(req.min_practice_hours)}，"
            f"线上≤{round(req.max_online_share * 100)}%" + ("（示例值）" if report.illustrative else ""))
    partner = extra.get("partner_name") or ""
    if partner and extra.get("partner_credit_code"):
        partner += f"（{extra['partner_credit_code']}）"
    plan = ""
    if extra.get("plan_line"):
        plan = (f"{extra.get('plan_year')}年度 {extra.get('plan_title') or ''} · "
                f"{TARGET_GROUPS.get(extra.get('target_group') or '', extra.get('target_group') or '')} · "
                f"计划{extra.get('target_headcount')}人").replace("  ", " ")
    assessed_on = "；".join(
        f"{'首次考核' if s['attempt'] == 1 else '补考'} {_cn_date(_as_date(s['assessment_date']))}" for s in sittings)
    facts = [
        ("培训班编号", cohort["code"]),
        ("培训班名称", cohort["name"]),
        ("培训机构", f"{cohort['institution_name']}（统一社会信用代码 {extra.get('institution_credit_code', '')}）"),
        ("所在城市", cohort["city_name"]),
        ("职业（工种）", cohort["occupation_name"] + (f" · {extra['direction']}" if extra.get("direction") else "")),
        ("等级", LEVELS.get(cohort["level"], cohort["level"])),
        ("班级类型", CLASS_TYPES.get(extra.get("class_type") or "", extra.get("class_type") or "")),
        ("合作企业", partner or "无"),
        ("计划培训日期", f"{_cn_date(cohort['planned_start'])}至{_cn_date(cohort['planned_end'])}"),
        ("计划人数", str(cohort["capacity"])),
        ("年度培训计划", plan or "未关联"),
        ("执行标准", f"{cohort['standard_label']}（{note}）"),
        ("结业考核", assessed_on or "未安排"),
        ("备案截止日期", _cn_date(due)),
    ]
    if narrative is None:
        narrative = {k: str(v) for k, v in _as_json(filing["narrative"] if filing else {}).items()}
    package = rules.FilingPackage(
        cohort_id=cohort_id, version_number=filing["version_number"] if filing else 1,
        title=f"{cohort['name']}培训情况备案材料",
        addressees=[rules.PROVINCE_DEPARTMENT, rules.city_bureau(cohort["city_name"])],
        institution_name=cohort["institution_name"],
        institution_credit_code=extra.get("institution_credit_code", ""), city_name=cohort["city_name"],
        facts=facts, hours=await _hours_rows(cohort_id, today), counts=counts,
        teachers=await _teachers(cohort_id),
        narrative={key: narrative.get(key, "") for key in rules.NARRATIVE_SECTIONS},
        trainees=lines, due_date=due or today, generated_on=today, requirement_note=note,
        extra={"cohort_code": cohort["code"], "occupation": cohort["occupation_name"],
               "level": LEVELS.get(cohort["level"], cohort["level"])},
    )
    return Loaded(package, cohort, filing)


async def load_package(actor: Actor, cohort_id: int, *, today: date | None = None,
                       whole_ids: bool = True) -> rules.FilingPackage:
    """The cohort's filing package as it stands now. With ``whole_ids`` (the documents) the full ID
    numbers are loaded and the display is audited (``filing.reveal_ids``)."""
    loaded = await _package(actor, cohort_id, whole_ids=whole_ids, today=today)
    if whole_ids:
        async with db.transaction():
            await _audit_reveal(actor, loaded, "package")
    return loaded.package


async def _audit_reveal(actor: Actor, loaded: Loaded, purpose: str) -> None:
    await audit.record(actor, "filing.reveal_ids", "cohort", loaded.cohort["id"], after={
        "purpose": purpose, "trainees": len(loaded.package.trainees),
        "version": loaded.package.version_number,
    }, city_code=loaded.cohort["city_code"], institution_id=loaded.cohort["institution_id"])


async def build_documents(package: rules.FilingPackage) -> tuple[bytes, bytes]:
    """The Word report and the xlsx trainee list, built off the event loop."""
    from training.documents.filing_report import build_report_docx
    from training.documents.filing_trainees import build_trainees_xlsx

    report, trainees = await asyncio.gather(asyncio.to_thread(build_report_docx, package),
                                            asyncio.to_thread(build_trainees_xlsx, package))
    return report, trainees


# --- reading filings ------------------------------------------------------------------------

async def _latest(cohort_id: int) -> dict[str, Any] | None:
    return await Filing.select().where(Filing.cohort == cohort_id).order_by(
        Filing.version_number, ascending=False).first()


async def _versions(cohort_id: int) -> list[dict[str, Any]]:
    filings = await Filing.select(
        Filing.all_columns(), Filing.submitted_by.display_name.as_alias("submitted_by_name"),
        Filing.report_file.sha256.as_alias("report_sha256"), Filing.trainees_file.sha256.as_alias("trainees_sha256"),
    ).where(Filing.cohort == cohort_id).order_by(Filing.version_number, ascending=False)
    ids = [f["id"] for f in filings]
    receipts: dict[int, list[dict[str, Any]]] = {}
    if ids:
        for r in await FilingReceipt.select(
                FilingReceipt.all_columns(), FilingReceipt.decided_by.display_name.as_alias("decided_by_name"),
                FilingReceipt.city.name.as_alias("city_name"),
        ).where(FilingReceipt.filing.is_in(ids)).order_by(FilingReceipt.id):
            r["addressee_name"] = (rules.PROVINCE_DEPARTMENT if r["addressee"] == "province"
                                   else rules.city_bureau(r["city_name"] or ""))
            r["status_label"] = rules.RECEIPT_STATUSES.get(r["status"], r["status"])
            receipts.setdefault(r["filing"], []).append(r)
    for f in filings:
        f["narrative"] = _as_json(f["narrative"])
        f["receipts"] = sorted(receipts.get(f["id"], []), key=lambda r: r["addressee"] != "province")
        f["status_label"] = rules.FILING_STATUSES.get(f["status"], f["status"])
        f["due_date"] = _as_date(f["due_date"])
        f["submitted_local"] = to_local(f["submitted_at"])
    return filings


@dataclass(slots=True)
class CohortFiling:
    """What the cohort's 备案 tab and ``GET /api/v1/cohorts/{id}/filing`` show."""

    cohort: dict[str, Any]
    current: dict[str, Any] | None
    versions: list[dict[str, Any]]
    due_date: date | None
    days_left: int | None
    state: str
    counts: rules.Counts
    editable: bool
    submit_refusal: str | None
    today: date
    amendments_pending: int = 0
    package: rules.FilingPackage | None = None  # the summary as it stands (masked IDs), for the preview


def _state(filing: dict[str, Any] | None, due: date | None, today: date) -> str:
    """One of STATES for a cohort's latest filing (or its absence)."""
    if filing is None or filing["status"] == "draft":
        if filing is not None and filing["version_number"] > 1:
            return "returned"  # a correction in progress after a return
        if due is None:
            return "due"
        left = rules.days_left(due, today)
        if left < 0:
            return "overdue"
        return "due_soon" if left <= DUE_SOON_DAYS else "due"
    if filing["status"] == "submitted":
        return "late" if filing["submitted_late"] else "submitted"
    return filing["status"]


def _submit_refusal(cohort: dict[str, Any], versions: list[dict[str, Any]]) -> str | None:
    current = versions[0] if versions else None
    if current is None:
        return "培训班尚未安排结业考核，还没有备案材料"
    if current["status"] in ("submitted", "acknowledged"):
        return f"第{current['version_number']}版已报送，不能重复报送" if current["status"] == "submitted" \
            else "备案已完成，不能再报送"
    returned_before = any(v["status"] == "returned" for v in versions[1:])
    if cohort["status"] == "assessed" and current["version_number"] == 1:
        return None
    if cohort["status"] == "filed" and returned_before:
        return None
    return "培训班尚未完成结业考核（录入考核成绩后才能报送备案）"


async def cohort_filing(actor: Actor, cohort_id: int, *, today: date | None = None) -> CohortFiling:
    today = today or today_in_china()
    loaded = await _package(actor, cohort_id, whole_ids=False, today=today)
    cohort = loaded.cohort
    versions = await _versions(cohort_id)
    current = versions[0] if versions else None
    due = current["due_date"] if current else None
    state = _state(current, due, today)
    refusal = _submit_refusal(cohort, versions)
    editable = bool(current and current["status"] == "draft")
    pending = await AttendanceAmendment.count().where(
        (AttendanceAmendment.cohort == cohort_id) & AttendanceAmendment.filed_in_version.is_null())
    return CohortFiling(cohort=cohort, current=current, versions=versions, due_date=due,
                        days_left=rules.days_left(due, today) if due and editable else None, state=state,
                        counts=loaded.package.counts, editable=editable, submit_refusal=refusal, today=today,
                        amendments_pending=pending, package=loaded.package)


async def preview_package(actor: Actor, cohort_id: int, narrative: dict[str, str] | None = None,
                          *, today: date | None = None) -> rules.FilingPackage:
    """The summary for the live preview: masked IDs (nothing revealed, nothing audited), and the
    narrative as typed (not yet saved) when given."""
    loaded = await _package(actor, cohort_id, whole_ids=False, today=today,
                            narrative=_clean_narrative(narrative) if narrative is not None else None)
    return loaded.package


# --- narrative --------------------------------------------------------------------------------

def _clean_narrative(values: dict[str, Any]) -> dict[str, str]:
    return {key: str(values.get(key) or "").replace("\r\n", "\n").strip() for key in rules.NARRATIVE_SECTIONS}


def _narrative_faults(narrative: dict[str, str], *, required: bool) -> dict[str, str]:
    faults = {}
    for key, label in rules.NARRATIVE_SECTIONS.items():
        text = narrative.get(key, "")
        if len(text) > rules.NARRATIVE_MAX_CHARS:
            faults[key] = f"“{label}”不能超过{rules.NARRATIVE_MAX_CHARS}字（现有{len(text)}字）"
        elif required and not text:
            faults[key] = f"请填写“{label}”"
    return faults


async def _institution_cohort(actor: Actor, cohort_id: int) -> dict[str, Any]:
    cohort = await cohort_in_scope(actor, cohort_id)
    require(actor, "filing.write")
    return cohort


async def save_narrative(actor: Actor, cohort_id: int, values: dict[str, Any], lock_version: int | None
                         ) -> dict[str, Any]:
    """Save the five narrative sections of the current draft; ``lock_version`` is what the editor read."""
    narrative = _clean_narrative(values)
    faults = _narrative_faults(narrative, required=False)
    if faults:
        raise Invalid("备案说明有误，请按提示修改", fields=faults)
    async with db.transaction():
        cohort = await _institution_cohort(actor, cohort_id)
        await ensure_draft(cohort_id)
        current = await _latest(cohort_id)
        if current is None:
            raise Conflict("培训班尚未安排结业考核，还不能填写备案材料")
        if current["status"] != "draft":
            raise Conflict(f"第{current['version_number']}版已报送（{rules.FILING_STATUSES[current['status']]}），"
                           "不能再修改")
        stored = _as_json(current["narrative"])
        if lock_version is not None and lock_version != current["lock_version"]:
            changed = [rules.NARRATIVE_SECTIONS[k] for k in rules.NARRATIVE_SECTIONS
                       if stored.get(k, "") != narrative.get(k, "")]
            raise StaleVersion(
                f"{STALE}（当前为第{current['lock_version']}次保存"
                + (f"，与您的内容不同的部分：{'、'.join(changed)}" if changed else "") + "），请刷新后重试",
                fields={"lock_version": "版本已过期", **{k: "已被他人修改" for k in rules.NARRATIVE_SECTIONS
                                                    if stored.get(k, "") != narrative.get(k, "")}})
        rows = await Filing.update({Filing.narrative: json.dumps(narrative, ensure_ascii=False),
                                   Filing.lock_version: current["lock_version"] + 1}).where(
            (Filing.id == current["id"]) & (Filing.lock_version == current["lock_version"])).returning(Filing.id)
        if not rows:
            raise StaleVersion(STALE + "，请刷新后重试", fields={"lock_version": "版本已过期"})
        await audit.record(actor, "filing.narrative", "filing", current["id"],
                           before={k: len(stored.get(k, "")) for k in rules.NARRATIVE_SECTIONS},
                           after={"lock_version": current["lock_version"] + 1,
                                  **{k: len(v) for k, v in narrative.items()}},
                           city_code=cohort["city_code"], institution_id=cohort["institution_id"])
    return await _latest(cohort_id) or {}


# --- submit -----------------------------------------------------------------------------------

@dataclass(slots=True)
class Submitted:
    filing_id: int
    version_number: int
    package_sha256: str
    late: bool


async def submit(actor: Actor, cohort_id: int, lock_version: int | None = None, *,
                 today: date | None = None) -> Submitted:
    """Freeze the current draft: generate and store both documents, send to the province and city.

    The documents are generated and stored *before* the transaction opens: a crash, a refusal
    found inside the transaction or a lost race leaves only unreferenced content-addressed files
    (harmless, de-duplicated), never a half-filed row. Everything in the database — the filing,
    its receipts, the cohort's move to ``filed``, the notifications and the audit event — is
    written in one transaction after checking again that nothing moved meanwhile.
    """
    cohort = await _institution_cohort(actor, cohort_id)
    versions = await _versions(cohort_id)
    refusal = _submit_refusal(cohort, versions)
    if refusal:
        raise Conflict(refusal, fields={"status": refusal})
    current = versions[0]
    if lock_version is not None and lock_version != current["lock_version"]:
        raise StaleVersion(STALE + "，请刷新后再报送", fields={"lock_version": "版本已过期"})
    faults = _narrative_faults({k: str(v) for k, v in current["narrative"].items()}, required=True)
    if faults:
        raise Invalid("备案说明尚未填写完整，请补全后再报送", fields=faults)
    loaded = await _package(actor, cohort_id, whole_ids=True, today=today, filing=current)
    report, trainees = await build_documents(loaded.package)
    report_id = await storage.store(report, DOCX, f"filing-{current['id']}-report.docx")
    trainees_id = await storage.store(trainees, XLSX, f"filing-{current['id']}-trainees.xlsx")
    report_sha, trainees_sha = storage.digest(report), storage.digest(trainees)
    package_sha = package_digest(report_sha, trainees_sha)
    now = utcnow()
    day = today or today_in_china()
    first_submission = current["version_number"] == 1
    late = first_submission and day > current["due_date"]
    async with db.transaction():
        rows = await Filing.update({
            Filing.status: "submitted", Filing.submitted_at: now, Filing.submitted_by: actor.user_id,
            Filing.submitted_late: late, Filing.report_file: report_id, Filing.trainees_file: trainees_id,
            Filing.package_sha256: package_sha, Filing.lock_version: current["lock_version"] + 1,
        }).where((Filing.id == current["id"]) & (Filing.status == "draft")
                 & (Filing.lock_version == current["lock_version"])).returning(Filing.id)
        if not rows:
            latest = await _latest(cohort_id)
            if latest and latest["id"] == current["id"] and latest["status"] != "draft":
                raise Conflict(f"第{current['version_number']}版已报送，不能重复报送")
            raise StaleVersion(STALE + "，请刷新后再报送", fields={"lock_version": "版本已过期"})
        await FilingReceipt.insert(
            FilingReceipt(filing=current["id"], addressee="province", status="pending"),
            FilingReceipt(filing=current["id"], addressee="city", city=cohort["city_id"], status="pending"),
        )
        moved = await Cohort.update({Cohort.status: "filed", Cohort.lock_version: Cohort.lock_version + 1,
                                     Cohort.updated_at: now}).where(
            (Cohort.id == cohort_id) & Cohort.status.is_in(list(SUBMITTABLE_COHORT))).returning(Cohort.id)
        if not moved:
            raise Conflict("培训班状态已变化，请刷新后重试")
        await AttendanceAmendment.update({AttendanceAmendment.filed_in_version: current["version_number"]}).where(
            (AttendanceAmendment.cohort == cohort_id) & AttendanceAmendment.filed_in_version.is_null())
        title = (f"{cohort['institution_name']}报送了{cohort['name']}的备案材料"
                 + (f"（第{current['version_number']}版）" if current["version_number"] > 1 else ""))
        body = f"培训班 {cohort['code']}，备案截止 {current['due_date'].isoformat()}" + ("，逾期报送" if late else "")
        link = f"/filings/{current['id']}"
        await notify(recipient_role="province", kind="filing_submitted", title=title, body=body, link=link,
                     dedupe_key=f"filing-submitted:{current['id']}:province")
        await notify(recipient_role="city", city_id=cohort["city_id"], kind="filing_submitted", title=title,
                     body=body, link=link, dedupe_key=f"filing-submitted:{current['id']}:city")
        if cohort["status"] != "filed":
            await audit.record(actor, "cohort.filed", "cohort", cohort_id,
                               before={"status": cohort["status"]}, after={"status": "filed"},
                               city_code=cohort["city_code"], institution_id=cohort["institution_id"])
        await audit.record(actor, "filing.submit", "filing", current["id"], before={"status": "draft"}, after={
            "status": "submitted", "version": current["version_number"], "late": late,
            "package_sha256": package_sha, "report_sha256": report_sha, "trainees_sha256": trainees_sha,
            "trainees": len(loaded.package.trainees), "whole_ids_in_package": len(loaded.package.trainees),
        }, city_code=cohort["city_code"], institution_id=cohort["institution_id"])
    return Submitted(current["id"], current["version_number"], package_sha, late)


# --- the departments' answer ----------------------------------------------------------------

async def _filing_in_scope(actor: Actor, filing_id: int) -> dict[str, Any]:
    row = await restrict(Filing.select(
        Filing.all_columns(), Filing.cohort.city.as_alias("city_id"), Filing.cohort.city.code.as_alias("city_code"),
        Filing.cohort.institution.as_alias("institution_id"), Filing.cohort.name.as_alias("cohort_name"),
        Filing.cohort.code.as_alias("cohort_code"), Filing.cohort.status.as_alias("cohort_status"),
    ).where(Filing.id == filing_id), Filing, actor).first()
    if row is None:
        raise NotFound("备案材料不存在，或不在您的管辖范围内")
    row["due_date"] = _as_date(row["due_date"])
    return row


async def decide(actor: Actor, filing_id: int, action: str, comment: str = "") -> dict[str, Any]:
    """Acknowledge (备案完成) or return with a comment, as the province or the cohort's city."""
    if action not in ("acknowledge", "return"):
        raise ValueError(action)
    comment = (comment or "").strip()
    addressee = "province" if actor.is_province else "city"
    async with db.transaction():
        if db.is_postgres():
            # The province and the city answering at the same moment: the second waits here and then
            # sees the first's receipt, so "both acknowledged" is never missed.
            await Filing.raw("SELECT id FROM filing WHERE id = {} FOR UPDATE", filing_id)
        filing = await _filing_in_scope(actor, filing_id)
        require(actor, "filing.decide")
        if action == "return" and not comment:
            raise Invalid("退回时请填写退回意见", fields={"comment": "请填写退回意见"})
        if len(comment) > rules.NARRATIVE_MAX_CHARS:
            raise Invalid("意见过长", fields={"comment": f"不能超过{rules.NARRATIVE_MAX_CHARS}字"})
        if filing["status"] != "submitted":
            raise Conflict(f"第{filing['version_number']}版当前为“{rules.FILING_STATUSES[filing['status']]}”，"
                           "不能再处理")
        receipt = await FilingReceipt.select().where(
            (FilingReceipt.filing == filing_id) & (FilingReceipt.addressee == addressee)).first()
        if receipt is None or receipt["status"] != "pending":
            raise Conflict("您已处理过该版备案材料")
        status = "acknowledged" if action == "acknowledge" else "returned"
        now = utcnow()
        done = await FilingReceipt.update({
            FilingReceipt.status: status, FilingReceipt.comment: comment, FilingReceipt.decided_by: actor.user_id,
            FilingReceipt.decided_at: now,
        }).where((FilingReceipt.id == receipt["id"]) & (FilingReceipt.status == "pending")).returning(
            FilingReceipt.id)
        if not done:
            raise Conflict("您已处理过该版备案材料")
        who = rules.PROVINCE_DEPARTMENT if addressee == "province" else "市人社局"
        new_status = filing["status"]
        if action == "return":
            new_status = "returned"
            await Filing.update({Filing.status: "returned", Filing.lock_version: filing["lock_version"] + 1}).where(
                Filing.id == filing_id)
            # The next version opens at once as a draft, narrative carried over, same due date.
            await Filing.insert(Filing(cohort=filing["cohort"], version_number=filing["version_number"] + 1,
                                       status="draft", due_date=filing["due_date"],
                                       narrative=json.dumps(_as_json(filing["narrative"]), ensure_ascii=False)))
            await notify(recipient_role="institution", institution_id=filing["institution_id"], kind="filing_returned",
                         title=f"{filing['cohort_name']}的备案材料（第{filing['version_number']}版）被退回",
                         body=f"{who}退回意见：{comment}", link=f"/cohorts/{filing['cohort']}/filing",
                         dedupe_key=f"filing-returned:{filing_id}:{addressee}")
        else:
            others = await FilingReceipt.select(FilingReceipt.status).where(FilingReceipt.filing == filing_id)
            if all(r["status"] == "acknowledged" for r in others):
                new_status = "acknowledged"
                await Filing.update({Filing.status: "acknowledged",
                                     Filing.lock_version: filing["lock_version"] + 1}).where(Filing.id == filing_id)
                await Cohort.update({Cohort.status: "accepted", Cohort.lock_version: Cohort.lock_version + 1,
                                     Cohort.updated_at: now}).where(Cohort.id == filing["cohort"])
                await audit.record(actor, "cohort.accepted", "cohort", filing["cohort"],
                                   before={"status": filing["cohort_status"]}, after={"status": "accepted"},
                                   city_code=filing["city_code"], institution_id=filing["institution_id"])
                await notify(recipient_role="institution", institution_id=filing["institution_id"],
                             kind="filing_acknowledged", title=f"{filing['cohort_name']}备案完成",
                             body="省人社厅和市人社局均已确认备案", link=f"/cohorts/{filing['cohort']}/filing",
                             dedupe_key=f"filing-acknowledged:{filing_id}")
        await audit.record(actor, f"filing.{action}", "filing", filing_id,
                           before={"status": filing["status"], "receipt": {addressee: "pending"}},
                           after={"status": new_status, "receipt": {addressee: status}, "comment": comment},
                           city_code=filing["city_code"], institution_id=filing["institution_id"])
    return await filing_detail(actor, filing_id)


async def acknowledge(actor: Actor, filing_id: int) -> dict[str, Any]:
    return await decide(actor, filing_id, "acknowledge")


async def return_filing(actor: Actor, filing_id: int, comment: str) -> dict[str, Any]:
    return await decide(actor, filing_id, "return", comment)


# --- one filing, its documents --------------------------------------------------------------

async def filing_detail(actor: Actor, filing_id: int, *, today: date | None = None) -> dict[str, Any]:
    """One filing version with its cohort, its siblings (all versions) and the receipts."""
    today = today or today_in_china()
    filing = await _filing_in_scope(actor, filing_id)
    cohort = await cohort_in_scope(actor, filing["cohort"])
    versions = await _versions(filing["cohort"])
    this = next(v for v in versions if v["id"] == filing_id)
    latest = versions[0]
    addressee = "province" if actor.is_province else "city" if actor.is_city else None
    mine = next((r for r in this["receipts"] if r["addressee"] == addressee), None)
    return {
        **this, "cohort": cohort, "versions": versions, "latest": latest["id"] == filing_id,
        "state": _state(latest, latest["due_date"], today),
        "days_left": rules.days_left(this["due_date"], today),
        "can_decide": bool(mine and mine["status"] == "pending" and this["status"] == "submitted"),
        "my_receipt": mine,
    }


async def document(actor: Actor, filing_id: int, kind: str) -> tuple[bytes, str, str]:
    """``report`` (docx) or ``trainees`` (xlsx) of one version: the stored, verified file of a
    submitted version; the live generated preview of a draft (not stored). Audited (whole IDs)."""
    if kind not in ("report", "trainees"):
        raise NotFound("没有这种备案文件")
    filing = await _filing_in_scope(actor, filing_id)
    media, suffix = (DOCX, "docx") if kind == "report" else (XLSX, "xlsx")
    label = "培训情况报告" if kind == "report" else "学员名单"
    name = f"{filing['cohort_code']}-备案-第{filing['version_number']}版-{label}.{suffix}"
    file_id = filing["report_file" if kind == "report" else "trainees_file"]
    context = {"filing": filing_id, "cohort": filing["cohort"], "version": filing["version_number"],
               "city_code": filing["city_code"], "institution_id": filing["institution_id"]}
    if file_id:
        content, _ = await storage.read_verified(file_id, actor, context=context)
        async with db.transaction():
            await audit.record(actor, "filing.download", "filing", filing_id, after={"document": kind, **context},
                               city_code=filing["city_code"], institution_id=filing["institution_id"])
        return content, name, media
    if filing["status"] != "draft":
        raise NotFound("该版备案材料没有存档文件")
    latest = await _latest(filing["cohort"])
    if latest is None or latest["id"] != filing_id:
        raise NotFound("该草稿已不是当前版本")
    loaded = await _package(actor, filing["cohort"], whole_ids=True, filing=latest)
    report, trainees = await build_documents(loaded.package)
    async with db.transaction():
        await _audit_reveal(actor, loaded, f"draft {kind}")
    return (report if kind == "report" else trainees), name, media


async def cohort_draft_id(actor: Actor, cohort_id: int) -> int:
    """The id of the cohort's current filing version (creating the draft when it is due)."""
    await cohort_in_scope(actor, cohort_id)
    current = await _latest(cohort_id)
    if current is None:
        async with db.transaction():
            await ensure_draft(cohort_id)
        current = await _latest(cohort_id)
    if current is None:
        raise NotFound("培训班尚未安排结业考核，还没有备案材料")
    return current["id"]


# --- the departments' list ----------------------------------------------------------------

@dataclass(slots=True)
class ListRow:
    cohort_id: int
    cohort_code: str
    cohort_name: str
    cohort_status: str
    city_code: str
    city_name: str
    institution_id: int
    institution_name: str
    filing_id: int | None
    version_number: int
    status: str  # the latest version's status, "none" before any draft exists
    state: str
    due_date: date
    days_left: int
    submitted_at: datetime | None
    submitted_late: bool
    my_receipt: str | None  # pending / acknowledged / returned for the asking department


@dataclass(slots=True)
class Listing:
    rows: list[ListRow]
    total: int
    by_city: list[dict[str, Any]]
    by_institution: list[dict[str, Any]]
    counts: dict[str, int]
    today: date


def _matches(row: ListRow, status_filter: str | None) -> bool:
    if not status_filter or status_filter == "all":
        return True
    if status_filter == "awaiting":
        return row.status == "submitted" and row.my_receipt == "pending"
    if status_filter == "late":
        return row.submitted_late
    if status_filter == "due":
        return row.state in ("due", "due_soon")
    if status_filter == "submitted":
        return row.status == "submitted"
    return row.state == status_filter


async def department_filings(actor: Actor, *, status_filter: str | None = None, city_code: str | None = None,
                             institution_id: int | None = None, year: int | None = None,
                             today: date | None = None, limit: int | None = None, offset: int = 0) -> Listing:
    """Every cohort with a (first) assessment in the actor's scope, with its latest filing.

    The province sees all, a city its own cohorts, an institution its own. ``year`` is the year of
    the first assessment (the end of training). ``status_filter`` is one of ``FILTERS`` or a
    state of ``STATES``; the overview counts are over the whole scope (before the filter)."""
    today = today or today_in_china()
    if status_filter and status_filter not in FILTERS and status_filter not in STATES and status_filter not in (
            "due", "submitted"):
        raise Invalid("未知的状态筛选", fields={"status": "可选：" + "、".join([*FILTERS, *STATES])})
    addressee = "province" if actor.is_province else "city" if actor.is_city else ""
    where, params = ["a.attempt = 1", "c.status NOT IN ('cancelled', 'rejected')"], [addressee]
    if actor.is_city:
        where.append("c.city = {}")
        params.append(actor.city_id)
    elif actor.is_institution:
        where.append("c.institution = {}")
        params.append(actor.institution_id)
    elif not actor.is_province:
        raise NotFound("无权查看")
    if city_code:
        where.append("ci.code = {}")
        params.append(city_code)
    if institution_id:
        where.append("c.institution = {}")
        params.append(institution_id)
    if year:
        where.append("a.assessment_date >= {} AND a.assessment_date <= {}")
        params.extend([date(year, 1, 1), date(year, 12, 31)])
    sql = (
        "SELECT c.id AS cohort_id, c.code AS code, c.name AS name, c.status AS cohort_status, "
        "ci.code AS city_code, ci.name AS city_name, i.id AS institution_id, i.name AS institution_name, "
        "a.assessment_date AS first_day, f.id AS filing_id, f.version_number AS version_number, f.status AS status, "
        "f.due_date AS due_date, f.submitted_at AS submitted_at, f.submitted_late AS submitted_late, "
        "r.status AS my_receipt, "
        "(SELECT COUNT(*) FROM filing lf WHERE lf.cohort = c.id AND lf.submitted_late) AS late_versions "
        "FROM cohort c JOIN assessment a ON a.cohort = c.id JOIN city ci ON ci.id = c.city "
        "JOIN institution i ON i.id = c.institution "
        "LEFT JOIN filing f ON f.cohort = c.id AND f.version_number = "
        "(SELECT MAX(version_number) FROM filing mf WHERE mf.cohort = c.id) "
        "LEFT JOIN filing_receipt r ON r.filing = f.id AND r.addressee = {} "
        f"WHERE {' AND '.join(where)} ORDER BY ci.sort_order, ci.code, i.name, c.code"
    )
    rows: list[ListRow] = []
    for r in await Filing.raw(sql, *params):
        first_day = _as_date(r["first_day"])
        due = _as_date(r["due_date"]) or rules.due_date(first_day)
        filing = None if r["filing_id"] is None else {
            "status": r["status"], "version_number": r["version_number"], "submitted_late": bool(r["submitted_late"])}
        submitted_at = r["submitted_at"]
        if isinstance(submitted_at, str):
            submitted_at = datetime.fromisoformat(submitted_at)
        rows.append(ListRow(
            cohort_id=r["cohort_id"], cohort_code=r["code"], cohort_name=r["name"], cohort_status=r["cohort_status"],
            city_code=r["city_code"], city_name=r["city_name"], institution_id=r["institution_id"],
            institution_name=r["institution_name"], filing_id=r["filing_id"],
            version_number=r["version_number"] or 1, status=r["status"] or "none",
            state=_state(filing, due, today), due_date=due, days_left=rules.days_left(due, today),
            submitted_at=submitted_at, submitted_late=bool(r["late_versions"]), my_receipt=r["my_receipt"],
        ))
    counts = {key: sum(1 for row in rows if _matches(row, key)) for key in FILTERS}
    by_city: dict[str, dict[str, Any]] = {}
    by_institution: dict[int, dict[str, Any]] = {}
    for row in rows:
        city = by_city.setdefault(row.city_code, {"city_code": row.city_code, "city_name": row.city_name,
                                                  "total": 0, **dict.fromkeys(STATES, 0)})
        inst = by_institution.setdefault(row.institution_id, {
            "institution_id": row.institution_id, "institution_name": row.institution_name,
            "city_name": row.city_name, "total": 0, **dict.fromkeys(STATES, 0)})
        for bucket in (city, inst):
            bucket["total"] += 1
            bucket[row.state] += 1
    chosen = [row for row in rows if _matches(row, status_filter)]
    if status_filter in ("overdue", "due_soon", "due"):
        chosen.sort(key=lambda row: row.days_left)
    total = len(chosen)
    page = chosen[offset:offset + limit] if limit is not None else chosen[offset:]
    return Listing(rows=page, total=total, by_city=list(by_city.values()),
                   by_institution=sorted(by_institution.values(), key=lambda b: (-b["overdue"], b["institution_name"])),
                   counts=counts, today=today)


async def institution_name(institution_id: int) -> str:
    row = await Institution.select(Institution.name).where(Institution.id == institution_id).first()
    return row["name"] if row else ""


__all__ = [
    "FILTERS", "STATES", "CohortFiling", "ListRow", "Listing", "Submitted", "acknowledge", "build_documents",
    "cohort_draft_id", "cohort_filing", "decide", "department_filings", "document", "ensure_draft", "ensure_drafts",
    "filing_detail", "load_package", "package_digest", "preview_package", "return_filing", "save_narrative",
    "submit",
]
