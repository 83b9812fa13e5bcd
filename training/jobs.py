"""Scheduler jobs: thin, idempotent calls into services, run by exactly one scheduler per deployment.

Every job first renews the deployment's scheduler lease (a row in ``scheduler_lock`` updated with
a conditional UPDATE, atomic on SQLite and PostgreSQL alike). A process that does not hold the
lease skips the run, so a second node or a second worker never double-acts.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from training import db
from training.rules.clock import CHINA, utcnow
from training.services import accounts
from training.settings import Settings
from training.tables import JobRun, SchedulerLock

log = logging.getLogger("training.jobs")
LOCK_NAME = "scheduler"
LEASE = timedelta(minutes=5)
HOLDER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def hold_lease(holder: str = HOLDER, lease: timedelta = LEASE) -> bool:
    """Take or renew the scheduler lease; ``True`` when this process is the one scheduler."""
    now = utcnow()
    async with db.transaction():
        # Two processes may create the row at once: the unique name lets exactly one insert win.
        await SchedulerLock.raw(
            "INSERT INTO scheduler_lock (name, holder, lease_until) VALUES ({}, '', {}) "
            "ON CONFLICT (name) DO NOTHING",
            LOCK_NAME, now - LEASE,
        )
        taken = await SchedulerLock.update(
            {SchedulerLock.holder: holder, SchedulerLock.lease_until: now + lease}
        ).where(
            (SchedulerLock.name == LOCK_NAME)
            & ((SchedulerLock.holder == holder) | (SchedulerLock.lease_until < now))
        ).returning(SchedulerLock.holder)
    return bool(taken)


async def release_lease(holder: str = HOLDER) -> None:
    await SchedulerLock.update({SchedulerLock.lease_until: utcnow()}).where(
        (SchedulerLock.name == LOCK_NAME) & (SchedulerLock.holder == holder)
    )


async def claim_period(job: str, period_key: str) -> bool:
    """Record that ``job`` runs for ``period_key``; ``False`` if that period was already claimed.

    The unique index on (job, period_key) makes this atomic across processes and restarts.
    """
    rows = await JobRun.raw(
        "INSERT INTO job_run (job, period_key, started_at, outcome) VALUES ({}, {}, {}, '') "
        "ON CONFLICT (job, period_key) DO NOTHING RETURNING id",
        job, period_key, utcnow(),
    )
    return bool(rows)


async def finish_period(job: str, period_key: str, outcome: str) -> None:
    await JobRun.update({JobRun.finished_at: utcnow(), JobRun.outcome: outcome[:2000]}).where(
        (JobRun.job == job) & (JobRun.period_key == period_key)
    )


@dataclass(frozen=True, slots=True)
class Job:
    """A periodic job. ``daily_at`` jobs run once per China calendar day (caught up once after
    downtime); the others run at every interval tick."""

    name: str
    work: Callable[[Settings], Awaitable[object]]
    daily_at: time | None = None
    every: timedelta | None = None

    def period_key(self, now: datetime) -> str | None:
        """The period a run at ``now`` belongs to, or ``None`` before today's scheduled time."""
        if self.daily_at is None:
            return None
        local = now.astimezone(CHINA)
        return local.date().isoformat() if local.time() >= self.daily_at else None


async def run_job(job: Job, settings: Settings, now: datetime | None = None) -> str:
    """Run ``job`` if this process is the scheduler and its period has not run yet."""
    if not await hold_lease():
        return "skipped: another process holds the scheduler lease"
    period = job.period_key(now or utcnow())
    if job.daily_at is not None and (period is None or not await claim_period(job.name, period)):
        return "skipped: not due, or already ran for this period"
    try:
        outcome = str(await job.work(settings))
    except Exception as exc:
        log.exception("job %s failed", job.name)
        outcome = f"failed: {type(exc).__name__}"
    if period is not None:
        await finish_period(job.name, period, outcome)
    log.info("job %s: %s", job.name, outcome)
    return outcome


async def purge_expired_tokens(_: Settings) -> int:
    return await accounts.purge_expired_tokens()


async def nightly_backup(settings: Settings) -> str:
    from training.services.backup import create_backup

    result = await asyncio.to_thread(create_backup, settings, settings.backup_keep)
    return f"{result.path.name} ({result.size} bytes)"


JOBS: list[Job] = [
    Job("purge_expired_tokens", purge_expired_tokens, every=timedelta(hours=1)),
    Job("nightly_backup", nightly_backup, daily_at=time(2, 30)),
]


async def catch_up(settings: Settings, now: datetime | None = None) -> None:
    """After downtime, run each daily job whose time today has passed but which has not run."""
    for job in JOBS:
        if job.daily_at is not None:
            await run_job(job, settings, now)


async def start_scheduler(settings: Settings) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=CHINA)
    for job in JOBS:
        if job.daily_at is not None:
            trigger = CronTrigger(hour=job.daily_at.hour, minute=job.daily_at.minute, timezone=CHINA)
        else:
            trigger = IntervalTrigger(seconds=(job.every or timedelta(hours=1)).total_seconds(), timezone=CHINA)
        scheduler.add_job(run_job, trigger, args=[job, settings], id=job.name, coalesce=True, max_instances=1,
                          misfire_grace_time=3600)
    scheduler.add_job(catch_up, "date", args=[settings], id="catch_up")
    scheduler.start()
    return scheduler
