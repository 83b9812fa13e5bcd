"""Benchmark: latency of the supervision dashboards and ``/api/v1/stats/overview`` at national scale.

    .venv/bin/python bench/dashboard.py [--database sqlite|postgres|both] [--scale 1.0] [--requests 30] [--keep]

For each database it builds a throwaway province with ``bench/national.py`` (200 institutions,
3,000 cohorts, 100,000 trainees, 4,000,000 attendance rows at ``--scale 1``; a temporary SQLite
file, a new PostgreSQL database), then sends ``--requests`` sequential requests (after 3 warm-up
ones) to each endpoint through the real application (httpx over ASGI, signed in as a real user:
the page with the session cookie, the API with a bearer token), and prints p50/p95 per endpoint
and the generation time. ``--keep`` leaves the databases in place and prints their URLs (for the
load benchmark); otherwise they are dropped. Target (issue 7): p95 ≤ 200 ms on both databases.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.national import NATIONAL_PASSWORD, create_pg_database, drop_pg_database, generate, summary
from training import db
from training.settings import Settings

CITY = "370100"


async def _signed_in(app, username: str) -> tuple[httpx.AsyncClient, dict[str, str]]:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50000)),
                               base_url="http://bench.local")
    await client.get("/login")
    response = await client.post("/login", data={"username": username, "password": NATIONAL_PASSWORD,
                                                  "_csrf_token": client.cookies.get("csrftoken", "")})
    if response.status_code != 303:
        raise SystemExit(f"sign-in of {username} failed: {response.status_code}")
    token = (await client.post("/api/v1/auth/token", json={"username": username, "password": NATIONAL_PASSWORD}))
    return client, {"Authorization": f"Bearer {token.json()['token']}"}


async def _measure(client: httpx.AsyncClient, url: str, headers: dict[str, str], requests: int) -> tuple[float, ...]:
    for _ in range(3):
        response = await client.get(url, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}: {response.text[:300]}")
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = await client.get(url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}")
    cuts = statistics.quantiles(times, n=20, method="inclusive")
    return statistics.median(times), cuts[18], max(times)


async def run(kind: str, scale: float, requests: int, keep: bool) -> list[tuple[str, str, float, float, float]]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    pg_name = f"bench_dashboard_{uuid.uuid4().hex[:8]}"
    if kind == "postgres":
        url = await create_pg_database(pg_name)
    else:
        url = f"sqlite:///{workdir / 'national.sqlite3'}"
    print(f"\n[{kind}] generating the national data set (scale {scale}) into {url}")
    try:
        national = await generate(url, scale=scale, log=lambda line: print(line, flush=True))
        print(summary(national))
        settings = Settings.from_env({"TRAINING_DATABASE_URL": url, "TRAINING_DATA_DIR": str(workdir),
                                      "TRAINING_SECRET_KEY": "bench-dashboard-secret-key", "TRAINING_SCHEDULER": "0"})
        engine = db.bind(settings)
        await db.start(engine)
        from training.web.app import create_app

        app = create_app(settings, engine=engine)
        province, province_api = await _signed_in(app, national.province_user)
        city, city_api = await _signed_in(app, national.city_user(CITY))
        year = national.year
        cases = [
            ("province dashboard  GET /dashboard", province, f"/dashboard?year={year}", {}),
            (f"city dashboard      GET /dashboard ({CITY})", city, f"/dashboard?year={year}", {}),
            ("stats API province  GET /api/v1/stats/overview", province, f"/api/v1/stats/overview?year={year}",
             province_api),
            ("stats API city      GET /api/v1/stats/overview", city, f"/api/v1/stats/overview?year={year}", city_api),
            ("league (province)   GET /league", province, f"/league?year={year}", {}),
        ]
        rows = []
        for label, client, path, headers in cases:
            p50, p95, worst = await _measure(client, path, headers, requests)
            rows.append((kind, label, p50, p95, worst))
        await province.aclose()
        await city.aclose()
        await db.stop(engine)
        return rows
    finally:
        if keep:
            print(f"[{kind}] kept: {url}")
        else:
            if kind == "postgres":
                await drop_pg_database(pg_name)
            shutil.rmtree(workdir, ignore_errors=True)


async def main() -> None:
    # one line per request from httpx would bury the table
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE", "1.0")))
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the generated databases (prints their URLs)")
    args = parser.parse_args()
    if args.database != "both":
        print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}")
    if args.database == "both":
        # each database in its own process: the engine binding is process-wide
        for kind in ("sqlite", "postgres"):
            command = [sys.executable, __file__, "--database", kind, "--scale", str(args.scale),
                       "--requests", str(args.requests)] + (["--keep"] if args.keep else [])
            if subprocess.run(command, check=False).returncode:  # noqa: ASYNC221 - one child at a time, on purpose
                raise SystemExit(f"the {kind} run failed")
        return
    rows = await run(args.database, args.scale, args.requests, args.keep)
    print(f"\n{'database':<9} {'endpoint':<50} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  target p95 ≤ 200 ms")
    for kind, label, p50, p95, worst in rows:
        print(f"{kind:<9} {label:<50} {p50:8.1f} {p95:8.1f} {worst:8.1f}  {'ok' if p95 <= 200 else 'MISSED'}")


if __name__ == "__main__":
    asyncio.run(main())
