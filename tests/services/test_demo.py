"""The demo province: loads in one go, holds valid and consistent data, and never loads twice."""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from datetime import timedelta

import pytest
from piccolo.query.functions.aggregate import Sum

from tests.conftest import _wipe
from tests.factories import make_institution, make_user
from training import db
from training.demo import DEMO_LOGINS, TODAY, load_demo
from training.errors import Conflict
from training.rules.identity import parse_credit_code, parse_phone, parse_resident_id
from training.rules.levels import COHORT_STATUSES, PARTNER_CLASS_TYPES
from training.services import accounts, audit
from training.tables import (
    ALL_TABLES,
    Approval,
    Assessment,
    AssessmentResult,
    Attendance,
    AuditEvent,
    CatalogueEntry,
    Certificate,
    CertificateCounter,
    City,
    Cohort,
    Enrollment,
    Filing,
    FilingReceipt,
    Institution,
    Plan,
    PlanLine,
    PlanLineInstitution,
    Standard,
    Trainee,
    TrainingSession,
)

_loaded_tail: str | None = None


@pytest.fixture
async def demo(session_settings, session_engine):
    """The demo province, loaded once and shared by the tests that only read it.

    It is reloaded (on a wiped database) unless the newest audit event is still the one this
    module saw right after loading: every change through a service adds an event, and every
    other test starts by wiping, so a shared demo is never one somebody has altered.
    """
    global _loaded_tail
    db.use(session_engine)
    tail = await AuditEvent.select(AuditEvent.hash).order_by(AuditEvent.id, ascending=False).first()
    if _loaded_tail is None or tail is None or tail["hash"] != _loaded_tail:
        await _wipe()
        assert await load_demo() is True
        tail = await AuditEvent.select(AuditEvent.hash).order_by(AuditEvent.id, ascending=False).first()
        _loaded_tail = tail["hash"]
    return session_settings


async def _counts() -> dict[str, int]:
    return {table._meta.tablename: await table.count() for table in ALL_TABLES}


async def test_only_if_empty_skips_a_database_that_has_institutions(database):
    await make_institution("370100")
    assert await load_demo(only_if_empty=True) is False
    assert await Cohort.count() == 0


async def test_a_load_that_fails_half_way_leaves_nothing_behind(database):
    await make_user("city", org="370100", username=DEMO_LOGINS[1].username)  # the demo's name, taken
    before = await _counts()
    with pytest.raises(Conflict):
        await load_demo()
    assert await _counts() == before


async def test_demo_loads_a_province_of_the_expected_size(demo):
    counts = await _counts()
    assert counts["city"] == 16
    assert 18 <= counts["institution"] <= 22
    assert 35 <= counts["cohort"] <= 45
    assert 700 <= counts["trainee"] <= 900
    assert counts["enrollment"] >= counts["trainee"]
    assert counts["training_session"] >= 500
    assert counts["attendance"] >= 10_000
    assert counts["certificate"] >= 100
    assert counts["filing"] >= 10
    assert counts["app_user"] == len(DEMO_LOGINS) == 5
    assert {r["status"] for r in await Institution.select(Institution.status)} == {"active", "suspended", "revoked"}
    plans = await Plan.select(Plan.city, Plan.year, Plan.status, Plan.province_comment)
    assert len({p["city"] for p in plans}) == 16 and {p["year"] for p in plans} == {2026}
    assert {p["status"] for p in plans} == {"draft", "submitted", "accepted", "returned"}
    assert all(p["province_comment"] for p in plans if p["status"] == "returned")
    load = await AuditEvent.select(AuditEvent.after).where(AuditEvent.action == "demo.load").first()
    assert load is not None and '"trainees"' in str(load["after"])


async def test_every_identity_number_in_the_demo_is_valid(demo):
    for trainee in await Trainee.select():
        parsed = parse_resident_id(trainee["id_number"], today=TODAY)
        assert parsed.region.startswith("37")
        assert parsed.birth_date == trainee["birth_date"] and parsed.sex == trainee["sex"]
        assert 1970 <= parsed.birth_date.year <= 2003
        parse_phone(trainee["phone"])
        if trainee["employer_credit_code"]:
            parse_credit_code(trainee["employer_credit_code"])
        assert trainee["new_graduate"] is False or trainee["birth_date"].year >= 2000
    for institution in await Institution.select():
        parse_credit_code(institution["credit_code"])
        parse_phone(institution["phone"])
    for cohort in await Cohort.select(Cohort.class_type, Cohort.partner_name, Cohort.partner_credit_code):
        if cohort["class_type"] in PARTNER_CLASS_TYPES:
            assert cohort["partner_name"]
            parse_credit_code(cohort["partner_credit_code"])
    graduates = await Trainee.count().where(Trainee.new_graduate == True)  # noqa: E712
    assert 0.05 < graduates / await Trainee.count() < 0.4


