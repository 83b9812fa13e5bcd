"""Progress (学习进度) and eligibility for the final assessment, per trainee of a cohort.

Credited hours by mode × kind come from one aggregate query per cohort (GROUP BY enrollment,
mode, kind) — never a query per trainee — and are measured by ``rules.hours`` against the
standard the cohort was opened under.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from training.access import Actor
from training.rules import hours as rules
from training.rules.clock import today_in_china
from training.rules.identity import mask_id_number
from training.services.enrollments import cohort_in_scope

__all__ = ["CohortProgress", "TraineeProgress", "cohort_in_scope", "cohort_progress"]
from training.tables import Attendance, Enrollment


@dataclass(slots=True)
class TraineeProgress:
    enrollment_id: int
    name: str
    id_masked: str
    status: str
    hours: rules.Hours
    eligibility: rules.Eligibility
    at_risk: bool
    bars: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class CohortProgress:
    cohort: dict[str, Any]
    requirement: rules.Requirement
    illustrative: bool
    scheduled: rules.Hours
    remaining: rules.Hours
    trainees: list[TraineeProgress]

    @property
    def eligible_count(self) -> int:
        return sum(1 for t in self.trainees if t.eligibility.eligible)

    @property
    def at_risk(self) -> list[TraineeProgress]:
        return [t for t in self.trainees if t.at_risk]


async def cohort_progress(actor: Actor, cohort_id: int) -> CohortProgress:
    cohort = await cohort_in_scope(actor, cohort_id)
    requirement = rules.Requirement(float(cohort["required_hours"]), float(cohort["min_practice_hours"]),
                                    float(cohort["max_online_share"]))
    credited: dict[int, rules.Hours] = {}
    for row in await Attendance.raw(
            "SELECT a.enrollment AS enrollment, s.mode AS mode, s.kind AS kind, SUM(a.credited_hours) AS hours "
            "FROM attendance a JOIN training_session s ON s.id = a.session WHERE s.cohort = {} "
            "GROUP BY a.enrollment, s.mode, s.kind", cohort_id):
        credited.setdefault(row["enrollment"], rules.Hours()).add(row["mode"], row["kind"], float(row["hours"] or 0))
    # Remaining = sessions still to come: after today, and today's whose roll is not saved yet.
    scheduled, remaining = rules.Hours(), rules.Hours()
    today = today_in_china()
    for row in await Attendance.raw(
            "SELECT mode, kind, session_date AS day, roll_saved_at IS NULL AS open, SUM(class_hours) AS hours "
            "FROM training_session WHERE cohort = {} GROUP BY mode, kind, session_date, roll_saved_at IS NULL",
            cohort_id):
        day = row["day"] if isinstance(row["day"], date) else date.fromisoformat(str(row["day"])[:10])
        scheduled.add(row["mode"], row["kind"], float(row["hours"]))
        if day > today or (day == today and row["open"]):
            remaining.add(row["mode"], row["kind"], float(row["hours"]))
    people = await Enrollment.select(
        Enrollment.id, Enrollment.status, Enrollment.trainee.name.as_alias("name"),
        Enrollment.trainee.id_number.as_alias("id_number"),
    ).where(Enrollment.cohort == cohort_id).order_by(Enrollment.id)
    out = []
    for person in people:
        hours = credited.get(person["id"], rules.Hours())
        verdict = rules.eligibility(hours, requirement)
        active = person["status"] == "enrolled"
        out.append(TraineeProgress(
            enrollment_id=person["id"], name=person["name"], id_masked=mask_id_number(person["id_number"]),
            status=person["status"], hours=hours, eligibility=verdict,
            at_risk=active and not verdict.eligible and rules.at_risk(hours, remaining, requirement),
            bars={
                "total": rules.share(verdict.countable_total, requirement.required_hours),
                "practice": rules.share(hours.practice, requirement.min_practice_hours),
                "online": rules.share(hours.online, requirement.online_cap),
            },
        ))
    return CohortProgress(cohort=cohort, requirement=requirement, illustrative=bool(cohort["standard_illustrative"]),
                          scheduled=scheduled, remaining=remaining, trainees=out)
