"""The command line: user creation reads the password from stdin and never echoes it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from training.services import accounts
from training.settings import PROJECT_ROOT


def _run(database, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "TRAINING_DATABASE_URL": database.database.url, "TRAINING_DATA_DIR": str(database.data_dir),
           "TRAINING_SECRET_KEY": "x"}
    return subprocess.run([sys.executable, "-m", "training.cli", *args], env=env, input=stdin, capture_output=True,
                          text=True, cwd=PROJECT_ROOT, check=False, timeout=120)


async def test_user_create_with_password_from_stdin(database):
    result = await asyncio.to_thread(_run, database, "user", "create", "--role", "city", "--org", "370100",
                                     "--username", "jinan-officer", stdin="a-long-password-1\n")
    assert result.returncode == 0, result.stderr
    assert "a-long-password-1" not in result.stdout + result.stderr
    actor = await accounts.authenticate("jinan-officer", "a-long-password-1")
    assert actor.role == "city"
    assert actor.city_code == "370100"


async def test_user_create_refuses_an_unknown_city(database):
    result = await asyncio.to_thread(_run, database, "user", "create", "--role", "city", "--org", "999999",
                                     "--username", "nobody", stdin="a-long-password-1\n")
    assert result.returncode == 2
    assert "999999" in result.stderr


async def test_migrate_is_idempotent(database):
    first = await asyncio.to_thread(_run, database, "migrate")
    second = await asyncio.to_thread(_run, database, "migrate")
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
