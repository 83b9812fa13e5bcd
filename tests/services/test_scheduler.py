"""The scheduler acts once per deployment and once per period, whatever the number of processes;
the e-mail job sends each notification once, to a local SMTP server the test starts."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from tests.factories import make_institution, make_user
from training import db, jobs
from training.services import notifications
from training.settings import PROJECT_ROOT, SmtpSettings
from training.tables import AuditEvent, JobRun, Notification, SchedulerLock, User


@pytest.fixture(autouse=True)
async def no_role_held(database) -> AsyncIterator[None]:
    """Each test starts and ends with this process not holding the scheduler role."""
    await jobs.release_scheduler()
    yield
    await jobs.release_scheduler()


async def take_role_elsewhere() -> object:
    """Make "another process" the scheduler: a foreign lease row, or the advisory lock held on
    another connection. Returns what to release."""
    if not db.is_postgres():
        await jobs.hold_lease("someone-else")
        return None
    import asyncpg

    other = await asyncpg.connect(**db.current_engine().config)
    assert await other.fetchval("SELECT pg_try_advisory_lock($1)", jobs.PG_LOCK_KEY)
    return other


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

    async def work(_settings, _now):
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
    other = await take_role_elsewhere()
    called = []

    async def work(_settings, _now):
        called.append(1)

    try:
        outcome = await jobs.run_job(jobs.Job("x", work, every=timedelta(hours=1)), database)
        assert "another process" in outcome
        assert not called
        assert not await jobs.i_am_the_scheduler()
    finally:
        if other is not None:
            await other.close()
    if db.is_postgres():  # the other session ended: its lock is gone and this process may take the role
        assert await jobs.i_am_the_scheduler()


async def test_a_job_and_the_heartbeat_checking_at_once_keep_the_role(database):
    results = await asyncio.gather(*(jobs.i_am_the_scheduler() for _ in range(10)))
    assert all(results)
    if db.is_postgres():
        connection = jobs._PgLock.connection
        await asyncio.gather(*(jobs.i_am_the_scheduler() for _ in range(10)))
        assert jobs._PgLock.connection is connection and not connection.is_closed()


async def test_catch_up_after_downtime_runs_each_missed_daily_job_once(database):
    runs: list[str] = []

    async def work(_settings, now):
        runs.append(now.isoformat())
        return "ok"

    job = jobs.Job("test_catch_up", work, daily_at=time(8, 0))
    saved = list(jobs.JOBS)
    jobs.JOBS[:] = [job]
    try:
        back = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # 10:00 China time, after three days down
        for _ in range(3):  # restarts (or catch-ups) in a row the same day
            await jobs.catch_up(database, back)
        assert len(runs) == 1
        await jobs.run_job(job, database, back + timedelta(hours=1))  # the cron tick later that day
        assert len(runs) == 1
        assert [r["period_key"] for r in await JobRun.select(JobRun.period_key)] == ["2026-11-24"]
    finally:
        jobs.JOBS[:] = saved


def test_every_job_takes_the_moment_of_the_run() -> None:
    names = {job.name for job in jobs.JOBS}
    assert {"filing_deadline_sweep", "cohort_calendar", "plan_due_reminders", "send_notification_emails",
            "nightly_backup", "purge_expired_tokens"} <= names
    daily = {job.name: job.daily_at for job in jobs.JOBS if job.daily_at}
    assert daily["cohort_calendar"] < daily["filing_deadline_sweep"]  # statuses first, then reminders


# --- two real OS processes against one database --------------------------------------------

WORKER = r"""
import asyncio, json, os, sys
from datetime import UTC, datetime, time, timedelta
from training import db, jobs
from training.access import SYSTEM
from training.services import audit
from training.settings import Settings

async def main(mode, rounds, go, stop):
    settings = Settings.from_env()
    engine = db.bind(settings)
    await db.start(engine)
    if os.environ.get("LEASE_SECONDS"):
        jobs.LEASE = timedelta(seconds=float(os.environ["LEASE_SECONDS"]))

    async def work(_settings, _now):
        async with db.transaction():  # an effect that is NOT idempotent by itself
            await audit.record(SYSTEM, "test.effect", "test", os.getpid())
        return "did it"

    job = jobs.Job("race_daily", work, daily_at=time(0, 0))
    now = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
    print("ready", flush=True)
    while not os.path.exists(go):
        await asyncio.sleep(0.01)
    if mode == "race":
        held, ran = 0, 0
        for _ in range(rounds):
            outcome = await jobs.run_job(job, settings, now)
            ran += outcome == "did it"
            if outcome.startswith("failed"):
                print(outcome, file=sys.stderr)
            held += await jobs.i_am_the_scheduler()
        print(json.dumps({"pid": os.getpid(), "held": held, "ran": ran}), flush=True)
        while not os.path.exists(stop):  # stay alive (holding the role, if held) until told
            held += await jobs.i_am_the_scheduler()
            await asyncio.sleep(0.02)
        print(json.dumps({"held_until_stop": held}), flush=True)
        while not os.path.exists(stop + ".exit"):  # keep the role until both have reported
            await asyncio.sleep(0.02)
    else:  # hold: take the role when free, say so, keep renewing it until killed
        before = False
        while True:
            now_held = await jobs.i_am_the_scheduler()
            if now_held and not before:
                print("held", flush=True)
            before = now_held
            await asyncio.sleep(0.2)
    await jobs.release_scheduler()
    await db.stop(engine)

asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]))
"""


async def spawn(database, mode: str, go: str, stop: str, rounds: int = 40, lease: str = "") -> asyncio.subprocess.Process:
    env = {**os.environ, "TRAINING_DATABASE_URL": database.database.url, "TRAINING_DATA_DIR": str(database.data_dir),
           "TRAINING_SECRET_KEY": "test-secret-key-not-for-production", "TRAINING_SCHEDULER": "0"}
    if lease:
        env["LEASE_SECONDS"] = lease
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WORKER, mode, str(rounds), go, stop, cwd=PROJECT_ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert (await asyncio.wait_for(process.stdout.readline(), 60)).strip() == b"ready", await process.stderr.read()
    return process


async def test_two_scheduler_processes_racing_act_exactly_once(database, tmp_path):
    go, stop = str(tmp_path / "go"), str(tmp_path / "stop")
    workers = [await spawn(database, "race", go, stop) for _ in range(2)]
    try:
        Path(go).touch()  # noqa: ASYNC240
        first = [json.loads(await asyncio.wait_for(w.stdout.readline(), 120)) for w in workers]
        Path(stop).touch()  # noqa: ASYNC240
        last = [json.loads(await asyncio.wait_for(w.stdout.readline(), 60)) for w in workers]
        Path(stop + ".exit").touch()  # noqa: ASYNC240
        for w in workers:
            assert await asyncio.wait_for(w.wait(), 60) == 0, await w.stderr.read()
    finally:
        for w in workers:
            if w.returncode is None:
                w.kill()
    assert sum(r["ran"] for r in first) == 1, (first, last)  # the job's effect happened once…
    assert await AuditEvent.count().where(AuditEvent.action == "test.effect") == 1
    assert await JobRun.count().where(JobRun.job == "race_daily") == 1
    # …and while both lived, only one of them ever held the role.
    holders = [f["held"] + s["held_until_stop"] for f, s in zip(first, last, strict=True)]
    assert sorted(h > 0 for h in holders) == [False, True], (first, last)


async def test_when_the_scheduler_process_dies_another_takes_over(database, tmp_path):
    go, stop = str(tmp_path / "go"), str(tmp_path / "stop")
    lease = "" if db.is_postgres() else "1"  # SQLite: a short lease, as the row outlives the process
    holder = await spawn(database, "hold", go, stop, lease=lease)
    waiter = None
    try:
        Path(go).touch()  # noqa: ASYNC240
        assert (await asyncio.wait_for(holder.stdout.readline(), 60)).strip() == b"held"
        waiter = await spawn(database, "hold", go, stop, lease=lease)
        with pytest.raises(TimeoutError):  # the waiter cannot take the role while the holder lives
            await asyncio.wait_for(waiter.stdout.readline(), 2)
        assert not await jobs.i_am_the_scheduler()
        holder.send_signal(signal.SIGKILL)  # no clean shutdown: the connection just dies
        await holder.wait()
        assert (await asyncio.wait_for(waiter.stdout.readline(), 60)).strip() == b"held"
        assert not await jobs.i_am_the_scheduler()
        # operators see who holds the role (on PostgreSQL the row is informational only)
        row = await SchedulerLock.select(SchedulerLock.holder).first()
        assert row["holder"].split(":")[1] == str(waiter.pid)
    finally:
        for process in (holder, waiter):
            if process is not None and process.returncode is None:
                process.kill()
                await process.wait()


# --- e-mail --------------------------------------------------------------------------------


class Inbox:
    """aiosmtpd handler keeping what it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], object]] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((list(envelope.rcpt_tos), message_from_bytes(envelope.original_content,
                                                                          policy=policy.default)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"mailer" and auth_data.password == b"s3cret-pass"
        return AuthResult(success=ok)

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=authenticate,
                            auth_require_tls=False)
    controller.start()
    yield inbox, port
    controller.stop()


async def test_notifications_are_emailed_once_with_subject_recipient_and_utf8_body(database, smtp_server, caplog):
    inbox, port = smtp_server
    institution = await make_institution(email="office@school.example")
    staff = await make_user("institution", str(institution))
    await User.update({User.email: "li@school.example"}).where(User.id == staff.user_id)
    await make_user("institution", str(institution))  # a colleague without an address
    city = await make_user("city", "370100")  # a city user without an address: nothing to send
    await notifications.notify(recipient_role="institution", institution_id=institution, kind="filing_due",
                               title="备案提醒：C2026-0001 距备案截止还有 3 天", body="请于 2026年06月30日前备案。",
                               link="/cohorts/1/filing", dedupe_key="t:1")
    await notifications.notify(recipient_role="city", city_id=city.city_id, kind="plan_due", title="计划提醒",
                               dedupe_key="t:2")
    settings = replace(database, smtp=SmtpSettings(host="127.0.0.1", port=port, username="mailer",
                                                   password="s3cret-pass", sender="noreply@training.example"))
    job = next(j for j in jobs.JOBS if j.name == "send_notification_emails")
    with caplog.at_level(logging.DEBUG):
        outcome = await jobs.run_job(job, settings)
    assert outcome.startswith("1 e-mailed, 1 without an address")
    assert len(inbox.received) == 1
    recipients, message = inbox.received[0]
    assert recipients == ["li@school.example"]
    assert message["Subject"] == "备案提醒：C2026-0001 距备案截止还有 3 天"
    assert message["From"] == "noreply@training.example"
    body = message.get_body().get_content()
    assert "请于 2026年06月30日前备案。" in body and "http://127.0.0.1:8000/cohorts/1/filing" in body
    assert "s3cret-pass" not in caplog.text
    assert await Notification.count().where(Notification.emailed_at.is_null()) == 0
    assert (await jobs.run_job(job, settings)).startswith("0 e-mailed")
    assert len(inbox.received) == 1  # a second run sends nothing


async def test_an_institution_without_user_addresses_is_emailed_at_its_own_address(database, smtp_server):
    inbox, port = smtp_server
    institution = await make_institution(email="office@school.example")
    await make_user("institution", str(institution))
    await notifications.notify(recipient_role="institution", institution_id=institution, kind="x", title="测试",
                               dedupe_key="t:3")
    run = await notifications.send_pending_emails(
        SmtpSettings(host="127.0.0.1", port=port, username="mailer", password="s3cret-pass"), "http://x")
    assert run.sent == 1 and inbox.received[0][0] == ["office@school.example"]


async def test_a_failed_send_is_retried_and_nothing_is_attempted_without_smtp(database, smtp_server):
    inbox, port = smtp_server
    institution = await make_institution(email="office@school.example")
    await notifications.notify(recipient_role="institution", institution_id=institution, kind="x", title="测试",
                               dedupe_key="t:4")
    job = next(j for j in jobs.JOBS if j.name == "send_notification_emails")
    assert await jobs.run_job(job, database) == "SMTP not configured"  # the test settings have no host
    down = SmtpSettings(host="127.0.0.1", port=free_port())  # nobody listening
    run = await notifications.send_pending_emails(down, "http://x")
    assert (run.sent, run.failed) == (0, 1)
    row = await Notification.select(Notification.emailed_at, Notification.email_claimed_until).first()
    assert row == {"emailed_at": None, "email_claimed_until": None}
    good = SmtpSettings(host="127.0.0.1", port=port, username="mailer", password="s3cret-pass")
    assert (await notifications.send_pending_emails(good, "http://x")).sent == 1
    assert (await notifications.send_pending_emails(good, "http://x")).claimed == 0
    assert len(inbox.received) == 1


async def test_two_senders_never_email_the_same_notification(database, smtp_server):
    inbox, port = smtp_server
    institution = await make_institution(email="office@school.example")
    for n in range(30):
        await notifications.notify(recipient_role="institution", institution_id=institution, kind="x",
                                   title=f"测试{n}", dedupe_key=f"t:race:{n}")
    good = SmtpSettings(host="127.0.0.1", port=port, username="mailer", password="s3cret-pass")
    runs = await asyncio.gather(*(notifications.send_pending_emails(good, "http://x") for _ in range(3)))
    assert sum(r.sent for r in runs) == 30
    assert sorted(str(m["Subject"]) for _, m in inbox.received) == sorted(f"测试{n}" for n in range(30))


async def test_the_app_runs_the_scheduler_in_process_and_gives_the_role_up_on_shutdown(database, session_engine):
    from training.web.app import create_app

    app = create_app(replace(database, scheduler_enabled=True), engine=session_engine)
    daily = sum(1 for job in jobs.JOBS if job.daily_at is not None)
    async with app.lifespan():  # the ASGI lifespan, in this event loop (the database pool lives here)
        for _ in range(600):  # the start-up heartbeat takes the role and catches up today's daily jobs
            finished = await JobRun.count().where(JobRun.finished_at.is_not_null())
            if jobs._Role.held and finished >= sum(1 for j in jobs.JOBS if j.daily_at and j.period_key(
                    datetime.now(UTC))):
                break
            await asyncio.sleep(0.1)
        assert jobs._Role.held
        assert await JobRun.count() <= daily
    assert not jobs._Role.held  # released at shutdown: another process may take the role at once
    other = await take_role_elsewhere() if db.is_postgres() else None
    try:
        assert db.is_postgres() or await jobs.hold_lease("someone-else")
    finally:
        if other is not None:
            await other.close()
