"""The scheduler acts once per deployment and once per period, whatever the number of processes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta

from training import jobs
from training.tables import JobRun, SchedulerLock


async def test_only_one_holder_gets_the_lease(database):
    assert await jobs.hold_lease("node-a")
    assert not await jobs.hold_lease("node-b")
    assert await jobs.hold_lease("node-a")  # renewal by the holder


async def test_an_expired_lease_passes_to_another_process(database):
    assert await jobs.hold_lease("node-a", lease=timedelta(seconds=-1))
    assert await jobs.hold_lease("node-b")
    assert (await SchedulerLock.select(SchedulerLock.holder).first())["holder"] == "node-b"


async def test_concurrent_lease_attempts_elect_exactly_one(database):
    results = await asyncio.gather(*(jobs.hold_lease(f"node-{n}") for n in range(8)))
    assert sum(results) == 1


async def test_a_period_is_claimed_once(database):
    claims = await asyncio.gather(*(jobs.claim_period("nightly_backup", "2026-11-24") for _ in range(5)))
    assert sum(claims) == 1
    assert await jobs.claim_period("nightly_backup", "2026-11-25")


async def test_daily_job_runs_once_per_day_and_not_before_its_time(database):
    runs: list[str] = []

    async def work(_settings):
        runs.append("ran")
        return "ok"

    job = jobs.Job("test_daily", work, daily_at=time(2, 30))
    before = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # 02:00 China time on 24 November
    after = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)  # 03:00 China time
    assert "not due" in await jobs.run_job(job, database, before)
    assert await jobs.run_job(job, database, after) == "ok"
    assert "already ran" in await jobs.run_job(job, database, after + timedelta(hours=5))
    assert runs == ["ran"]
    row = await JobRun.select().where(JobRun.job == "test_daily").first()
    assert row["period_key"] == "2026-11-24"
    assert row["outcome"] == "ok"


async def test_a_process_without_the_lease_does_nothing(database):
    await jobs.hold_lease("someone-else")
    called = []

    async def work(_settings):
        called.append(1)

    outcome = await jobs.run_job(jobs.Job("x", work, every=timedelta(hours=1)), database)
    assert "another process" in outcome
    assert not called
