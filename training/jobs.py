"""Scheduler jobs: thin, idempotent calls into services, run by exactly one scheduler per deployment.

Every run first asks :func:`i_am_the_scheduler`. On PostgreSQL that is a session-level advisory
lock held on a connection of its own, kept open by the scheduler process: exactly one process
holds it, and the server releases it the moment that process or its connection dies. On SQLite
(one machine) it is a leased row in ``scheduler_lock`` renewed with a conditional UPDATE. A process
that is not the scheduler skips the run, so a second node or a second worker never double-acts.

Daily jobs also claim their period (China-time date) in ``job_run``, whose unique index lets one
run per day happen even if two processes somehow both believe they are the scheduler; after
downtime the start-up catch-up runs each missed daily job once, for today. Every job takes the
moment of the run (``now``) so tests drive it with a controlled clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from training import db
from training.rules.clock import CHINA, today_in_china, utcnow
from training.services import accounts
from training.settings import Settings
from training.tables import JobRun, SchedulerLock

log = logging.getLogger("training.jobs")
LOCK_NAME = "scheduler"
PG_LOCK_KEY = 7_270_900  # pg_try_advisory_lock key: "the scheduler of this database"
LEASE = timedelta(minutes=5)
HOLDER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def hold_lease(holder: str = HOLDER, lease: timedelta | None = None) -> bool:
    """Take or renew the scheduler lease (SQLite); ``True`` when this process is the one scheduler."""
    lease = LEASE if lease is None else lease
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


class _Role:
    held = False  # whether this process held the scheduler role at the last heartbeat


class _PgLock:
    """The advisory lock's dedicated connection (one per process, in the scheduler's event loop)."""

    connection: Any = None
    guard: asyncio.Lock | None = None
    guard_loop: Any = None


def _guard() -> asyncio.Lock:
    """Serialises this process's own checks: a job and the heartbeat firing together must not run
    two queries on the one connection at once (asyncpg refuses, and the lock would look lost)."""
    loop = asyncio.get_running_loop()
    if _PgLock.guard is None or _PgLock.guard_loop is not loop:
        _PgLock.guard, _PgLock.guard_loop = asyncio.Lock(), loop
    return _PgLock.guard


async def _pg_connection_alive() -> bool:
    connection = _PgLock.connection
    if connection is None or connection.is_closed():
        return False
    try:
        await asyncio.wait_for(connection.fetchval("SELECT 1"), timeout=10)
    except Exception:  # the connection died: the server has released (or will release) the lock
        with contextlib.suppress(Exception):
            connection.terminate()
        return False
    return True


async def hold_advisory_lock() -> bool:
    """PostgreSQL: hold ``pg_try_advisory_lock(PG_LOCK_KEY)`` on a connection kept open for it."""
    import asyncpg

    if await _pg_connection_alive():
        await _publish_holder(_PgLock.connection)
        return True  # still our session; session-level locks live as long as it
    _PgLock.connection = None
    config = dict(db.current_engine().config)
    connection = await asyncpg.connect(**config, timeout=10)
    try:
        got = await connection.fetchval("SELECT pg_try_advisory_lock($1)", PG_LOCK_KEY)
    except Exception:
        await connection.close()
        raise
    if not got:
        await connection.close()
        return False
    _PgLock.connection = connection
    await _publish_holder(connection)
    return True


async def _publish_holder(connection: Any) -> None:
    """For operators (and deploy/smoke): name the advisory lock's holder in ``scheduler_lock``.

    Informational only on PostgreSQL — the lock itself decides — so the row is simply overwritten."""
    with contextlib.suppress(Exception):
        await connection.execute(
            "INSERT INTO scheduler_lock (name, holder, lease_until) VALUES ($1, $2, $3) "
            "ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, lease_until = EXCLUDED.lease_until",
            LOCK_NAME, HOLDER, utcnow() + LEASE)


async def i_am_the_scheduler() -> bool:
    """``True`` when this process is the deployment's one scheduler (taking the role if it is free)."""
    async with _guard():
        if db.is_postgres():
            return await hold_advisory_lock()
        return await hold_lease()


