"""The filing service (备案): drafts and due dates, the package, submit, the departments' answers,
versions, stored files with their digests, and the department views."""

from __future__ import annotations

import asyncio
import hashlib
import io
from datetime import timedelta

import pytest
from docx import Document
from openpyxl import load_workbook

from tests.attendance_factories import make_session
from tests.certificates_factories import ended_cohort
from tests.factories import make_institution, make_user
from tests.filings_factories import NARRATIVE, cohort_status, departments, filing_ready
from training.errors import Conflict, Forbidden, Invalid, NotFound, StaleVersion
from training.rules import filing as rules
from training.rules.clock import today_in_china
from training.services import assessments, attendance, filings, progress, storage
from training.tables import (
    Attendance,
    AuditEvent,
    Certificate,
    Enrollment,
    Filing,
    FilingReceipt,
    Notification,
    StoredFile,
    Trainee,
)

# --- drafts and due dates --------------------------------------------------------------------

async def test_due_date_is_first_assessment_plus_30_days_and_drafts_are_idempotent(database) -> None:
    cohort = await ended_cohort(eligible=2, ineligible=0)
    day = today_in_china() - timedelta(days=1)
    sitting = await assessments.schedule(cohort["actor"], cohort["id"], day, "both")
    draft = await Filing.select().where(Filing.cohort == cohort["id"]).first()
    assert draft["status"] == "draft" and draft["version_number"] == 1
    assert draft["due_date"] == day + timedelta(days=30) == rules.due_date(day)
    assert await filings.ensure_drafts() == 0
    # rescheduled before any result: the draft follows
    await assessments.reschedule(cohort["actor"], sitting["id"], day - timedelta(days=1), "both")
    assert (await Filing.select().where(Filing.cohort == cohort["id"]).first())["due_date"] == day + timedelta(29)
    assert await Filing.count().where(Filing.cohort == cohort["id"]) == 1


async def test_ensure_drafts_creates_missing_drafts_in_bulk(database) -> None:
    await filing_ready(with_narrative=False)
    await filing_ready(with_narrative=False)
    await Filing.delete(force=True)
    assert await filings.ensure_drafts() == 2
    assert await filings.ensure_drafts() == 0
    assert await Filing.count() == 2


# --- the package ---------------------------------------------------------------------------------

async def test_package_counts_match_the_progress_service_and_whole_ids_are_audited(database) -> None:
    cohort = await filing_ready(passed=3, failed=1, withdrawn=1)
    actor = cohort["actor"]
    before = await AuditEvent.count().where(AuditEvent.action == "filing.reveal_ids")
    package = await filings.load_package(actor, cohort["id"])
    assert await AuditEvent.count().where(AuditEvent.action == "filing.reveal_ids") == before + 1
    report = await progress.cohort_progress(actor, cohort["id"])
    assert package.counts.eligible == report.eligible_count
    assert package.counts.enrolled == len(report.trainees) == 5
    assert package.counts.withdrawn == 1
    assert package.counts.passed == 3 and package.counts.assessed == 4
    assert package.counts.certified == await Certificate.count().where(Certificate.cohort == cohort["id"]) == 3
    numbers = {r["id_number"] for r in await Trainee.select(Trainee.id_number)}
    assert {line.id_number for line in package.trainees} <= numbers
    by_id = {t.enrollment_id: t for t in report.trainees}
    enrollments = await Enrollment.select(Enrollment.id).where(Enrollment.cohort == cohort["id"]).order_by(
        Enrollment.id)
    for line, enrollment in zip(package.trainees, enrollments, strict=True):
        assert line.hours == by_id[enrollment["id"]].hours
    planned = {(h.mode, h.kind): h for h in package.hours}
    assert planned[("offline", "theory")].planned == planned[("offline", "theory")].delivered == 80
    assert planned[("offline", "practice")].planned == 48
    # the preview never carries a whole ID number
    preview = await filings.preview_package(actor, cohort["id"], {"organisation": "草稿"})
    assert all("*" in line.id_number for line in preview.trainees)
    assert preview.narrative["organisation"] == "草稿"


