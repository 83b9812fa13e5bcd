"""Database engines: build one from the settings and bind every table to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlparse

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from training.settings import DatabaseSettings, Settings

_current: Engine | None = None


def make_engine(database: DatabaseSettings) -> Engine:
    if database.is_postgres:
        parsed = urlparse(database.url)
        return PostgresEngine(
            config={
                "host": parsed.hostname or "127.0.0.1",
                "port": parsed.port or 5432,
                "user": parsed.username or "postgres",
                "password": parsed.password or None,
                "database": (parsed.path or "/postgres").lstrip("/") or "postgres",
            },
            log_queries=False,
        )
    path = database.sqlite_path
    path.parent.mkdir(parents=True, exist_ok=True)
    # timeout: wait for a competing writer rather than fail with "database is locked".
    return SQLiteEngine(path=str(path), timeout=30)


def bind(settings: Settings) -> Engine:
    """Make ``settings``' database the one every table (and Piccolo's migrations) uses."""
    engine = make_engine(settings.database)
    use(engine)
    return engine


def use(engine: Engine) -> None:
    """Bind every table to an engine that already exists (tests keep one per session)."""
    global _current
    from training.tables import ALL_TABLES

    for table in ALL_TABLES:
        table._meta.db = engine
    _current = engine


def current_engine() -> Engine:
    """The bound engine; bound from the environment on first use (Piccolo's own CLI)."""
    if _current is None:
        return bind(Settings.from_env())
    return _current


def is_postgres(engine: Engine | None = None) -> bool:
    return isinstance(engine or current_engine(), PostgresEngine)


@asynccontextmanager
async def transaction() -> AsyncIterator[Any]:
    """One write transaction. On SQLite it is IMMEDIATE so concurrent writers queue, not fail."""
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        async with engine.transaction(transaction_type=TransactionType.immediate) as txn:
            yield txn
    else:
        async with engine.transaction() as txn:
            yield txn


async def start(engine: Engine) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=1, max_size=10)
    else:
        await engine.run_ddl("PRAGMA journal_mode=WAL")


async def stop(engine: Engine) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()