async def release_scheduler() -> None:
    """Give the role up at once (shutdown), rather than when the lease lapses or the connection dies."""
    async with _guard():
        _Role.held = False
        connection, _PgLock.connection = _PgLock.connection, None
        if connection is not None and not connection.is_closed():
            with contextlib.suppress(Exception):
                await connection.execute(
                    "UPDATE scheduler_lock SET lease_until = $1 WHERE name = $2 AND holder = $3",
                    utcnow(), LOCK_NAME, HOLDER)
                await connection.execute("SELECT pg_advisory_unlock($1)", PG_LOCK_KEY)
            with contextlib.suppress(Exception):
                await connection.close()
        if not db.is_postgres():
            await release_lease()


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
    work: Callable[[Settings, datetime], Awaitable[object]]
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
    if not await i_am_the_scheduler():
        return "skipped: another process holds the scheduler lease"
    now = now or utcnow()
    period = job.period_key(now)
    if job.daily_at is not None and (period is None or not await claim_period(job.name, period)):
        return "skipped: not due, or already ran for this period"
    try:
        outcome = str(await job.work(settings, now))
    except Exception as exc:
        log.exception("job %s failed", job.name)
        outcome = f"failed: {type(exc).__name__}"
    if period is not None:
        await finish_period(job.name, period, outcome)
    log.info("job %s: %s", job.name, outcome)
    return outcome


async def purge_expired_tokens(_: Settings, __: datetime) -> int:
    return await accounts.purge_expired_tokens()


async def nightly_backup(settings: Settings, _: datetime) -> str:
    from training.services.backup import create_backup

    result = await asyncio.to_thread(create_backup, settings, settings.backup_keep)
    return f"{result.path.name} ({result.size} bytes)"


async def filing_deadline_sweep(_: Settings, now: datetime) -> str:
    """Create the draft filings of newly assessed cohorts, then send the reminders owed today."""
    from training.services import deadlines

    drafts = ""
    try:
        from training.services import filings
    except ImportError:  # the filing service is not installed in this build
        filings = None
    if filings is not None and hasattr(filings, "ensure_drafts"):
        drafts = f"{await filings.ensure_drafts()} drafts created; "
    return drafts + str(await deadlines.sweep_filing_deadlines(today_in_china(now)))


async def cohort_calendar(_: Settings, now: datetime) -> str:
    from training.services.cohort_calendar import advance_cohorts

    return str(await advance_cohorts(today_in_china(now)))


async def plan_due_reminders(_: Settings, now: datetime) -> str:
    from training.services import deadlines

    return str(await deadlines.plan_due_reminders(today_in_china(now)))


async def send_notification_emails(settings: Settings, now: datetime) -> str:
    from training.services.notifications import send_pending_emails

    if not settings.smtp.enabled:
        return "SMTP not configured"
    return str(await send_pending_emails(settings.smtp, settings.public_base_url, now))


JOBS: list[Job] = [
    Job("purge_expired_tokens", purge_expired_tokens, every=timedelta(hours=1)),
    Job("nightly_backup", nightly_backup, daily_at=time(2, 30)),
    Job("cohort_calendar", cohort_calendar, daily_at=time(0, 10)),
    Job("filing_deadline_sweep", filing_deadline_sweep, daily_at=time(8, 0)),
    Job("plan_due_reminders", plan_due_reminders, daily_at=time(8, 5)),
    Job("send_notification_emails", send_notification_emails, every=timedelta(minutes=5)),
]


async def catch_up(settings: Settings, now: datetime | None = None) -> None:
    """After downtime, run each daily job whose time today has passed but which has not run."""
    for job in JOBS:
        if job.daily_at is not None:
            await run_job(job, settings, now)


async def heartbeat(settings: Settings) -> None:
    """Keep (or take) the scheduler role; a process that has just taken it over catches up."""
    try:
        held = await i_am_the_scheduler()
    except Exception:
        log.exception("scheduler heartbeat failed")
        held = False
    taken_over, _Role.held = held and not _Role.held, held
    if taken_over:
        log.info("this process is now the scheduler (%s)", HOLDER)
        await catch_up(settings)


async def start_scheduler(settings: Settings) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=CHINA)
    for job in JOBS:
        if job.daily_at is not None:
            trigger = CronTrigger(hour=job.daily_at.hour, minute=job.daily_at.minute, timezone=CHINA)
        else:
            trigger = IntervalTrigger(seconds=(job.every or timedelta(hours=1)).total_seconds(), timezone=CHINA)
        scheduler.add_job(run_job, trigger, args=[job, settings], id=job.name, coalesce=True, max_instances=1,
                          misfire_grace_time=3600)
    # Renew the role every minute, so it stays with one process (SQLite lease; on PostgreSQL this
    # notices a lost connection and lets another process take over).
    scheduler.add_job(heartbeat, IntervalTrigger(seconds=60, timezone=CHINA), args=[settings], id="heartbeat",
                      coalesce=True, max_instances=1)
    # At start-up: take the role if it is free and run each daily job missed today (once).
    scheduler.add_job(heartbeat, "date", args=[settings], id="catch_up")
    scheduler.start()
    return scheduler
