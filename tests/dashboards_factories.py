"""Builders for the dashboards: a small province with known figures in two cities.

Jinan (370100): plan target 100; cohort J1 assessed (3 passed, 1 failed, 2 certified), its filing
overdue; J2 in training (2 enrolled + 1 withdrawn, 6 delivered hours: offline theory 4, online
practice 2, plus an undelivered session); J3 accepted, filed on time; one open and one confirmed
anomaly. Qingdao (370200): plan target 50; Q1 and Q2 training ended with overdue filings, Q3
filed late. Qingdao has the most overdue filings (2 against 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from tests.attendance_factories import make_cohort, make_enrollment, make_session
from tests.certificates_factories import assessed_cohort, ended_cohort
from tests.factories import city_id, make_user
from tests.plans_factories import make_plan
from training.access import Actor
from training.rules.clock import today_in_china, utcnow
from training.rules.cohorts import RUNNING_STATUSES
from training.services import certificates, stats
from training.tables import (
    AnomalyFlag,
    AssessmentResult,
    Certificate,
    Cohort,
    Enrollment,
    Filing,
    PlanLine,
    TrainingSession,
)


@dataclass
class Province:
    year: int
    province: Actor
    jinan: Actor
    qingdao: Actor
    institution: Actor  # J1's institution
    cohorts: dict[str, int] = field(default_factory=dict)
    names: dict[str, list[str]] = field(default_factory=dict)


async def make_filing(cohort_id: int, *, status: str = "draft", due: date, submitted_days_before_due: int | None = None,
                      late: bool = False, version: int = 1) -> int:
    submitted = None
    if submitted_days_before_due is not None:
        submitted = utcnow() - timedelta(days=max(0, (today_in_china() - due).days + submitted_days_before_due))
    row = await Filing.insert(Filing(cohort=cohort_id, version_number=version, status=status, due_date=due,
                                     submitted_at=submitted, submitted_late=late)).returning(Filing.id)
    return row[0]["id"]


async def make_flag(cohort: dict[str, Any], status: str, key: str) -> None:
    await AnomalyFlag.insert(AnomalyFlag(kind="daily_hours", city=await city_id(cohort["city_code"]),
                                         institution=cohort["institution_id"], cohort=cohort["id"],
                                         dedupe_key=key, review_status=status))


async def make_province() -> Province:
    today = today_in_china()
    year = today.year
    past = today - timedelta(days=5)
    await make_plan("370100", year=year, status="accepted", lines=[{"target_headcount": 100}])
    await make_plan("370200", year=year, status="submitted", lines=[{"target_headcount": 50}])
    cohorts: dict[str, int] = {}
    names: dict[str, list[str]] = {}

    j1 = await assessed_cohort("370100", passed=3, failed=1)
    cohorts["J1"] = j1["id"]
    outcome = await certificates.issue_all(j1["actor"], j1["id"])
    assert len(outcome.issued) == 3
    # revoke one: certified counts valid certificates only
    await Certificate.update({Certificate.status: "revoked"}).where(Certificate.number == outcome.issued[0])
    await make_filing(j1["id"], due=past)

    j2 = await make_cohort("370100", status="in_training", institution_id=j1["institution_id"])
    cohorts["J2"] = j2["id"]
    people = [await make_enrollment(j2["id"], name=f"在读学员{i}") for i in range(2)]
    await make_enrollment(j2["id"], name="退出学员", status="withdrawn")
    names["J2"] = [f"在读学员{i}" for i in range(2)]
    s1 = await make_session(j2["id"], mode="offline", kind="theory", hours=4.0)
    s2 = await make_session(j2["id"], mode="online", kind="practice", hours=2.0, day=today - timedelta(days=2))
    await make_session(j2["id"], mode="offline", kind="practice", hours=3.0, day=today + timedelta(days=3))
    await make_session(j2["id"], mode="offline", kind="theory", hours=1.0, day=today - timedelta(days=3))  # no roll
    await TrainingSession.update({TrainingSession.roll_saved_at: utcnow()}).where(
        TrainingSession.id.is_in([s1, s2]))
    assert people

    j3 = await ended_cohort("370100", eligible=2, ineligible=0, status="accepted")
    cohorts["J3"] = j3["id"]
    await make_filing(j3["id"], status="acknowledged", due=past, submitted_days_before_due=3)
    await make_flag(j1, "open", "dash-open-1")
    await make_flag(j1, "confirmed", "dash-confirmed-1")
    await make_flag(j1, "explained", "dash-explained-1")

    for label in ("Q1", "Q2"):
        q = await ended_cohort("370200", eligible=2, ineligible=1, status="training_ended")
        cohorts[label] = q["id"]
        await make_filing(q["id"], due=past - timedelta(days=1 if label == "Q1" else 2))
    q3 = await ended_cohort("370200", eligible=1, ineligible=0, status="filed")
    cohorts["Q3"] = q3["id"]
    await make_filing(q3["id"], status="submitted", due=past, submitted_days_before_due=-2, late=True)
    await make_flag(q3, "open", "dash-open-2")

    # every cohort starts in the year under test, whatever day of the year the suite runs
    await Cohort.update({Cohort.planned_start: date(year, 1, 1)}).where(Cohort.id.is_in(list(cohorts.values())))
    return Province(
        year=year, province=await make_user("province", username="dash-province"),
        jinan=await make_user("city", "370100", username="dash-jinan"),
        qingdao=await make_user("city", "370200", username="dash-qingdao"),
        institution=j1["actor"], cohorts=cohorts, names=names)


async def independent(city: str | None, year: int) -> dict[str, object]:
    """The figures counted again with the ORM, row by row, without the service's SQL."""
    start, end = date(year, 1, 1), date(year, 12, 31)

    def in_scope(path):  # a cohort column path: city and year conditions on it
        condition = (path.planned_start >= start) & (path.planned_start <= end)
        return condition & (path.city.code == city) if city else condition

    cohorts = await Cohort.select(Cohort.id, Cohort.status, Cohort.capacity).where(in_scope(Cohort))
    enrollments = await Enrollment.select(Enrollment.id, Enrollment.status).where(in_scope(Enrollment.cohort))
    certificates = await Certificate.count().where(in_scope(Certificate.cohort) & (Certificate.status == "valid"))
    results = await AssessmentResult.select(AssessmentResult.enrollment, AssessmentResult.passed).where(
        in_scope(AssessmentResult.assessment.cohort) & (AssessmentResult.absent == False))  # noqa: E712
    filings = await Filing.select().where(in_scope(Filing.cohort) & (Filing.version_number == 1))
    sessions = await TrainingSession.select().where(
        in_scope(TrainingSession.cohort) & TrainingSession.roll_saved_at.is_not_null())
    lines = await PlanLine.select(PlanLine.target_headcount).where(
        (PlanLine.plan.year == year) & ((PlanLine.plan.city.code == city) if city else (PlanLine.plan.year > 0)))
    flags = AnomalyFlag.count().where(AnomalyFlag.review_status == "open")
    if city:
        flags = flags.where(AnomalyFlag.city.code == city)
    today = today_in_china()
    hours = {(m, k): 0.0 for m in stats.MODES for k in stats.KINDS}
    for s in sessions:
        hours[(s["mode"], s["kind"])] += s["class_hours"]
    return {
        "cohorts": len(cohorts),
        "target": sum(line["target_headcount"] for line in lines),
        "capacity": sum(c["capacity"] for c in cohorts if c["status"] in RUNNING_STATUSES),
        "enrolled": sum(1 for e in enrollments if e["status"] != "withdrawn"),
        "completed": sum(1 for e in enrollments if e["status"] == "completed"),
        "certified": certificates,
        "assessed": len({r["enrollment"] for r in results}),
        "passed": len({r["enrollment"] for r in results if r["passed"]}),
        "on_time": sum(1 for f in filings if f["submitted_at"] is not None and not f["submitted_late"]),
        "late": sum(1 for f in filings if f["submitted_at"] is not None and f["submitted_late"]),
        "overdue": sum(1 for f in filings if f["status"] == "draft" and f["due_date"] < today),
        "anomalies_open": await flags,
        "hours": hours,
    }


def as_counts(f: stats.Figures) -> dict[str, object]:
    return {
        "cohorts": f.cohorts, "target": f.target, "capacity": f.capacity, "enrolled": f.enrolled,
        "completed": f.completed, "certified": f.certified, "assessed": f.assessed, "passed": f.passed,
        "on_time": f.on_time, "late": f.late, "overdue": f.overdue, "anomalies_open": f.anomalies_open,
        "hours": {(m, k): f.hours[m][k] for m in stats.MODES for k in stats.KINDS},
    }