async def test_every_cohort_status_is_present_and_each_cohort_is_allowed(demo):
    cohorts = await Cohort.select()
    assert {c["status"] for c in cohorts} == set(COHORT_STATUSES)
    assert all(re.fullmatch(r"C2026-37\d{4}-\d{3}", c["code"]) for c in cohorts)
    city_code = {c["id"]: c["code"] for c in await City.select()}
    institutions = {i["id"]: i for i in await Institution.select()}
    standards = {s["id"]: s for s in await Standard.select()}
    lines = {line["id"]: line for line in await PlanLine.select(
        PlanLine.all_columns(), PlanLine.plan.city.as_alias("city"), PlanLine.plan.status.as_alias("plan_status"))}
    deliverers = {(r["plan_line"], r["institution"]) for r in await PlanLineInstitution.select()}
    approvals = {(a["institution"], a["occupation"], a["level"]): a for a in await Approval.select()}
    catalogue = {(e["city"], e["institution"], e["occupation"]) for e in await CatalogueEntry.select()
                 if e["removed_at"] is None}
    for cohort in cohorts:
        key = (cohort["institution"], cohort["occupation"], cohort["level"])
        line = lines[cohort["plan_line"]]
        standard = standards[cohort["standard"]]
        assert cohort["code"].startswith(f"C2026-{city_code[cohort['city']]}-")
        assert (standard["occupation"], standard["level"]) == (cohort["occupation"], cohort["level"])
        assert line["plan_status"] == "accepted" and line["city"] == cohort["city"]
        assert (line["occupation"], line["level"], line["class_type"]) == (
            cohort["occupation"], cohort["level"], cohort["class_type"])
        assert (cohort["plan_line"], cohort["institution"]) in deliverers
        assert institutions[cohort["institution"]]["status"] == "active"
        approval = approvals[key]
        assert approval["valid_from"] <= cohort["planned_start"] <= cohort["planned_end"] <= approval["valid_to"]
        assert (cohort["city"], cohort["institution"], cohort["occupation"]) in catalogue
        if cohort["status"] in {"draft", "submitted", "approved"}:
            assert cohort["planned_start"] > TODAY
        if cohort["status"] == "in_training":
            assert cohort["planned_start"] <= TODAY <= cohort["planned_end"]
        if cohort["status"] in {"training_ended", "assessed", "filed", "accepted"}:
            assert cohort["planned_end"] < TODAY
        if cohort["status"] in {"rejected", "cancelled"}:
            assert cohort["status_reason"]


async def test_certificate_numbers_are_unique_and_gap_free_per_year_and_city(demo):
    certificates = await Certificate.select(Certificate.all_columns(), Certificate.city.code.as_alias("city_code"))
    by_key: dict[tuple[int, str], list[int]] = defaultdict(list)
    for c in certificates:
        assert c["number"] == f"DTE-{c['year']}-{c['city_code']}-{c['sequence']:05d}"
        assert re.fullmatch(r"[A-Z2-7]{12,}", c["verification_code"])
        by_key[(c["year"], c["city_code"])].append(c["sequence"])
    assert len({c["number"] for c in certificates}) == len(certificates)
    assert len({c["verification_code"] for c in certificates}) == len(certificates)
    counters = {(r["year"], r["city_code"]): r["last_sequence"] for r in await CertificateCounter.select()}
    assert set(counters) == set(by_key)
    for key, sequences in by_key.items():
        assert sorted(sequences) == list(range(1, len(sequences) + 1))
        assert counters[key] == len(sequences)
    # In order of issue within a city.
    for key in by_key:
        issued = sorted((c["sequence"], c["issue_date"]) for c in certificates
                        if (c["year"], c["city_code"]) == key)
        assert all(a[1] <= b[1] for a, b in itertools.pairwise(issued))
    revoked = [c for c in certificates if c["status"] == "revoked"]
    assert len(revoked) == 1 and revoked[0]["revoke_reason"] and revoked[0]["revoked_at"]
    passed = {r["id"] for r in await AssessmentResult.select().where(AssessmentResult.passed == True)}  # noqa: E712
    assert {c["result"] for c in certificates} == passed


