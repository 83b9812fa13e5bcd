"""Builders for the assessment and certificate area: a cohort whose training has ended, with
eligible, ineligible and withdrawn trainees (real attendance rows against the junior standard:
128 h, ≥ 48 practice, ≤ 50 % online), and a cohort already assessed with passed results.

Also a worker run as its own OS process (``python -m tests.certificates_factories issue …``) that
issues certificates for given cohorts, for the two-process numbering test.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from datetime import timedelta
from typing import Any

from tests.attendance_factories import make_cohort, make_enrollment, make_session
from tests.factories import id_number, make_user
from training.rules.clock import today_in_china
from training.tables import Assessment, AssessmentResult, Attendance, Cohort, Enrollment

_serial = itertools.count(1)
PASS_THEORY, PASS_PRACTICE = 80, 48  # offline hours: 128 in all, 48 of them practice


async def _credit(enrollment_id: int, session_id: int, hours: float) -> None:
    await Attendance.insert(Attendance(enrollment=enrollment_id, session=session_id, status="present",
                                       credited_hours=hours))


async def ended_cohort(city_code: str = "370100", *, eligible: int = 3, ineligible: int = 1, withdrawn: int = 0,
                       status: str = "training_ended", institution_id: int | None = None,
                       ended_days_ago: int = 1) -> dict[str, Any]:
    """A cohort that ran from 40 days ago until ``ended_days_ago`` days ago, with its people.

    Eligible trainees attended 80 h theory + 48 h practice offline; ineligible ones only the
    theory; withdrawn ones attended everything and then withdrew."""
    today = today_in_china()
    cohort = await make_cohort(city_code, institution_id=institution_id, status=status,
                               start=today - timedelta(days=40), end=today - timedelta(days=ended_days_ago))
    theory = await make_session(cohort["id"], day=today - timedelta(days=30), hours=PASS_THEORY, kind="theory")
    practice = await make_session(cohort["id"], day=today - timedelta(days=20), hours=PASS_PRACTICE, kind="practice")
    people: dict[str, list[dict[str, Any]]] = {"eligible": [], "ineligible": [], "withdrawn": []}
    for group, count in (("eligible", eligible), ("ineligible", ineligible), ("withdrawn", withdrawn)):
        for _ in range(count):
            n = next(_serial)
            person = await make_enrollment(cohort["id"], name=f"{'张李王赵'[n % 4]}学{n}", number=id_number(),
                                           enrolled_on=today - timedelta(days=41))
            await _credit(person["id"], theory, PASS_THEORY)
            if group != "ineligible":
                await _credit(person["id"], practice, PASS_PRACTICE)
            if group == "withdrawn":
                await Enrollment.update({Enrollment.status: "withdrawn"}).where(Enrollment.id == person["id"])
            people[group].append(person)
    actor = await make_user("institution", str(cohort["institution_id"]))
    return {**cohort, "actor": actor, **people}


async def assessed_cohort(city_code: str = "370100", *, passed: int = 3, failed: int = 0,
                          institution_id: int | None = None) -> dict[str, Any]:
    """An assessed cohort whose results are already recorded (inserted directly)."""
    cohort = await ended_cohort(city_code, eligible=passed + failed, ineligible=0, status="assessed",
                                institution_id=institution_id)
    sitting = (await Assessment.insert(Assessment(cohort=cohort["id"], assessment_date=today_in_china(),
                                                  form="both", attempt=1)).returning(Assessment.id))[0]["id"]
    for index, person in enumerate(cohort["eligible"]):
        ok = index < passed
        await AssessmentResult.insert(AssessmentResult(assessment=sitting, enrollment=person["id"],
                                                       theory_score=90 if ok else 30, practice_score=85, passed=ok))
        await Enrollment.update({Enrollment.status: "completed" if ok else "enrolled"}).where(
            Enrollment.id == person["id"])
    return {**cohort, "assessment_id": sitting}


async def set_status(cohort_id: int, status: str) -> None:
    await Cohort.update({Cohort.status: status}).where(Cohort.id == cohort_id)


# --- the worker process -------------------------------------------------------------------

async def _issue(cohort_ids: list[int], institution_ids: list[int], start_at: float) -> list[str]:
    from training import db
    from training.services import accounts, certificates
    from training.settings import Settings
    from training.tables import User

    engine = db.bind(Settings.from_env())
    await db.start(engine)
    try:
        actors = []
        for institution_id in institution_ids:
            user = await User.select(User.id).where(User.institution == institution_id).first()
            actors.append(await accounts._actor_for_user_id(user["id"], "127.0.0.1"))
        await asyncio.sleep(max(0.0, start_at - time.time()))  # both processes start together
        outcomes = await asyncio.gather(*(certificates.issue_all(actor, cohort_id)
                                          for actor, cohort_id in zip(actors, cohort_ids, strict=True)))
        return [number for outcome in outcomes for number in outcome.issued]
    finally:
        await db.stop(engine)


def main(argv: list[str]) -> None:
    """``issue <start_at> <cohort_id>:<institution_id> …``: prints the numbers issued as JSON."""
    if len(argv) < 3 or argv[0] != "issue":
        raise SystemExit("usage: python -m tests.certificates_factories issue <start_at> <cohort>:<institution> …")
    pairs = [tuple(int(x) for x in arg.split(":")) for arg in argv[2:]]
    numbers = asyncio.run(_issue([p[0] for p in pairs], [p[1] for p in pairs], float(argv[1])))
    sys.stdout.write(json.dumps(numbers))


if __name__ == "__main__":
    main(sys.argv[1:])
