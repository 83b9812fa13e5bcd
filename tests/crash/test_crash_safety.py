"""Crash safety (issue 8, item 4): the real server is killed with SIGKILL in the middle of a large
import and in the middle of a filing submission, restarted on the same database, and nothing
half-written is visible; the same work then succeeds whole and the audit chain still verifies.

Runs on SQLite (a file database in WAL mode) and, with ``TRAINING_TEST_DATABASE=postgres``, on a
throwaway PostgreSQL database created and dropped by the test. "In the middle" is observed, not
guessed: on SQLite the server holds the database's write lock (the import's one transaction), on
PostgreSQL its connection is inside a transaction that has written; the kill then follows
after a short seeded-random delay while that is still true.
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import DB_KIND, PG_URL, _create_pg_database, _drop_pg_database
from tests.crash.server import ServerProcess

pytestmark = pytest.mark.slow
TRAINEES = 1000
SESSIONS = 300  # 300,000 rows in the platform's file
SEED = 20261124


class Database:
    """Reads the server's database from outside the server (counts, and what the server is doing)."""

    def __init__(self, url: str, path: Path | None, pg_name: str | None) -> None:
        self.url, self.path, self.pg_name = url, path, pg_name

    async def scalar(self, sql: str) -> int:
        if self.path is not None:
            with sqlite3.connect(self.path, timeout=30) as conn:
                return conn.execute(sql).fetchone()[0]
        import asyncpg

        conn = await asyncpg.connect(self.url)
        try:
            return await conn.fetchval(sql)
        finally:
            await conn.close()

    async def rows(self, sql: str) -> list[dict]:
        if self.path is not None:
            with sqlite3.connect(self.path, timeout=30) as conn:
                conn.row_factory = sqlite3.Row
                return [dict(r) for r in conn.execute(sql).fetchall()]
        import asyncpg

        conn = await asyncpg.connect(self.url)
        try:
            return [dict(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()

    async def server_is_writing(self) -> bool:
        """True while the server holds an open write transaction that is copying rows."""
        if self.path is not None:
            conn = sqlite3.connect(self.path, timeout=0, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
                return False
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    return True
                raise
            finally:
                conn.close()
        # A transaction that has written (it holds a transaction id) on another connection to this database.
        return await self.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_xid IS NOT NULL AND state IN ('active', 'idle in transaction')") > 0


@pytest.fixture
async def crash_server(tmp_path: Path):
    pg_name = None
    if DB_KIND == "postgres":
        pg_name = f"training_crash_{uuid.uuid4().hex[:12]}"
        try:
            url = await _create_pg_database(pg_name)
        except Exception as exc:
            pytest.skip(f"PostgreSQL unreachable at {PG_URL}: {type(exc).__name__}: {exc}")
        database = Database(url, None, pg_name)
    else:
        url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
        database = Database(url, tmp_path / "db.sqlite3", None)
    server = ServerProcess(tmp_path, url)
    try:
        await asyncio.to_thread(server.cli, "migrate")
        yield server, database
    finally:
        server.stop()
        if pg_name:
            await _drop_pg_database(pg_name)


def platform_csv(numbers: list[str], sessions: list[int]) -> bytes:
    lines = ["身份证号,课次编号,在线分钟数"]
    for session in sessions:
        lines += [f"{number},{session},{60 + (k * 7) % 90}" for k, number in enumerate(numbers)]
    return ("\n".join(lines) + "\n").encode()


async def _token(client: httpx.AsyncClient, url: str, seeded: dict) -> dict[str, str]:
    answer = await client.post(f"{url}/api/v1/auth/token",
                               json={"username": seeded["username"], "password": seeded["password"]})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


async def test_sigkill_during_a_large_attendance_import_leaves_nothing_half_written(crash_server):
    server, database = crash_server
    seeded = json.loads(await asyncio.to_thread(server.run_module, "tests.crash.seed", str(TRAINEES), str(SESSIONS)))
    content = platform_csv(seeded["numbers"], seeded["sessions"])
    rows = TRAINEES * SESSIONS
    cohort = seeded["cohort"]
    await asyncio.to_thread(server.start)
    async with httpx.AsyncClient(timeout=httpx.Timeout(300, connect=10)) as client:
        headers = await _token(client, server.url, seeded)
        # Something else in the audit chain first: a roll save through the API.
        first = seeded["sessions"][0]
        roll = (await client.get(f"{server.url}/api/v1/sessions/{first}/attendance", headers=headers)).json()
        saved = await client.put(f"{server.url}/api/v1/sessions/{first}/attendance", headers=headers, json={
            "lock_version": roll["lock_version"],
            "entries": [{"enrollment_id": r["enrollment_id"], "status": "present"} for r in roll["rows"]]})
        assert saved.status_code == 200, saved.text
        attendance_before = await database.scalar("SELECT count(*) FROM attendance")
        events_before = await database.scalar("SELECT count(*) FROM audit_event")
        versions_before = await database.scalar("SELECT sum(lock_version) FROM training_session")
        assert attendance_before == TRAINEES

        url = f"{server.url}/api/v1/cohorts/{cohort}/attendance/import"
        files = {"file": ("platform.csv", content, "text/csv")}
        wal = database.path.with_name(database.path.name + "-wal") if database.path else None
        wal_before = wal.stat().st_size if wal and wal.exists() else 0
        upload = asyncio.create_task(client.post(url, headers=headers, files=files))
        # Wait until the server is inside the import's transaction, writing rows.
        for _ in range(6000):
            if upload.done() or await database.server_is_writing():
                break
            await asyncio.sleep(0.005)
        assert not upload.done(), f"the import ended before it could be interrupted: {upload.result().text[:300]}"
        await asyncio.sleep(random.Random(SEED).uniform(0.05, 0.3))
        if wal is not None:
            # On SQLite, wait until uncommitted rows have spilled into the write-ahead log.
            for _ in range(3000):
                if upload.done() or (wal.exists() and wal.stat().st_size > wal_before + (1 << 20)):
                    break
                await asyncio.sleep(0.005)
            assert wal.stat().st_size > wal_before + (1 << 20), "no uncommitted rows reached the WAL"
        assert await database.server_is_writing(), "the import is no longer writing; make the file larger"
        server.kill()
        with pytest.raises(httpx.TransportError):
            await upload

    # Nothing of the killed import is visible, before and after the restart.
    assert await database.scalar("SELECT count(*) FROM attendance") == attendance_before
    await asyncio.to_thread(server.start)
    assert await database.scalar("SELECT count(*) FROM attendance") == attendance_before
    assert await database.scalar("SELECT count(*) FROM audit_event") == events_before
    assert await database.scalar("SELECT sum(lock_version) FROM training_session") == versions_before
    assert await database.scalar(
        "SELECT count(*) FROM audit_event WHERE action = 'attendance.online_import'") == 0
    verified = await asyncio.to_thread(server.cli, "audit", "verify", check=False)
    assert verified.returncode == 0, verified.stderr

    # The same import, sent again to the restarted server, is written whole.
    async with httpx.AsyncClient(timeout=httpx.Timeout(600, connect=10)) as client:
        headers = await _token(client, server.url, seeded)
        answer = await client.post(f"{server.url}/api/v1/cohorts/{cohort}/attendance/import", headers=headers,
                                   files={"file": ("platform.csv", content, "text/csv")})
        assert answer.status_code == 200, answer.text
        summary = answer.json()
        assert summary["rows"] == rows
        assert summary["inserted"] == rows - attendance_before and summary["updated"] == attendance_before
    assert await database.scalar("SELECT count(*) FROM attendance") == rows
    assert await database.scalar(
        "SELECT count(*) FROM audit_event WHERE action = 'attendance.online_import'") == 1
    server.stop()
    verified = await asyncio.to_thread(server.cli, "audit", "verify", check=False)
    assert verified.returncode == 0, verified.stderr
    assert "审计链完整" in verified.stdout


NARRATIVE = {"organisation": "组织实施情况良好", "teaching": "教学按计划完成", "practice": "实操训练充分",
             "outcomes": "考核合格率较高", "problems": "无重大问题"}
KILL_AFTER = (0.02, 0.15, 0.35, 0.6, 1.0, 1.6)  # seconds after the submission was sent


async def _filing_state(database: Database, data_dir: Path, filing_id: int, cohort_id: int) -> str:
    """The filing is either a draft with nothing of a submission, or submitted with everything."""
    from training.services.filings import package_digest
    from training.services.storage import digest

    filing = (await database.rows(f"SELECT * FROM filing WHERE id = {filing_id}"))[0]
    receipts = await database.scalar(f"SELECT count(*) FROM filing_receipt WHERE filing = {filing_id}")
    cohort = await database.scalar(f"SELECT status FROM cohort WHERE id = {cohort_id}")
    events = await database.scalar(
        f"SELECT count(*) FROM audit_event WHERE action = 'filing.submit' AND entity_id = '{filing_id}'")
    if filing["status"] == "draft":
        assert filing["report_file"] is None and filing["trainees_file"] is None and not filing["submitted_at"]
        assert receipts == 0 and events == 0 and cohort != "filed", (receipts, events, cohort)
        return "draft"
    assert filing["status"] == "submitted", filing["status"]
    assert receipts == 2 and events == 1 and cohort == "filed", (receipts, events, cohort)
    shas = []
    for column in ("report_file", "trainees_file"):
        stored = (await database.rows(f"SELECT * FROM stored_file WHERE id = {filing[column]}"))[0]
        content = (data_dir / "files" / stored["relative_path"]).read_bytes()
        assert digest(content) == stored["sha256"] and len(content) == stored["size"]
        shas.append(stored["sha256"])
    assert filing["package_sha256"] == package_digest(*shas)
    return "submitted"


async def test_sigkill_during_a_filing_submission_leaves_it_whole_or_untouched(crash_server):
    server, database = crash_server
    await asyncio.to_thread(server.cli, "demo")
    await asyncio.to_thread(server.start)
    outcomes = []
    async with httpx.AsyncClient(base_url=server.url, timeout=httpx.Timeout(120, connect=10)) as client:
        headers = await _token(client, server.url, {"username": "jinan-school", "password": "demo-password-2026"})
        listed = await client.get("/api/v1/cohorts", params={"status": "assessed"}, headers=headers)
        cohort_id = filing = None
        for cohort in listed.json()["items"]:
            answer = await client.get(f"/api/v1/cohorts/{cohort['id']}/filing", headers=headers)
            if answer.status_code == 200 and answer.json()["editable"]:
                cohort_id, filing = cohort["id"], answer.json()
                break
        assert cohort_id is not None, "the demo has no assessed cohort with a draft filing"
        saved = await client.post(f"/api/v1/cohorts/{cohort_id}/filing", headers=headers,
                                  json={"narrative": NARRATIVE, "lock_version": filing["lock_version"]})
        assert saved.status_code == 200 and saved.json()["submit_refusal"] is None, saved.text
        filing_id = saved.json()["filing_id"]

    for delay in KILL_AFTER:
        async with httpx.AsyncClient(base_url=server.url, timeout=httpx.Timeout(120, connect=10)) as client:
            submit = asyncio.create_task(client.post(f"/api/v1/cohorts/{cohort_id}/filing/submit", headers=headers))
            await asyncio.sleep(delay)
            finished = submit.done()
            server.kill()
            try:
                answer = await submit
                assert finished and answer.status_code == 200, answer.text
            except httpx.TransportError:
                pass
        state = await _filing_state(database, server.data_dir, filing_id, cohort_id)
        outcomes.append((delay, state))
        await asyncio.to_thread(server.start)
        assert await _filing_state(database, server.data_dir, filing_id, cohort_id) == state
        verified = await asyncio.to_thread(server.cli, "audit", "verify", check=False)
        assert verified.returncode == 0, verified.stderr
        if state == "submitted":
            break
    else:
        # Every kill came before the commit: the untouched draft is then submitted normally.
        async with httpx.AsyncClient(base_url=server.url, timeout=httpx.Timeout(120, connect=10)) as client:
            answer = await client.post(f"/api/v1/cohorts/{cohort_id}/filing/submit", headers=headers)
            assert answer.status_code == 200, answer.text
    assert await _filing_state(database, server.data_dir, filing_id, cohort_id) == "submitted", outcomes
    assert any(state == "draft" for _, state in outcomes), f"no kill landed before the commit: {outcomes}"
    print("kill after (s) -> state:", outcomes)
    server.stop()
    verified = await asyncio.to_thread(server.cli, "audit", "verify", check=False)
    assert verified.returncode == 0, verified.stderr