async def test_no_person_is_in_two_cohorts_whose_dates_overlap(demo):
    rows = await Enrollment.select(Enrollment.trainee, Enrollment.cohort.planned_start.as_alias("start"),
                                   Enrollment.cohort.planned_end.as_alias("end"))
    spans: dict[int, list[tuple]] = defaultdict(list)
    for row in rows:
        spans[row["trainee"]].append((row["start"], row["end"]))
    assert any(len(s) > 1 for s in spans.values()), "some people train twice, at different times"
    for person in spans.values():
        for (s1, e1), (s2, e2) in itertools.combinations(person, 2):
            assert e1 < s2 or e2 < s1


async def test_attendance_credits_no_more_than_the_session_and_only_when_it_could_happen(demo):
    sessions = await TrainingSession.select(
        TrainingSession.all_columns(), TrainingSession.cohort.planned_start.as_alias("start"),
        TrainingSession.cohort.planned_end.as_alias("end"), TrainingSession.cohort.status.as_alias("status"))
    assert {(s["mode"], s["kind"]) for s in sessions} == {
        ("online", "theory"), ("online", "practice"), ("offline", "theory"), ("offline", "practice")}
    for s in sessions:
        minutes = (s["end_time"].hour * 60 + s["end_time"].minute) - (s["start_time"].hour * 60 + s["start_time"].minute)
        assert s["class_hours"] == minutes / 45
        assert s["start"] <= s["session_date"] <= s["end"]
        assert s["status"] in {"in_training", "training_ended", "assessed", "filed", "accepted"}
        assert (s["place"] if s["mode"] == "offline" else s["platform"])
    rows = await Attendance.select(
        Attendance.status, Attendance.credited_hours, Attendance.source, Attendance.minutes_online,
        Attendance.session.class_hours.as_alias("hours"), Attendance.session.mode.as_alias("mode"),
        Attendance.session.session_date.as_alias("day"), Attendance.enrollment.enrolled_on.as_alias("enrolled_on"),
        Attendance.enrollment.withdrawn_on.as_alias("withdrawn_on"))
    assert {r["status"] for r in rows} == {"present", "late", "left_early", "absent", "excused"}
    for r in rows:
        assert 0 <= r["credited_hours"] <= r["hours"]
        if r["status"] in {"absent", "excused"}:
            assert r["credited_hours"] == 0
        assert r["enrolled_on"] <= r["day"] < TODAY
        assert r["withdrawn_on"] is None or r["day"] < r["withdrawn_on"]
        assert r["source"] == ("online_platform" if r["mode"] == "online" else "manual")
        if r["mode"] == "online":
            assert r["minutes_online"] is not None and r["credited_hours"] <= r["minutes_online"] / 45


async def test_most_trainees_of_ended_cohorts_meet_the_standard_and_a_few_do_not(demo):
    rows = await Attendance.select(
        Attendance.enrollment, Attendance.credited_hours, Attendance.session.mode.as_alias("mode"),
        Attendance.session.kind.as_alias("kind"),
        Attendance.enrollment.cohort.status.as_alias("cohort_status"),
        Attendance.enrollment.status.as_alias("enrollment_status"),
        Attendance.enrollment.cohort.standard.required_hours.as_alias("required"),
        Attendance.enrollment.cohort.standard.min_practice_hours.as_alias("practice_min"),
        Attendance.enrollment.cohort.standard.max_online_share.as_alias("online_share"))
    totals: dict[int, dict] = {}
    for r in rows:
        if r["cohort_status"] not in {"training_ended", "assessed", "filed", "accepted"}:
            continue
        if r["enrollment_status"] == "withdrawn":
            continue
        t = totals.setdefault(r["enrollment"], {"online": 0.0, "offline": 0.0, "practice": 0.0, "row": r})
        t[r["mode"]] += r["credited_hours"]
        if r["kind"] == "practice":
            t["practice"] += r["credited_hours"]
    eligible = {}
    for enrollment, t in totals.items():
        std = t["row"]
        counted = t["offline"] + min(t["online"], std["required"] * std["online_share"])
        eligible[enrollment] = counted >= std["required"] and t["practice"] >= std["practice_min"]
    share = sum(eligible.values()) / len(eligible)
    assert 0.8 <= share < 1.0
    # Only eligible trainees have a result.
    with_result = {r["enrollment"] for r in await AssessmentResult.select(AssessmentResult.enrollment)}
    assert with_result <= {e for e, ok in eligible.items() if ok}
    for r in await AssessmentResult.select():
        if r["absent"]:
            assert not r["passed"]
        else:
            assert 0 <= r["theory_score"] <= 100 and 0 <= r["practice_score"] <= 100
            assert r["passed"] == (r["theory_score"] >= 60 and r["practice_score"] >= 60)


