"""Test set-up: a real database built by the migrations, SQLite by default, PostgreSQL when
``TRAINING_TEST_DATABASE=postgres`` (``make test`` runs both). Each test starts from a database
holding only the reference data; the PostgreSQL database is created and dropped per run."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from training import db
from training.services import schema, storage
from training.settings import Settings
from training.tables import ALL_TABLES, City, Occupation, Standard

DB_KIND = os.environ.get("TRAINING_TEST_DATABASE", "sqlite")
PG_URL = os.environ.get("TRAINING_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
KEEP = frozenset({City, Occupation, Standard})


def pytest_report_header(config: pytest.Config) -> str:
    return f"training: database under test = {DB_KIND}" + (f" ({PG_URL})" if DB_KIND == "postgres" else "")


async def _create_pg_database(name: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(PG_URL, timeout=5)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _ = PG_URL.rpartition("/")
    return f"{base}/{name}"


async def _drop_pg_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def session_settings(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Settings]:
    data_dir: Path = tmp_path_factory.mktemp("data")
    pg_name = None
    if DB_KIND == "postgres":
        pg_name = f"training_test_{uuid.uuid4().hex[:12]}"
        try:
            url = await _create_pg_database(pg_name)
        except Exception as exc:
            pytest.skip(f"PostgreSQL unreachable at {PG_URL}: {type(exc).__name__}: {exc}")
    else:
        url = f"sqlite:///{data_dir / 'test.sqlite3'}"
    settings = Settings.from_env({
        "TRAINING_DATA_DIR": str(data_dir),
        "TRAINING_DATABASE_URL": url,
        "TRAINING_SECRET_KEY": "test-secret-key-not-for-production",
        "TRAINING_SCHEDULER": "0",
    })
    engine = db.bind(settings)
    storage.configure(settings.files_dir)
    await db.start(engine)
    await schema.migrate()
    yield settings
    await db.stop(engine)
    if pg_name:
        await _drop_pg_database(pg_name)


@pytest.fixture(scope="session")
def session_engine(session_settings: Settings):
    return db.current_engine()


async def _wipe() -> None:
    names = [t._meta.tablename for t in ALL_TABLES if t not in KEEP]
    if db.is_postgres():
        await City.raw("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE")
    else:
        for name in reversed(names):
            await City.raw(f'DELETE FROM "{name}"')


@pytest.fixture
async def database(session_settings: Settings, session_engine) -> AsyncIterator[Settings]:
    """A database with the reference data only; yields the settings pointing at it."""
    db.use(session_engine)
    await _wipe()
    return session_settings


@pytest.fixture
def files_dir(database: Settings) -> Path:
    """Where stored (content-addressed) files of this test run live."""
    return database.files_dir


@pytest.fixture
async def app(database: Settings, session_engine):
    from training.web.app import create_app

    return create_app(database, engine=session_engine)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client calling the application in this event loop (the database pool lives here).

    The lifespan is not run: the test owns the engine and the scheduler is off.
    """
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as test_client:
        yield test_client
