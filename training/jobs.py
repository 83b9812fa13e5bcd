"""Scheduler jobs: thin, idempotent calls into services, run by exactly one scheduler per deployment.

Every job first renews the deployment's scheduler lease (a row in ``scheduler_lock`` updated with
a conditional UPDATE, atomic on SQLite and PostgreSQL alike). A process that does not hold the
lease skips the run, so a second node or a second worker never double-acts.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from training import db
from training.rules.clock import CHINA, utcnow
from training.services import accounts
from training.settings import Settings
from training.tables import SchedulerLock

log = logging.getLogger("training.jobs")
LOCK_NAME = "scheduler"
LEASE = timedelta(minutes=5)
HOLDER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def hold_lease(holder: str = HOLDER, lease: timedelta = LEASE) -> bool:
    """Take or renew the scheduler lease; ``True`` when this process is the one scheduler."""
    now = utcnow()
    async with db.transaction():
        if not await SchedulerLock.exists().where(SchedulerLock.name == LOCK_NAME):
            await SchedulerLock.insert(SchedulerLock(name=LOCK_NAME, holder="", lease_until=now))
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


def _exclusive(job: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        if not await hold_lease():
            log.debug("job %s skipped: another process holds the scheduler lease", job.__name__)
            return
        outcome = await job()
        log.info("job %s: %s", job.__name__, outcome)

    run.__name__ = job.__name__
    return run


async def purge_expired_tokens() -> int:
    return await accounts.purge_expired_tokens()


JOBS: list[tuple[Callable[[], Awaitable[object]], IntervalTrigger]] = [
    (purge_expired_tokens, IntervalTrigger(hours=1, timezone=CHINA)),
]


async def start_scheduler(settings: Settings) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=CHINA)
    for job, trigger in JOBS:
        scheduler.add_job(_exclusive(job), trigger, id=job.__name__, coalesce=True, max_instances=1,
                          misfire_grace_time=3600)
    scheduler.start()
    return scheduler
