"""The one place that decides who sees and changes what.

Every service narrows its queries with :func:`scope` and checks a write with :func:`require`.
Records outside an actor's scope are reported as *not found* (404), so a probe learns nothing
about other organisations; records inside the scope that the actor may not change are *forbidden*.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from piccolo.columns.combination import Where, WhereRaw
from piccolo.table import Table

from training import tables as t
from training.errors import Forbidden, NotFound


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: a signed-in user and their organisation, or the system itself."""

    user_id: int | None
    username: str
    role: str  # province / city / institution / system
    city_id: int | None = None
    city_code: str = ""
    institution_id: int | None = None
    client_addr: str = ""
    display_name: str = ""
    locale: str = ""

    @property
    def is_province(self) -> bool:
        return self.role in {"province", "system"}

    @property
    def is_city(self) -> bool:
        return self.role == "city"

    @property
    def is_institution(self) -> bool:
        return self.role == "institution"


SYSTEM = Actor(user_id=None, username="system", role="system")

# Where a row of each table meets a city and an institution. ``None`` means the table is not
# owned that way (see the special cases in ``scope``).
Condition = Where | WhereRaw | Any
_CITY_PATH: dict[type[Table], Callable[[], Any]] = {
    t.Cohort: lambda: t.Cohort.city,
    t.Enrollment: lambda: t.Enrollment.cohort.city,
    t.TrainingSession: lambda: t.TrainingSession.cohort.city,
    t.Attendance: lambda: t.Attendance.session.cohort.city,
    t.AttendanceAmendment: lambda: t.AttendanceAmendment.cohort.city,
    t.Assessment: lambda: t.Assessment.cohort.city,
    t.AssessmentResult: lambda: t.AssessmentResult.assessment.cohort.city,
    t.Certificate: lambda: t.Certificate.city,
    t.Filing: lambda: t.Filing.cohort.city,
    t.Plan: lambda: t.Plan.city,
    t.PlanLine: lambda: t.PlanLine.plan.city,
    t.CatalogueEntry: lambda: t.CatalogueEntry.city,
    t.AnomalyFlag: lambda: t.AnomalyFlag.city,
    t.User: lambda: t.User.city,
}
_INSTITUTION_PATH: dict[type[Table], Callable[[], Any]] = {
    t.Cohort: lambda: t.Cohort.institution,
    t.Enrollment: lambda: t.Enrollment.cohort.institution,
    t.TrainingSession: lambda: t.TrainingSession.cohort.institution,
    t.Attendance: lambda: t.Attendance.session.cohort.institution,
    t.AttendanceAmendment: lambda: t.AttendanceAmendment.cohort.institution,
    t.Assessment: lambda: t.Assessment.cohort.institution,
    t.AssessmentResult: lambda: t.AssessmentResult.assessment.cohort.institution,
    t.Certificate: lambda: t.Certificate.institution,
    t.Filing: lambda: t.Filing.cohort.institution,
    t.AnomalyFlag: lambda: t.AnomalyFlag.institution,
    t.User: lambda: t.User.institution,
    t.Institution: lambda: t.Institution.id,
    t.Approval: lambda: t.Approval.institution,
    t.CatalogueEntry: lambda: t.CatalogueEntry.institution,
}
# Tables every signed-in user may read in full: reference data and the public catalogue.
_OPEN_TO_ALL = frozenset({t.City, t.Occupation, t.Standard})
# Tables a city reads in full because it works with every approved institution.
_CITY_READS_ALL = frozenset({t.Institution, t.Approval})