async def test_planned_hours_count_future_sessions_but_delivered_do_not(database) -> None:
    cohort = await filing_ready(with_narrative=False)
    await make_session(cohort["id"], day=today_in_china() + timedelta(days=3), hours=4, kind="theory")
    package = await filings.load_package(cohort["actor"], cohort["id"])
    row = next(h for h in package.hours if (h.mode, h.kind) == ("offline", "theory"))
    assert (row.planned, row.delivered) == (84, 80)


# --- narrative -------------------------------------------------------------------------------

async def test_narrative_save_checks_lock_version_and_length(database) -> None:
    cohort = await filing_ready(with_narrative=False)
    actor = cohort["actor"]
    draft = await Filing.select().where(Filing.id == cohort["filing_id"]).first()
    saved = await filings.save_narrative(actor, cohort["id"], {"organisation": "甲"}, draft["lock_version"])
    assert saved["lock_version"] == draft["lock_version"] + 1
    with pytest.raises(StaleVersion) as stale:
        await filings.save_narrative(actor, cohort["id"], {"organisation": "乙"}, draft["lock_version"])
    assert "组织实施情况" in stale.value.detail and "organisation" in stale.value.fields
    with pytest.raises(Invalid) as long:
        await filings.save_narrative(actor, cohort["id"], {"teaching": "字" * (rules.NARRATIVE_MAX_CHARS + 1)},
                                     saved["lock_version"])
    assert set(long.value.fields) == {"teaching"}
    other = await make_user("institution", str(await make_institution()))
    with pytest.raises(NotFound):
        await filings.save_narrative(other, cohort["id"], NARRATIVE, saved["lock_version"])
    city = await make_user("city", "370100")
    with pytest.raises(Forbidden):
        await filings.save_narrative(city, cohort["id"], NARRATIVE, saved["lock_version"])


# --- submit ----------------------------------------------------------------------------------

async def test_submit_before_the_cohort_is_assessed_is_refused(database) -> None:
    cohort = await ended_cohort(eligible=2, ineligible=0)
    await assessments.schedule(cohort["actor"], cohort["id"], today_in_china() - timedelta(days=1), "both")
    draft = await Filing.select().where(Filing.cohort == cohort["id"]).first()
    await filings.save_narrative(cohort["actor"], cohort["id"], NARRATIVE, draft["lock_version"])
    with pytest.raises(Conflict) as refused:
        await filings.submit(cohort["actor"], cohort["id"])
    assert "结业考核" in refused.value.detail
    assert await cohort_status(cohort["id"]) == "training_ended"


async def test_submit_with_a_missing_narrative_section_names_the_fields(database) -> None:
    cohort = await filing_ready(narrative={"organisation": "有内容"})
    with pytest.raises(Invalid) as refused:
        await filings.submit(cohort["actor"], cohort["id"])
    assert set(refused.value.fields) == set(rules.NARRATIVE_SECTIONS) - {"organisation"}
    assert await StoredFile.count() == 0


async def test_submit_freezes_the_package_and_sends_it_to_province_and_city(database, files_dir) -> None:
    cohort = await filing_ready()
    done = await filings.submit(cohort["actor"], cohort["id"])
    row = await Filing.select().where(Filing.id == done.filing_id).first()
    assert row["status"] == "submitted" and row["submitted_by"] == cohort["actor"].user_id
    assert row["submitted_late"] is False and done.late is False
    report = await StoredFile.select().where(StoredFile.id == row["report_file"]).first()
    trainees = await StoredFile.select().where(StoredFile.id == row["trainees_file"]).first()
    for stored in (report, trainees):
        content = (files_dir / stored["relative_path"]).read_bytes()
        assert hashlib.sha256(content).hexdigest() == stored["sha256"]
        assert stored["relative_path"] == f"{stored['sha256'][:2]}/{stored['sha256'][2:4]}/{stored['sha256']}"
    assert row["package_sha256"] == hashlib.sha256(
        f"{report['sha256']}\n{trainees['sha256']}\n".encode()).hexdigest()
    receipts = await FilingReceipt.select().where(FilingReceipt.filing == done.filing_id)
    assert sorted((r["addressee"], r["status"]) for r in receipts) == [("city", "pending"), ("province", "pending")]
    assert await cohort_status(cohort["id"]) == "filed"
    notes = await Notification.select().where(Notification.kind == "filing_submitted")
    assert sorted(n["recipient_role"] for n in notes) == ["city", "province"]
    assert await AuditEvent.count().where(AuditEvent.action == "filing.submit") == 1
    # twice: refused, nothing new
    with pytest.raises(Conflict):
        await filings.submit(cohort["actor"], cohort["id"])
    assert await Notification.count().where(Notification.kind == "filing_submitted") == 2


