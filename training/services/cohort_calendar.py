"""The cohort calendar: status changes that follow from the dates, made by the scheduler each day.

``approved`` → ``in_training`` once the planned start has come; ``in_training`` → ``training_ended``
once the planned end has passed. Each transition is one UPDATE scoped by status and date (so a
rerun, or a cohort someone else moved meanwhile, changes nothing), followed by one audit event per
cohort moved — a few dozen a day at provincial scale, all in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from training import db
from training.access import SYSTEM
from training.rules.clock import utcnow
from training.services import audit
from training.tables import City, Cohort


@dataclass(frozen=True, slots=True)
class CalendarResult:
    started: int
    ended: int

    def __str__(self) -> str:
        return f"{self.started} cohorts started, {self.ended} ended"


async def _move(condition: Any, old: str, new: str, action: str, today: date, codes: dict[int, str]) -> int:
    rows = await Cohort.update({
        Cohort.status: new, Cohort.lock_version: Cohort.lock_version + 1, Cohort.updated_at: utcnow(),
    }).where((Cohort.status == old) & condition).returning(
        Cohort.id, Cohort.city, Cohort.institution, Cohort.lock_version)
    for row in sorted(rows, key=lambda r: r["id"]):
        await audit.record(
            SYSTEM, action, "cohort", row["id"],
            before={"status": old, "lock_version": row["lock_version"] - 1},
            after={"status": new, "lock_version": row["lock_version"], "on": today},
            city_code=codes.get(row["city"], ""), institution_id=row["institution"])
    return len(rows)


async def advance_cohorts(today: date) -> CalendarResult:
    """Move cohorts whose dates say so; idempotent (a second run the same day moves nothing)."""
    async with db.transaction():
        codes = {r["id"]: r["code"] for r in await City.select(City.id, City.code)}
        started = await _move(Cohort.planned_start <= today, "approved", "in_training", "cohort.start_training",
                              today, codes)
        ended = await _move(Cohort.planned_end < today, "in_training", "training_ended", "cohort.end_training",
                            today, codes)
    return CalendarResult(started=started, ended=ended)
