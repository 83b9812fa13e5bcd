"""Deadline sweeps on a controlled clock: each reminder exactly once, to the right organisations;
the cohort calendar moves cohorts on the right days; plan reminders only in April."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from tests.attendance_factories import make_cohort
from tests.factories import city_id
from tests.plans_factories import make_plan
from training import jobs
from training.services import deadlines
from training.services.cohort_calendar import advance_cohorts
from training.tables import AuditEvent, City, Cohort, Filing, Notification

DUE = date(2026, 6, 30)


async def make_filing(cohort: dict, *, due: date = DUE, status: str = "draft", version: int = 1) -> int:
    row = await Filing.insert(Filing(cohort=cohort["id"], version_number=version, status=status,
                                     due_date=due)).returning(Filing.id)
    return row[0]["id"]


async def keys_for(filing_id: int) -> Counter:
    rows = await Notification.select(Notification.dedupe_key, Notification.recipient_role).where(
        Notification.dedupe_key.like(f"filing:{filing_id}:%"))
    return Counter((r["dedupe_key"].split(":")[2], r["recipient_role"]) for r in rows)


def china_moment(day: date, at: time = time(8, 30)) -> datetime:
    return datetime.combine(day, at, tzinfo=jobs.CHINA).astimezone(UTC)


async def test_each_filing_reminder_is_sent_exactly_once_to_the_right_organisations(database):
    cohort = await make_cohort(status="assessed")
    draft = await make_filing(cohort)
    submitted = await make_filing(await make_cohort(status="filed"), status="submitted")
    day = DUE - timedelta(days=10)
    while day <= DUE + timedelta(days=22):
        for _ in range(2):  # the sweep run twice the same day
            await deadlines.sweep_filing_deadlines(day)
        day += timedelta(days=1)
    await deadlines.sweep_filing_deadlines(DUE + timedelta(days=22))  # and a catch-up run afterwards
    got = await keys_for(draft)
    institution = {key for key, role in got if role == "institution"}
    assert institution == {"due_in_7", "due_in_3", "due_in_1", "due_today",
                           "overdue_w0", "overdue_w1", "overdue_w2", "overdue_w3"}  # D+1, D+8, D+15, D+22
    assert {key for key, role in got if role == "city"} == {k for k in institution if k.startswith("overdue")}
    assert {key for key, role in got if role == "province"} == {k for k in institution if k.startswith("overdue")}
    assert set(got.values()) == {1}
    assert await keys_for(submitted) == Counter()


async def test_reminders_go_to_the_institution_city_and_province_with_links_and_dates(database):
    cohort = await make_cohort("370200", status="assessed")
    filing_id = await make_filing(cohort)
    await deadlines.sweep_filing_deadlines(DUE - timedelta(days=3))
    await deadlines.sweep_filing_deadlines(DUE + timedelta(days=1))
    rows = await Notification.select().order_by(Notification.id)
    first = rows[0]
    assert first["recipient_role"] == "institution" and first["institution"] == cohort["institution_id"]
    assert "3 天" in first["title"] and "2026年06月30日" in first["body"]
    assert first["link"] == f"/cohorts/{cohort['id']}/filing"
    overdue = {r["recipient_role"]: r for r in rows[1:]}
    assert set(overdue) == {"institution", "city", "province"}
    assert overdue["city"]["city"] == await city_id("370200")
    assert overdue["city"]["link"] == overdue["province"]["link"] == f"/filings/{filing_id}"
    assert "逾期 1 天" in overdue["province"]["title"]


async def test_a_missed_reminder_day_is_caught_up_once_with_the_latest_reminder(database):
    filing_id = await make_filing(await make_cohort(status="assessed"))
    await deadlines.sweep_filing_deadlines(DUE - timedelta(days=8))
    # down from D-7 to D-5: the next sweep sends the due_in_7 reminder late, once.
    for day in (DUE - timedelta(days=4), DUE - timedelta(days=4), DUE - timedelta(days=2)):
        await deadlines.sweep_filing_deadlines(day)
    got = await keys_for(filing_id)
    assert got == Counter({("due_in_7", "institution"): 1, ("due_in_3", "institution"): 1})


async def test_only_the_latest_version_of_a_returned_filing_is_reminded(database):
    cohort = await make_cohort(status="assessed")
    old = await make_filing(cohort, status="draft", version=1)  # stale draft left behind by a bug or import
    newest = await make_filing(cohort, status="draft", version=2)
    await deadlines.sweep_filing_deadlines(DUE)
    assert await keys_for(old) == Counter()
    assert await keys_for(newest) == Counter({("due_today", "institution"): 1})


async def test_the_sweep_job_runs_once_per_day_through_the_scheduler(database):
    filing_id = await make_filing(await make_cohort(status="assessed"))
    job = next(j for j in jobs.JOBS if j.name == "filing_deadline_sweep")
    early = china_moment(DUE - timedelta(days=1), time(7, 0))
    assert "not due" in await jobs.run_job(job, database, early)
    outcome = await jobs.run_job(job, database, china_moment(DUE - timedelta(days=1)))
    assert "1 notifications sent" in outcome
    assert "already ran" in await jobs.run_job(job, database, china_moment(DUE - timedelta(days=1), time(23, 0)))
    # catch-up after downtime: runs once for today, not once per missed day
    await jobs.catch_up(database, china_moment(DUE + timedelta(days=1)))
    await jobs.catch_up(database, china_moment(DUE + timedelta(days=1), time(9, 0)))
    assert await keys_for(filing_id) == Counter({
        ("due_in_1", "institution"): 1, ("overdue_w0", "institution"): 1, ("overdue_w0", "city"): 1,
        ("overdue_w0", "province"): 1})
    await jobs.release_scheduler()


# --- the cohort calendar --------------------------------------------------------------------


async def test_cohorts_start_and_end_on_their_dates_and_not_before(database):
    start, end = date(2026, 3, 2), date(2026, 4, 10)
    approved = await make_cohort(status="approved", start=start, end=end)
    draft = await make_cohort(status="submitted", start=start, end=end)

    async def status(cohort) -> str:
        return (await Cohort.select(Cohort.status).where(Cohort.id == cohort["id"]).first())["status"]

    assert str(await advance_cohorts(start - timedelta(days=1))) == "0 cohorts started, 0 ended"
    assert await status(approved) == "approved"
    assert (await advance_cohorts(start)).started == 1
    assert await status(approved) == "in_training"
    assert (await advance_cohorts(start)).started == 0  # rerun: nothing
    assert (await advance_cohorts(end)).ended == 0  # the last day is still a training day
    assert (await advance_cohorts(end + timedelta(days=1))).ended == 1
    assert await status(approved) == "training_ended"
    assert await status(draft) == "submitted"  # never moved by the calendar
    events = await AuditEvent.select(AuditEvent.action, AuditEvent.username, AuditEvent.city_code).where(
        AuditEvent.entity_id == str(approved["id"])).order_by(AuditEvent.id)
    assert [e["action"] for e in events] == ["cohort.start_training", "cohort.end_training"]
    assert {e["username"] for e in events} == {"system"} and {e["city_code"] for e in events} == {"370100"}
    row = await Cohort.select(Cohort.lock_version).where(Cohort.id == approved["id"]).first()
    assert row["lock_version"] == 3  # each move bumps the version: an open edit form gets a conflict


async def test_an_approved_cohort_whose_dates_have_passed_moves_through_both_steps(database):
    cohort = await make_cohort(status="approved", start=date(2026, 1, 5), end=date(2026, 2, 5))
    result = await advance_cohorts(date(2026, 3, 1))
    assert (result.started, result.ended) == (1, 1)
    assert (await Cohort.select(Cohort.status).where(Cohort.id == cohort["id"]).first())["status"] == "training_ended"


# --- plan-due reminders ---------------------------------------------------------------------


async def test_plan_reminders_only_in_april_once_per_day_key_and_a_summary_on_30_april(database):
    await make_plan("370100", year=2026, status="submitted")
    await make_plan("370200", year=2026, status="returned")  # returned counts as not submitted
    cities = await City.count()
    for day in [date(2026, 3, 31)] + [date(2026, 4, d) for d in range(1, 31)] + [date(2026, 5, 1)]:
        await deadlines.plan_due_reminders(day)
        await deadlines.plan_due_reminders(day)
    rows = await Notification.select(Notification.dedupe_key, Notification.recipient_role, Notification.city)
    to_cities = [r for r in rows if r["recipient_role"] == "city"]
    assert len(to_cities) == (cities - 1) * 4
    assert {r["dedupe_key"].rsplit(":", 1)[1] for r in to_cities} == {"01", "15", "25", "30"}
    assert await city_id("370100") not in {r["city"] for r in to_cities}
    summary = [r for r in rows if r["recipient_role"] == "province"]
    assert [r["dedupe_key"] for r in summary] == ["plan_late:2026"]
    body = (await Notification.select(Notification.body).where(Notification.dedupe_key == "plan_late:2026")
            .first())["body"]
    assert "青岛市" in body and "济南市" not in body


async def test_a_missed_april_reminder_is_caught_up_once(database):
    await deadlines.plan_due_reminders(date(2026, 4, 3))  # the 1 April run was missed
    await deadlines.plan_due_reminders(date(2026, 4, 9))
    keys = {r["dedupe_key"] for r in await Notification.select(Notification.dedupe_key)}
    assert keys and all(k.endswith(":01") for k in keys)
    assert len(keys) == await City.count()


async def test_the_sweep_job_first_creates_drafts_for_newly_assessed_cohorts(database):
    from training.tables import Assessment

    cohort = await make_cohort(status="assessed")
    await Assessment.insert(Assessment(cohort=cohort["id"], assessment_date=DUE - timedelta(days=30), form="both"))
    job = next(j for j in jobs.JOBS if j.name == "filing_deadline_sweep")
    outcome = await jobs.run_job(job, database, china_moment(DUE - timedelta(days=7)))
    await jobs.release_scheduler()
    assert outcome.startswith("1 drafts created; ")
    filing = await Filing.select(Filing.id, Filing.due_date).where(Filing.cohort == cohort["id"]).first()
    assert filing["due_date"] == DUE
    assert await keys_for(filing["id"]) == Counter({("due_in_7", "institution"): 1})