async def test_submit_after_the_due_date_is_marked_late(database) -> None:
    cohort = await filing_ready()
    due = (await Filing.select().where(Filing.id == cohort["filing_id"]).first())["due_date"]
    done = await filings.submit(cohort["actor"], cohort["id"], today=due + timedelta(days=1))
    assert done.late is True
    assert (await Filing.select().where(Filing.id == done.filing_id).first())["submitted_late"] is True


async def test_the_word_and_xlsx_trainee_lists_match_the_database_row_for_row(database, files_dir) -> None:
    cohort = await filing_ready(passed=3, failed=1, withdrawn=1)
    done = await filings.submit(cohort["actor"], cohort["id"])
    expected = await Enrollment.select(
        Enrollment.trainee.name.as_alias("name"), Enrollment.trainee.id_number.as_alias("id_number"),
        Enrollment.id).where(Enrollment.cohort == cohort["id"]).order_by(Enrollment.id)
    certs = {r["enrollment"]: r["number"] for r in await Certificate.select(
        Certificate.enrollment, Certificate.number).where(Certificate.cohort == cohort["id"])}
    rows = [(e["name"], e["id_number"], certs.get(e["id"], "")) for e in expected]

    report, _, _ = await filings.document(cohort["actor"], done.filing_id, "report")
    doc = Document(io.BytesIO(report))
    found = []
    for table in doc.tables:
        header = [c.text.strip() for c in table.rows[0].cells]
        if "身份证号" in " ".join(header) or "身份证号码" in header:
            name_col = next(i for i, h in enumerate(header) if h == "姓名")
            id_col = next(i for i, h in enumerate(header) if "身份证" in h)
            cert_col = next(i for i, h in enumerate(header) if "证书" in h)
            for r in table.rows[1:]:
                cells = [c.text.strip() for c in r.cells]
                if cells[name_col] and cells[name_col] != "姓名":
                    found.append((cells[name_col], cells[id_col], cells[cert_col]))
    assert found == rows

    xlsx, _, _ = await filings.document(cohort["actor"], done.filing_id, "trainees")
    sheet = load_workbook(io.BytesIO(xlsx), read_only=True).worksheets[0]
    values = [[("" if v is None else str(v)) for v in r] for r in sheet.iter_rows(values_only=True)]
    header_at = next(i for i, r in enumerate(values) if "姓名" in r)
    header = values[header_at]
    name_col, id_col = header.index("姓名"), next(i for i, h in enumerate(header) if "身份证" in h)
    cert_col = next(i for i, h in enumerate(header) if "证书" in h)
    listed = [(r[name_col], r[id_col], r[cert_col]) for r in values[header_at + 1:] if r[name_col]]
    assert listed == rows
    package = await filings.load_package(cohort["actor"], cohort["id"])
    report_progress = await progress.cohort_progress(cohort["actor"], cohort["id"])
    assert package.counts.eligible == report_progress.eligible_count
    assert await AuditEvent.count().where(AuditEvent.action == "filing.download") == 2


# --- the departments' answer --------------------------------------------------------------------

