"""Home-page figures per role, counted inside the actor's scope."""

from __future__ import annotations

from dataclasses import dataclass, field

from training.access import Actor, restrict
from training.rules.clock import today_in_china
from training.tables import Certificate, Cohort, Enrollment, Filing, Institution, Plan


@dataclass(frozen=True, slots=True)
class Overview:
    institutions: int
    cohorts_by_status: dict[str, int] = field(default_factory=dict)
    trainees_enrolled: int = 0
    certificates_valid: int = 0
    filings_overdue: int = 0
    filings_awaiting: int = 0
    plans_by_status: dict[str, int] = field(default_factory=dict)

    @property
    def cohorts_total(self) -> int:
        return sum(self.cohorts_by_status.values())


async def _count_by(table, column, actor: Actor) -> dict[str, int]:
    from piccolo.query.functions.aggregate import Count

    rows = await restrict(table.select(column, Count(table.id, alias="n")).group_by(column), table, actor)
    return {row[column._meta.name]: row["n"] for row in rows}


async def overview(actor: Actor) -> Overview:
    today = today_in_china()
    institutions = await restrict(Institution.count().where(Institution.status == "active"), Institution, actor)
    enrolled = await restrict(Enrollment.count().where(Enrollment.status != "withdrawn"), Enrollment, actor)
    certificates = await restrict(Certificate.count().where(Certificate.status == "valid"), Certificate, actor)
    overdue = await restrict(
        Filing.count().where((Filing.status == "draft") & (Filing.due_date < today)), Filing, actor
    )
    awaiting = await restrict(Filing.count().where(Filing.status == "submitted"), Filing, actor)
    plans = await _count_by(Plan, Plan.status, actor) if not actor.is_institution else {}
    return Overview(
        institutions=institutions,
        cohorts_by_status=await _count_by(Cohort, Cohort.status, actor),
        trainees_enrolled=enrolled,
        certificates_valid=certificates,
        filings_overdue=overdue,
        filings_awaiting=awaiting,
        plans_by_status=plans,
    )
