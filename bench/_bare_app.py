"""The baseline for ``bench/load.py``: a bare Litestar app with one endpoint reading the same cohort
row through the raw asyncpg driver (a pool per worker, one query, no authentication, no ORM).

Served by ``uvicorn --app-dir bench _bare_app:app --workers 2``; the database comes from
``BENCH_BARE_DATABASE_URL``. A library module for the benchmark, not a benchmark: ``make bench``
skips files whose name starts with ``_``.
"""

from __future__ import annotations

import os
from typing import Any

import asyncpg
from litestar import Litestar, get
from litestar.exceptions import NotFoundException

_POOL: dict[str, Any] = {}
_QUERY = (
    "SELECT c.id, c.code, c.name, c.status, c.level, c.planned_start, c.planned_end, c.capacity, c.lock_version, "
    "c.institution AS institution_id, i.name AS institution_name, ci.code AS city_code, ci.name AS city_name, "
    "o.name AS occupation_name FROM cohort c JOIN institution i ON i.id = c.institution "
    "JOIN city ci ON ci.id = c.city JOIN occupation o ON o.id = c.occupation WHERE c.id = $1"
)


async def _start() -> None:
    _POOL["pool"] = await asyncpg.create_pool(os.environ["BENCH_BARE_DATABASE_URL"], min_size=1, max_size=10)


async def _stop() -> None:
    await _POOL["pool"].close()


@get("/cohorts/{cohort_id:int}")
async def cohort(cohort_id: int) -> dict[str, Any]:
    row = await _POOL["pool"].fetchrow(_QUERY, cohort_id)
    if row is None:
        raise NotFoundException()
    return dict(row)


app = Litestar([cohort], on_startup=[_start], on_shutdown=[_stop], debug=False)