async def test_only_addressees_decide_and_only_once(database) -> None:
    cohort = await filing_ready()
    done = await filings.submit(cohort["actor"], cohort["id"])
    people = await departments()
    other_city = await make_user("city", "370200")
    with pytest.raises(NotFound):
        await filings.acknowledge(other_city, done.filing_id)
    with pytest.raises(Forbidden):
        await filings.acknowledge(cohort["actor"], done.filing_id)
    with pytest.raises(Invalid) as no_comment:
        await filings.return_filing(people["city"], done.filing_id, "  ")
    assert set(no_comment.value.fields) == {"comment"}
    await filings.acknowledge(people["city"], done.filing_id)
    with pytest.raises(Conflict):
        await filings.acknowledge(people["city"], done.filing_id)
    assert await cohort_status(cohort["id"]) == "filed"
    detail = await filings.acknowledge(people["province"], done.filing_id)
    assert detail["status"] == "acknowledged"
    assert await cohort_status(cohort["id"]) == "accepted"
    assert await Notification.count().where(Notification.kind == "filing_acknowledged") == 1
    assert await AuditEvent.count().where(AuditEvent.action == "filing.acknowledge") == 2


async def test_return_opens_the_next_version_and_earlier_files_stay_downloadable(database, files_dir) -> None:
    cohort = await filing_ready()
    actor = cohort["actor"]
    first = await filings.submit(actor, cohort["id"])
    v1 = await Filing.select().where(Filing.id == first.filing_id).first()
    v1_report, _, _ = await filings.document(actor, first.filing_id, "report")
    people = await departments()
    await filings.return_filing(people["city"], first.filing_id, "实操学时与课表不一致")
    assert (await Filing.select().where(Filing.id == first.filing_id).first())["status"] == "returned"
    notes = await Notification.select().where(Notification.kind == "filing_returned")
    assert len(notes) == 1 and "实操学时与课表不一致" in notes[0]["body"]
    # the province cannot act on a returned version
    with pytest.raises(Conflict):
        await filings.acknowledge(people["province"], first.filing_id)
    # correction through the amendment flow, which is open because the cohort stays filed
    attendance_row = await Attendance.select(Attendance.id).where(
        Attendance.enrollment.cohort == cohort["id"]).first()
    await attendance.amend_attendance(actor, attendance_row["id"], "late", 70, "补录迟到")
    view = await filings.cohort_filing(actor, cohort["id"])
    assert view.current["version_number"] == 2 and view.current["status"] == "draft"
    assert view.submit_refusal is None and view.amendments_pending == 1
    await filings.save_narrative(actor, cohort["id"], {**NARRATIVE, "problems": "已按退回意见更正考勤"},
                                 view.current["lock_version"])
    due = v1["due_date"]
    second = await filings.submit(actor, cohort["id"], today=due + timedelta(days=5))
    assert second.version_number == 2 and second.late is False  # a correction is not late
    v2 = await Filing.select().where(Filing.id == second.filing_id).first()
    assert v2["due_date"] == due and v2["package_sha256"] != v1["package_sha256"]
    again, _, _ = await filings.document(actor, first.filing_id, "report")
    assert again == v1_report
    stored = await StoredFile.select().where(StoredFile.id == v1["report_file"]).first()
    assert hashlib.sha256(again).hexdigest() == stored["sha256"]


async def test_a_tampered_file_is_reported_and_not_served(database, files_dir) -> None:
    cohort = await filing_ready()
    done = await filings.submit(cohort["actor"], cohort["id"])
    row = await Filing.select().where(Filing.id == done.filing_id).first()
    stored = await StoredFile.select().where(StoredFile.id == row["trainees_file"]).first()
    path = files_dir / stored["relative_path"]
    path.chmod(0o644)
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(Conflict) as refused:
        await filings.document(cohort["actor"], done.filing_id, "trainees")
    assert refused.value.code == "file_tampered" and "文件校验失败" in refused.value.detail
    assert await AuditEvent.count().where(AuditEvent.action == "file.tampered") == 1
    path.unlink()
    with pytest.raises(Conflict):
        await filings.document(cohort["actor"], done.filing_id, "trainees")