def scope(table: type[Table], actor: Actor) -> Condition | None:
    """The condition restricting ``table`` to what ``actor`` may see; ``None`` means everything.

    Raises ``Forbidden`` for a table the actor's role may not read at all.
    """
    if actor.is_province or table in _OPEN_TO_ALL:
        return None
    if table is t.Trainee:
        # A person is visible to the organisations that trained them (or are training them).
        enrollments = t.Enrollment.select(t.Enrollment.trainee)
        condition = scope(t.Enrollment, actor)
        if condition is not None:
            enrollments = enrollments.where(condition)
        return t.Trainee.id.is_in(enrollments)
    if table is t.AuditEvent:
        if actor.is_city:
            return t.AuditEvent.city_code == actor.city_code
        return t.AuditEvent.institution_id == actor.institution_id
    if table is t.Notification:
        return notification_scope(actor)
    if actor.is_city:
        if table in _CITY_READS_ALL:
            return None
        if table in _CITY_PATH:
            return _CITY_PATH[table]() == actor.city_id
    if actor.is_institution:
        if table is t.Plan:
            # An institution reads its city's plans once submitted, to open cohorts against them.
            return t.Plan.city.is_in(_institution_city_subquery(actor)) & t.Plan.status.is_in(
                ["submitted", "accepted"]
            )
        if table is t.PlanLine:
            return t.PlanLine.plan.city.is_in(_institution_city_subquery(actor)) & t.PlanLine.plan.status.is_in(
                ["submitted", "accepted"]
            )
        if table in _INSTITUTION_PATH:
            return _INSTITUTION_PATH[table]() == actor.institution_id
    raise Forbidden("您的角色无权查看此类数据")


def _institution_city_subquery(actor: Actor) -> Any:
    return t.Institution.select(t.Institution.city).where(t.Institution.id == actor.institution_id)


def notification_scope(actor: Actor) -> Condition:
    if actor.is_province:
        return t.Notification.recipient_role == "province"
    if actor.is_city:
        return (t.Notification.recipient_role == "city") & (t.Notification.city == actor.city_id)
    return (t.Notification.recipient_role == "institution") & (
        t.Notification.institution == actor.institution_id
    )


def restrict(query: Any, table: type[Table], actor: Actor) -> Any:
    """Apply :func:`scope` to a Piccolo select/count/exists query."""
    condition = scope(table, actor)
    return query if condition is None else query.where(condition)


async def ensure_visible(table: type[Table], record_id: Any, actor: Actor) -> None:
    """Raise ``NotFound`` unless the record exists and lies inside the actor's scope."""
    query = table.exists().where(table._meta.primary_key == record_id)
    if not await restrict(query, table, actor):
        raise NotFound("记录不存在，或不在您的管辖范围内")


# --- who may change what -------------------------------------------------------------------

# action -> roles that may attempt it; the record must also be visible to the actor (checked by
# ``require``), which is what ties a city to its own city and an institution to its own records.
_POLICY: dict[str, frozenset[str]] = {
    "institution.write": frozenset({"province"}),
    "approval.write": frozenset({"province"}),
    "standard.write": frozenset({"province"}),
    "catalogue.write": frozenset({"city"}),
    "plan.write": frozenset({"city"}),
    "plan.decide": frozenset({"province"}),
    "cohort.write": frozenset({"institution"}),
    "cohort.decide": frozenset({"city"}),
    "enrollment.write": frozenset({"institution"}),
    "session.write": frozenset({"institution"}),
    "attendance.write": frozenset({"institution"}),
    "assessment.write": frozenset({"institution"}),
    "certificate.issue": frozenset({"institution"}),
    "certificate.revoke": frozenset({"institution", "province"}),
    "filing.write": frozenset({"institution"}),
    "filing.decide": frozenset({"province", "city"}),
    "anomaly.review": frozenset({"city", "province"}),
    "audit.read": frozenset({"province", "city"}),
    "stats.read": frozenset({"province", "city"}),
    "user.manage": frozenset({"province"}),
    "trainee.full_id": frozenset({"institution", "city", "province"}),
}


def may(actor: Actor, action: str) -> bool:
    roles = _POLICY.get(action)
    if roles is None:
        raise KeyError(f"unknown action {action!r}")
    return actor.role == "system" or actor.role in roles


def require(actor: Actor, action: str) -> None:
    if not may(actor, action):
        raise Forbidden("您的角色无权执行此操作")


async def require_on(actor: Actor, action: str, table: type[Table], record_id: Any) -> None:
    """The actor may do ``action`` and the record is theirs to do it to."""
    await ensure_visible(table, record_id, actor)
    require(actor, action)
