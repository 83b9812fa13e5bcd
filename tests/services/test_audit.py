"""The audit trail: every change recorded with who and where, chained by SHA-256."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys

from tests.factories import make_user
from training.services import audit
from training.settings import PROJECT_ROOT
from training.tables import AuditEvent


async def _three_events(actor):
    for n in range(3):
        await audit.record(actor, "test.change", "thing", n, before={"n": n}, after={"n": n + 1})


async def test_chain_verifies_and_links_each_event_to_the_previous(database):
    actor = await make_user("province", username="prov")
    await _three_events(actor)
    report = await audit.verify_chain()
    assert report.ok
    rows = await AuditEvent.select(AuditEvent.prev_hash, AuditEvent.hash).order_by(AuditEvent.id)
    assert rows[0]["prev_hash"] == audit.GENESIS
    assert all(later["prev_hash"] == earlier["hash"] for earlier, later in itertools.pairwise(rows))


async def test_an_altered_event_breaks_the_chain(database):
    actor = await make_user("province", username="prov")
    await _three_events(actor)
    target = (await AuditEvent.select(AuditEvent.id).where(AuditEvent.action == "test.change").first())["id"]
    await AuditEvent.update({AuditEvent.after: '{"n":999}'}).where(AuditEvent.id == target)
    report = await audit.verify_chain()
    assert not report.ok
    assert report.first_bad_id == target


async def test_a_deleted_event_breaks_the_chain(database):
    actor = await make_user("province", username="prov")
    await _three_events(actor)
    rows = await AuditEvent.select(AuditEvent.id).order_by(AuditEvent.id)
    await AuditEvent.delete().where(AuditEvent.id == rows[1]["id"])
    assert not (await audit.verify_chain()).ok


async def test_events_carry_actor_org_and_address(database):
    actor = await make_user("city", org="370100", username="jinan")
    await audit.record(actor, "test.change", "thing", 7, after={"x": 1})
    row = await AuditEvent.select().where(AuditEvent.action == "test.change").first()
    assert (row["username"], row["org_role"], row["city_code"], row["client_addr"]) == (
        "jinan", "city", "370100", "127.0.0.1")


async def test_secrets_never_enter_the_audit_payload(database):
    actor = await make_user("province", username="prov")
    await audit.record(actor, "test.change", "thing", 1,
                       after={"password": "hunter2-hunter2", "id_number": "370102199001011234", "ok": 1})
    row = await AuditEvent.select(AuditEvent.after).where(AuditEvent.action == "test.change").first()
    assert "hunter2" not in row["after"]
    assert "370102199001011234" not in row["after"]


async def test_cli_audit_verify_passes_then_fails_after_tampering(database):
    actor = await make_user("province", username="prov")
    await _three_events(actor)
    env = {**os.environ, "TRAINING_DATABASE_URL": database.database.url,
           "TRAINING_DATA_DIR": str(database.data_dir), "TRAINING_SECRET_KEY": "x"}
    command = [sys.executable, "-m", "training.cli", "audit", "verify"]
    ok = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True, cwd=PROJECT_ROOT, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "审计链完整" in ok.stdout
    await AuditEvent.update({AuditEvent.username: "someone-else"}).where(AuditEvent.action == "test.change")
    broken = await asyncio.to_thread(subprocess.run, command, env=env, capture_output=True, text=True, cwd=PROJECT_ROOT, check=False)
    assert broken.returncode == 1
    assert "审计链被破坏" in broken.stderr