async def test_storage_deduplicates_by_digest(database, files_dir) -> None:
    first = await storage.store(b"same bytes", "text/plain", "a.txt")
    second = await storage.store(b"same bytes", "text/plain", "b.txt")
    assert first == second and await StoredFile.count() == 1
    content, row = await storage.read_verified(first)
    assert content == b"same bytes" and row["size"] == 10
    path = files_dir / row["relative_path"]
    assert not path.stat().st_mode & 0o222  # stored read-only
    path.chmod(0o644)
    path.write_bytes(b"other bytes")
    with pytest.raises(Conflict):
        await storage.read_verified(first)
    assert await storage.store(b"same bytes", "text/plain") == first  # storing again repairs the file
    assert (await storage.read_verified(first))[0] == b"same bytes"


# --- read-only after filing --------------------------------------------------------------------

async def test_after_filing_roll_and_results_are_refused_and_an_amendment_still_works(database) -> None:
    cohort = await filing_ready()
    actor = cohort["actor"]
    await filings.submit(actor, cohort["id"])
    roll = await attendance.get_roll(actor, (await Attendance.select(Attendance.session).first())["session"])
    assert roll.read_only and "备案" in roll.reason
    with pytest.raises(Conflict):
        await attendance.save_roll(actor, roll.session["id"], roll.session["lock_version"],
                                   [attendance.RollEntry(r["enrollment_id"], "absent", 0) for r in roll.rows])
    grid = await assessments.get_grid(actor, cohort["assessment_id"])
    assert grid.read_only
    with pytest.raises(Conflict):
        await assessments.save_results(actor, cohort["assessment_id"], [])
    row = await Attendance.select(Attendance.id).first()
    assert await attendance.amend_attendance(actor, row["id"], "absent", 0, "核实缺勤")


# --- the departments' list -------------------------------------------------------------------------

async def test_department_view_classifies_due_overdue_late_with_a_fixed_today(database) -> None:
    people = await departments()
    on_time = await filing_ready()
    due = (await Filing.select().where(Filing.id == on_time["filing_id"]).first())["due_date"]
    await filings.submit(on_time["actor"], on_time["id"], today=due - timedelta(days=10))
    late = await filing_ready()
    await filings.submit(late["actor"], late["id"], today=due + timedelta(days=2))
    pending = await filing_ready()
    qingdao = await filing_ready("370200")

    def states(listing):
        return {row.cohort_id: row.state for row in listing.rows}

    soon = await filings.department_filings(people["province"], today=due - timedelta(days=3))
    assert states(soon)[pending["id"]] == "due_soon"
    early = await filings.department_filings(people["province"], today=due - timedelta(days=20))
    assert states(early)[pending["id"]] == "due"
    later = await filings.department_filings(people["province"], today=due + timedelta(days=4))
    got = states(later)
    assert got[on_time["id"]] == "submitted" and got[late["id"]] == "late"
    assert got[pending["id"]] == "overdue" and got[qingdao["id"]] == "overdue"
    row = next(r for r in later.rows if r.cohort_id == pending["id"])
    assert row.days_left == -4
    assert later.counts["overdue"] == 2 and later.counts["late"] == 1 and later.counts["awaiting"] == 2
    city = await filings.department_filings(people["city"], today=due + timedelta(days=4))
    assert qingdao["id"] not in states(city) and len(city.rows) == 3
    overdue = await filings.department_filings(people["city"], status_filter="overdue", today=due + timedelta(4))
    assert [r.cohort_id for r in overdue.rows] == [pending["id"]]
    assert {b["city_code"]: b["overdue"] for b in later.by_city} == {"370100": 1, "370200": 1}
    mine = await filings.department_filings(pending["actor"], today=due)
    assert [r.cohort_id for r in mine.rows] == [pending["id"]]


async def test_province_and_city_acknowledging_together_still_accept_the_cohort(database) -> None:
    cohort = await filing_ready()
    done = await filings.submit(cohort["actor"], cohort["id"])
    people = await departments()
    await asyncio.gather(filings.acknowledge(people["city"], done.filing_id),
                         filings.acknowledge(people["province"], done.filing_id))
    assert (await Filing.select().where(Filing.id == done.filing_id).first())["status"] == "acknowledged"
    assert await cohort_status(cohort["id"]) == "accepted"
