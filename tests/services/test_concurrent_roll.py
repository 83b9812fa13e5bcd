"""Concurrency of the attendance roll (issue 8, item 5): twenty clerks save the same session's roll
at the same moment, all from the same version they read. Exactly one wins; the nineteen others get
a 409 naming what the winner stored; nothing is lost when each saver re-reads and retries.

Real concurrency: every save is its own task with its own transaction (its own connection from the
pool on PostgreSQL, its own IMMEDIATE transaction on SQLite), started together with asyncio.gather,
once through the service and once through the HTTP API of the application.
"""

from __future__ import annotations

import asyncio

from tests.attendance_factories import institution_actor, make_cohort, make_enrollment, make_session
from tests.factories import bearer
from training.errors import StaleVersion
from training.services import attendance, audit
from training.services.attendance import RollEntry
from training.tables import Attendance, AuditEvent, TrainingSession

SAVERS = 20
STATUSES = ("present", "late", "left_early", "absent", "excused")


async def _session_with(n_people: int):
    cohort = await make_cohort()
    actor = await institution_actor(cohort)
    people = [await make_enrollment(cohort["id"], name=f"并发学员{i}") for i in range(n_people)]
    session_id = await make_session(cohort["id"])
    return cohort, actor, people, session_id


def _entries_of(saver: int, people: list[dict]) -> list[RollEntry]:
    """Saver ``saver``'s roll: a different status pattern for every saver, all read from an empty roll."""
    return [RollEntry(p["id"], STATUSES[(saver + i) % len(STATUSES)], was_status="") for i, p in enumerate(people)]


async def _stored(session_id: int) -> dict[int, str]:
    return {r["enrollment"]: r["status"] for r in await Attendance.select(Attendance.enrollment, Attendance.status)
            .where(Attendance.session == session_id)}


async def _roll_saves(session_id: int) -> int:
    return await AuditEvent.count().where((AuditEvent.action == "attendance.roll_save")
                                          & (AuditEvent.entity_id == str(session_id)))


async def test_twenty_concurrent_saves_from_one_version_one_wins_nineteen_get_409(database):
    _cohort, actor, people, session_id = await _session_with(5)
    version = (await attendance.get_roll(actor, session_id)).session["lock_version"]

    async def save(saver: int):
        return await attendance.save_roll(actor, session_id, version, _entries_of(saver, people))

    outcomes = await asyncio.gather(*(save(i) for i in range(SAVERS)), return_exceptions=True)
    winners = [i for i, o in enumerate(outcomes) if isinstance(o, attendance.Roll)]
    stale = [o for o in outcomes if isinstance(o, StaleVersion)]
    others = [o for o in outcomes if not isinstance(o, attendance.Roll | StaleVersion)]
    assert not others, others
    assert len(winners) == 1 and len(stale) == SAVERS - 1
    for conflict in stale:
        assert conflict.status_code == 409
        assert "已被他人保存" in conflict.detail
        # the conflict names the trainees the winner recorded (each loser read an empty roll)
        assert set(conflict.fields) == {f"enrollment:{p['id']}" for p in people}, conflict.fields
        assert "并发学员0" in conflict.detail
    winner = winners[0]
    assert await _stored(session_id) == {e.enrollment_id: e.status for e in _entries_of(winner, people)}
    session = await TrainingSession.select(TrainingSession.lock_version).where(TrainingSession.id == session_id).first()
    assert session["lock_version"] == version + 1
    assert outcomes[winner].session["lock_version"] == version + 1
    assert await _roll_saves(session_id) == 1  # one audit event per successful save, none for the 409s
    assert (await audit.verify_chain()).ok

    # then twenty saves one after another, each re-reading the version: every one succeeds
    for saver in range(SAVERS):
        current = (await attendance.get_roll(actor, session_id)).session["lock_version"]
        roll = await attendance.save_roll(actor, session_id, current, _entries_of(saver + 1, people))
        assert roll.session["lock_version"] == current + 1
        assert await _stored(session_id) == {e.enrollment_id: e.status for e in _entries_of(saver + 1, people)}
    assert await _roll_saves(session_id) == 1 + SAVERS
    assert (await audit.verify_chain()).ok


async def test_twenty_concurrent_clerks_retrying_on_409_lose_no_update(database):
    """Each of twenty clerks changes only their own trainee's line and, on a 409, re-reads the roll
    and saves again: in the end all twenty changes are stored (no lost update)."""
    _cohort, actor, people, session_id = await _session_with(SAVERS)
    everyone_present = [RollEntry(p["id"], "present") for p in people]
    await attendance.save_roll(actor, session_id, 1, everyone_present)
    conflicts = 0

    async def clerk(index: int) -> int:
        nonlocal conflicts
        attempts = 0
        while True:
            attempts += 1
            roll = await attendance.get_roll(actor, session_id)
            entries = [RollEntry(r["enrollment_id"], "absent" if r["enrollment_id"] == people[index]["id"]
                                 else r["status"], was_status=r["status"]) for r in roll.rows]
            try:
                await attendance.save_roll(actor, session_id, roll.session["lock_version"], entries)
                return attempts
            except StaleVersion:
                conflicts += 1
                await asyncio.sleep(0.001 * (index % 5))

    attempts = await asyncio.wait_for(asyncio.gather(*(clerk(i) for i in range(SAVERS))), timeout=300)
    assert await _stored(session_id) == {p["id"]: "absent" for p in people}
    assert sum(attempts) == SAVERS + conflicts
    assert await _roll_saves(session_id) == 1 + SAVERS
    session = await TrainingSession.select(TrainingSession.lock_version).where(TrainingSession.id == session_id).first()
    assert session["lock_version"] == 2 + SAVERS


async def test_twenty_concurrent_puts_through_the_api_one_200_nineteen_409(client):
    cohort = await make_cohort()
    clerk = await institution_actor(cohort, username="concurrent-clerk")
    assert clerk.role == "institution"
    headers = await bearer(client, "concurrent-clerk")
    people = [await make_enrollment(cohort["id"], name=f"接口学员{i}") for i in range(4)]
    session_id = await make_session(cohort["id"])
    url = f"/api/v1/sessions/{session_id}/attendance"
    version = (await client.get(url, headers=headers)).json()["lock_version"]

    def body(saver: int) -> dict:
        return {"lock_version": version, "entries": [
            {"enrollment_id": e.enrollment_id, "status": e.status, "was_status": ""}
            for e in _entries_of(saver, people)]}

    answers = await asyncio.gather(*(client.put(url, headers=headers, json=body(i)) for i in range(SAVERS)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] + [409] * (SAVERS - 1), [(a.status_code, a.text[:200]) for a in answers]
    winner = next(i for i, a in enumerate(answers) if a.status_code == 200)
    for answer in answers:
        if answer.status_code == 409:
            problem = answer.json()
            assert problem["error"] == "stale_version"
            assert "接口学员0" in problem["detail"] and len(problem["fields"]) == len(people)
    stored = (await client.get(url, headers=headers)).json()
    assert stored["lock_version"] == version + 1
    assert {r["enrollment_id"]: r["status"] for r in stored["rows"]} == {
        e.enrollment_id: e.status for e in _entries_of(winner, people)}
    assert await _roll_saves(session_id) == 1
    assert (await audit.verify_chain()).ok
