"""A trainee's record (学员培训档案): enrollments, hours by mode × kind, results and certificates
across cohorts — each part only as far as the reader's scope reaches (an institution sees the
cohorts it ran, a city its city's, the province everything)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from piccolo.query.functions.aggregate import Sum

from training.access import Actor, restrict
from training.rules.hours import Hours
from training.rules.levels import LEVELS
from training.services import trainees
from training.tables import AssessmentResult, Attendance, Certificate, Enrollment


@dataclass(slots=True)
class RecordEnrollment:
    enrollment: dict[str, Any]
    hours: Hours
    results: list[dict[str, Any]]
    certificate: dict[str, Any] | None


@dataclass(slots=True)
class TraineeRecord:
    trainee: dict[str, Any]
    enrollments: list[RecordEnrollment]

    @property
    def total_hours(self) -> float:
        return round(sum(e.hours.total for e in self.enrollments), 1)

    @property
    def certificates(self) -> list[dict[str, Any]]:
        return [e.certificate for e in self.enrollments if e.certificate]


async def trainee_record(actor: Actor, trainee_id: int) -> TraineeRecord:
    person = await trainees.get_trainee(actor, trainee_id)  # NotFound outside the scope
    enrollments = await restrict(Enrollment.select(
        Enrollment.id, Enrollment.status, Enrollment.enrolled_on, Enrollment.withdrawn_on, Enrollment.withdraw_reason,
        Enrollment.cohort.id.as_alias("cohort_id"), Enrollment.cohort.code.as_alias("cohort_code"),
        Enrollment.cohort.name.as_alias("cohort_name"), Enrollment.cohort.status.as_alias("cohort_status"),
        Enrollment.cohort.level.as_alias("level"), Enrollment.cohort.planned_start.as_alias("planned_start"),
        Enrollment.cohort.planned_end.as_alias("planned_end"),
        Enrollment.cohort.occupation.name.as_alias("occupation_name"),
        Enrollment.cohort.institution.name.as_alias("institution_name"),
        Enrollment.cohort.city.name.as_alias("city_name"),
        Enrollment.cohort.standard.required_hours.as_alias("required_hours"),
    ).where(Enrollment.trainee == trainee_id), Enrollment, actor).order_by(
        Enrollment.cohort.planned_start, ascending=False)
    ids = [e["id"] for e in enrollments]
    hours: dict[int, Hours] = {i: Hours() for i in ids}
    results: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    certificates: dict[int, dict[str, Any]] = {}
    if ids:
        for row in await restrict(Attendance.select(
            Attendance.enrollment.as_alias("enrollment"), Attendance.session.mode.as_alias("mode"),
            Attendance.session.kind.as_alias("kind"), Sum(Attendance.credited_hours).as_alias("hours"),
        ).where(Attendance.enrollment.is_in(ids)), Attendance, actor).group_by(
                Attendance.enrollment, Attendance.session.mode, Attendance.session.kind):
            hours[row["enrollment"]].add(row["mode"], row["kind"], float(row["hours"] or 0))
        for row in await restrict(AssessmentResult.select(
            AssessmentResult.enrollment, AssessmentResult.theory_score, AssessmentResult.practice_score,
            AssessmentResult.absent, AssessmentResult.passed, AssessmentResult.assessment.attempt.as_alias("attempt"),
            AssessmentResult.assessment.assessment_date.as_alias("assessment_date"),
            AssessmentResult.assessment.form.as_alias("form"),
        ).where(AssessmentResult.enrollment.is_in(ids)), AssessmentResult, actor).order_by(
                AssessmentResult.assessment.attempt):
            results[row["enrollment"]].append(row)
        for row in await restrict(Certificate.select(
            Certificate.enrollment, Certificate.number, Certificate.issue_date, Certificate.hours,
            Certificate.status, Certificate.revoked_at, Certificate.revoke_reason,
        ).where(Certificate.enrollment.is_in(ids)), Certificate, actor):
            certificates[row["enrollment"]] = row
    for e in enrollments:
        e["level_label"] = LEVELS.get(e["level"], e["level"])
    return TraineeRecord(person, [RecordEnrollment(e, hours[e["id"]], results[e["id"]], certificates.get(e["id"]))
                                  for e in enrollments])