async def test_filings_are_due_thirty_days_after_the_assessment(demo):
    first_sitting = {a["cohort"]: a["assessment_date"] for a in await Assessment.select().where(Assessment.attempt == 1)}
    cohorts = {c["id"]: c for c in await Cohort.select()}
    assert {c["id"] for c in cohorts.values() if c["status"] in {"assessed", "filed", "accepted"}} == set(first_sitting)
    filings = await Filing.select()
    receipts = defaultdict(dict)
    for r in await FilingReceipt.select():
        receipts[r["filing"]][r["addressee"]] = r
    latest: dict[int, dict] = {}
    for f in filings:
        assert f["due_date"] == first_sitting[f["cohort"]] + timedelta(days=30)
        if f["status"] == "draft":
            assert not receipts[f["id"]]
            assert f["report_file"] is None and f["trainees_file"] is None  # [filings helper]
        else:
            assert set(receipts[f["id"]]) == {"province", "city"}
            # [filings helper] a version submitted after a return is never late; submitted ones have files
            late = f["version_number"] == 1 and f["submitted_at"].date() > f["due_date"]
            assert f["submitted_late"] == late
            assert f["report_file"] and f["trainees_file"] and len(f["package_sha256"]) == 64
        if f["cohort"] not in latest or f["version_number"] > latest[f["cohort"]]["version_number"]:
            latest[f["cohort"]] = f
    states = defaultdict(set)
    for cohort_id, f in latest.items():
        states[cohorts[cohort_id]["status"]].add(f["status"])
        if cohorts[cohort_id]["status"] == "accepted":
            assert {r["status"] for r in receipts[f["id"]].values()} == {"acknowledged"}
        if cohorts[cohort_id]["status"] == "filed":
            assert {r["status"] for r in receipts[f["id"]].values()} == {"pending"}
    assert states == {"accepted": {"acknowledged"}, "filed": {"submitted"}, "assessed": {"draft"}}
    assert any(f["submitted_late"] for f in filings)
    assessed = [c for c in cohorts.values() if c["status"] == "assessed"]
    overdue = [c for c in assessed if first_sitting[c["id"]] + timedelta(days=30) < TODAY]
    assert overdue and len(overdue) < len(assessed), "some assessed cohorts are overdue, some not yet due"
    assert any(c["id"] not in latest for c in overdue), "one overdue filing is missing altogether"
    assert any(latest.get(c["id"], {}).get("status") == "draft" for c in overdue)


async def test_demo_logins_authenticate_and_the_audit_chain_holds(demo):
    for login in DEMO_LOGINS:
        assert len(login.password) >= 10
        actor = await accounts.authenticate(login.username, login.password)
        assert actor.role == login.role
        if login.role == "city":
            assert actor.city_code in {"370100", "370200"}
        if login.role == "institution":
            name = await Institution.select(Institution.name).where(Institution.id == actor.institution_id).first()
            assert name["name"] == login.organisation
    assert {a.city_code for a in [await accounts.authenticate(login.username, login.password)
                                  for login in DEMO_LOGINS if login.role == "institution"]} == {"370100", "370200"}
    report = await audit.verify_chain()
    assert report.ok and report.events >= len(DEMO_LOGINS) + 1


async def test_loading_twice_changes_nothing(demo):
    before = await _counts()
    assert await load_demo() is False
    assert await load_demo(only_if_empty=True) is False
    assert await _counts() == before


async def test_the_demo_is_the_same_on_every_load(demo):
    async def snapshot():
        return (
            await Trainee.select(Trainee.id_number, Trainee.name, Trainee.phone).order_by(Trainee.id_number),
            await Certificate.select(Certificate.number, Certificate.verification_code, Certificate.issue_date,
                                     Certificate.trainee.id_number).order_by(Certificate.number),
            await Cohort.select(Cohort.code, Cohort.name, Cohort.status, Cohort.planned_start).order_by(Cohort.code),
            await Attendance.count(), await Attendance.select(Sum(Attendance.credited_hours)).first(),
        )

    first = await snapshot()  # the shared demo
    await _wipe()
    await load_demo()
    assert await snapshot() == first
