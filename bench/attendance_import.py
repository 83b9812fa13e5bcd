"""Benchmark: the online-platform attendance import end to end through the service, against the
raw driver's limit measured in the same run, plus the latency of saving a 60-trainee roll.

    .venv/bin/python bench/attendance_import.py [--rows N] [--database sqlite|postgres]

Without ``--database`` it runs SQLite, then PostgreSQL when reachable, each in its own process so
each peak-memory figure belongs to one database. Targets (issue 4): import ≥ 25 % of the raw
limit; ≤ 300 MB peak for 1,000,000 rows (``--rows 1000000``); roll save p95 ≤ 30 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from training import db
from training.access import Actor
from training.rules.clock import today_in_china
from training.rules.identity import id_check_character
from training.services import attendance, schema
from training.services.attendance import RollEntry
from training.settings import Settings
from training.tables import (
    City,
    Cohort,
    Enrollment,
    Institution,
    Occupation,
    Standard,
    Trainee,
    TrainingSession,
)

PG_URL = os.environ.get("TRAINING_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ROLL_SIZE = 60
ROLL_SAVES = 200


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def person_id(i: int) -> str:
    born = datetime(1970, 1, 1) + timedelta(days=i // 400)
    body = f"370102{born:%Y%m%d}{(i % 400) * 2 + 1:03d}"
    return body + id_check_character(body)


def shape(rows: int) -> tuple[int, int]:
    """Trainees × sessions giving ``rows`` rows with realistic proportions."""
    sessions = 100 if rows <= 100_000 else 500
    return max(1, rows // sessions), sessions


def credit_code(n: int) -> str:
    from training.rules.identity import credit_check_character

    body = f"91370100MA{n:07d}"[:17]
    return body + credit_check_character(body)


async def build_cohort(trainees: int, sessions: int, tag: int) -> tuple[Actor, int, list[str], list[int]]:
    today = today_in_china()
    city = await City.select(City.id, City.code).where(City.code == "370100").first()
    occupation = await Occupation.select(Occupation.id).first()
    standard = await Standard.select(Standard.id).where(
        (Standard.occupation == occupation["id"]) & (Standard.level == "junior")).first()
    institution = (await Institution.insert(Institution(
        name=f"基准测试学院{tag}", credit_code=credit_code(tag), city=city["id"])).returning(Institution.id))[0]["id"]
    days = max(1, (sessions + 2) // 3)
    cohort = (await Cohort.insert(Cohort(
        code=f"BENCH-{tag}", name="基准测试班", institution=institution, city=city["id"], occupation=occupation["id"],
        level="junior", standard=standard["id"], planned_start=today - timedelta(days=days + 5),
        planned_end=today + timedelta(days=10), capacity=trainees, status="in_training",
    )).returning(Cohort.id))[0]["id"]
    numbers = [person_id(tag * 1_000_000 + i) for i in range(trainees)]
    async with db.transaction():
        trainee_ids: list[int] = []
        for start in range(0, trainees, 500):
            rows = [Trainee(id_number=n, name=f"学员{start + k}", sex="M", birth_date=datetime(1990, 1, 1).date())
                    for k, n in enumerate(numbers[start:start + 500])]
            trainee_ids += [r["id"] for r in await Trainee.insert(*rows).returning(Trainee.id)]
        for start in range(0, trainees, 500):
            await Enrollment.insert(*[Enrollment(trainee=t, cohort=cohort, enrolled_on=today - timedelta(days=days + 5))
                                      for t in trainee_ids[start:start + 500]])
        session_rows = []
        for i in range(sessions):
            start_at = clock(8 + 3 * (i % 3))
            session_rows.append(TrainingSession(
                cohort=cohort, session_date=today - timedelta(days=1 + i // 3), start_time=start_at,
                end_time=clock(start_at.hour + 2), mode="online", kind="theory", class_hours=2.0,
                platform="平台", topic=f"第{i + 1}讲"))
        session_ids: list[int] = []
        for start in range(0, sessions, 500):
            session_ids += [r["id"] for r in await TrainingSession.insert(*session_rows[start:start + 500]).returning(
                TrainingSession.id)]
    actor = Actor(user_id=None, username="bench", role="institution", city_id=city["id"], city_code=city["code"],
                  institution_id=institution)
    return actor, cohort, numbers, session_ids


def platform_csv(numbers: list[str], session_ids: list[int], rows: int) -> bytes:
    buffer = io.BytesIO()
    buffer.write("身份证号,课次编号,在线分钟数\n".encode())
    written = 0
    for session_id in session_ids:
        lines = []
        for k, number in enumerate(numbers):
            if written >= rows:
                break
            lines.append(f"{number},{session_id},{60 + (k * 7) % 90}\n")
            written += 1
        buffer.write("".join(lines).encode())
    return buffer.getvalue()


def raw_rows(enrollments: list[int], sessions: list[int], n: int, stamp: object):
    written = 0
    for session in sessions:
        for k, enrollment in enumerate(enrollments):
            if written >= n:
                return
            yield (enrollment, session, "present", 2.0, 60 + (k * 7) % 90, "online_platform", None, stamp)
            written += 1


_COLUMNS = ["enrollment", "session", "status", "credited_hours", "minutes_online", "source", "recorded_by",
            "recorded_at"]


def sqlite_raw_limit(path: str, enrollments: list[int], sessions: list[int], n: int) -> float:
    """sqlite3 executemany of the same rows into the same attendance table, then rolled back."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(f"INSERT INTO attendance ({', '.join(_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         raw_rows(enrollments, sessions, n, str(datetime.now(UTC))))
        elapsed = time.perf_counter() - started
        conn.execute("ROLLBACK")
    finally:
        conn.close()
    return n / elapsed


async def postgres_raw_limit(url: str, enrollments: list[int], sessions: list[int], n: int) -> float:
    """asyncpg copy_records_to_table of the same rows into the same attendance table, rolled back."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        transaction = conn.transaction()
        await transaction.start()
        started = time.perf_counter()
        await conn.copy_records_to_table("attendance", records=raw_rows(enrollments, sessions, n, datetime.now(UTC)),
                                         columns=_COLUMNS)
        elapsed = time.perf_counter() - started
        await transaction.rollback()
    finally:
        await conn.close()
    return n / elapsed


async def roll_latency(tag: int) -> tuple[float, float]:
    actor, cohort, _numbers, _sessions = await build_cohort(ROLL_SIZE, 1, tag)
    session = await TrainingSession.select(TrainingSession.id).where(TrainingSession.cohort == cohort).first()
    await TrainingSession.update({TrainingSession.mode: "offline", TrainingSession.place: "教室"}).where(
        TrainingSession.id == session["id"])
    enrollments = [r["id"] for r in await Enrollment.select(Enrollment.id).where(Enrollment.cohort == cohort)]
    timings = []
    for i in range(ROLL_SAVES):
        # Alternate every row between two states so every save really writes 60 rows.
        status, hours = ("present", 2.0) if i % 2 == 0 else ("late", 1.5)
        entries = [RollEntry(e, status, hours) for e in enrollments]
        started = time.perf_counter()
        await attendance.save_roll(actor, session["id"], 1 + i, entries)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1]


async def run(kind: str, rows: int) -> dict[str, object]:
    workdir = tempfile.mkdtemp(prefix="bench-attendance-")
    pg_name = None
    if kind == "postgres":
        import asyncpg

        pg_name = f"bench_attendance_{uuid.uuid4().hex[:10]}"
        conn = await asyncpg.connect(PG_URL, timeout=5)
        await conn.execute(f'CREATE DATABASE "{pg_name}"')
        await conn.close()
        url = PG_URL.rpartition("/")[0] + "/" + pg_name
    else:
        url = f"sqlite:///{workdir}/bench.sqlite3"
    settings = Settings.from_env({"TRAINING_DATA_DIR": workdir, "TRAINING_DATABASE_URL": url,
                                  "TRAINING_SECRET_KEY": "bench", "TRAINING_SCHEDULER": "0"})
    engine = db.bind(settings)
    await db.start(engine)
    try:
        await schema.migrate()
        trainees, sessions = shape(rows)
        actor, cohort, numbers, session_ids = await build_cohort(trainees, sessions, 1)
        enrollment_ids = [r["id"] for r in await Enrollment.select(Enrollment.id).where(
            Enrollment.cohort == cohort).order_by(Enrollment.id)]
        # The raw limit first, into the same (still empty) table, rolled back: same indexes, same
        # foreign keys, same rows as the service is about to write.
        if kind == "sqlite":
            raw = sqlite_raw_limit(str(settings.database.sqlite_path), enrollment_ids, session_ids, rows)
        else:
            raw = await postgres_raw_limit(url, enrollment_ids, session_ids, rows)
        data = platform_csv(numbers, session_ids, rows)
        before_mb = maxrss_mb()
        started = time.perf_counter()
        summary = await attendance.import_online(actor, cohort, data, "platform.csv", settings.class_hour_minutes)
        elapsed = time.perf_counter() - started
        peak_mb = maxrss_mb()
        assert summary.rows == rows and summary.inserted == rows, summary
        # The same file again: every row now exists, so this is the upsert (update) path.
        started = time.perf_counter()
        again = await attendance.import_online(actor, cohort, data, "platform.csv", settings.class_hour_minutes)
        reimport_rate = rows / (time.perf_counter() - started)
        assert again.updated == rows, again
        del data
        p50, p95 = await roll_latency(2)
        return {"database": kind, "rows": rows, "seconds": elapsed, "rate": rows / elapsed, "raw": raw,
                "peak_mb": peak_mb, "before_mb": before_mb, "reimport": reimport_rate, "roll_p50": p50, "roll_p95": p95}
    finally:
        await db.stop(engine)
        if pg_name:
            import asyncpg

            conn = await asyncpg.connect(PG_URL, timeout=5)
            await conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            await conn.close()


def print_table(result: dict[str, object]) -> None:
    rows = int(result["rows"])
    ratio = 100 * float(result["rate"]) / float(result["raw"])
    raw_name = "sqlite3 executemany" if result["database"] == "sqlite" else "asyncpg COPY"
    write_path = "executemany INSERT … ON CONFLICT" if result["database"] == "sqlite" else "COPY (first import; re-imports: COPY to staging + INSERT … ON CONFLICT)"
    lines = [
        ("database", str(result["database"]), ""),
        ("rows imported (online platform CSV)", f"{rows:,}", ""),
        ("import end to end through the service", f"{result['seconds']:.2f} s", f"write path: {write_path}"),
        ("service rows/s", f"{float(result['rate']):,.0f}", ""),
        (f"raw driver limit rows/s ({raw_name})", f"{float(result['raw']):,.0f}", "same run, same table and rows, rolled back"),
        ("service / raw", f"{ratio:.1f} %", "target ≥ 25 % " + ("OK" if ratio >= 25 else "MISSED")),
        ("re-import of the same file (all upserts) rows/s", f"{float(result['reimport']):,.0f}",
         f"{100 * float(result['reimport']) / float(result['raw']):.1f} % of raw"),
        ("peak memory (maxrss, whole process)", f"{float(result['peak_mb']):.0f} MB",
         f"before import {float(result['before_mb']):.0f} MB"
         + ("; 1M-row target ≤ 300 MB " + ("OK" if float(result["peak_mb"]) <= 300 else "MISSED")
            if rows >= 1_000_000 else "")),
        (f"save a {ROLL_SIZE}-trainee roll, p50", f"{float(result['roll_p50']):.1f} ms", f"{ROLL_SAVES} saves"),
        (f"save a {ROLL_SIZE}-trainee roll, p95", f"{float(result['roll_p95']):.1f} ms",
         "target ≤ 30 ms " + ("OK" if float(result["roll_p95"]) <= 30 else "MISSED")),
    ]
    load = os.getloadavg()
    lines.append(("machine load average (1/5/15 min)", f"{load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}",
                  f"{os.cpu_count()} CPUs; latency figures are noisy when this exceeds the CPU count"))
    width = max(len(a) for a, _, _ in lines)
    print()
    for label, value, note in lines:
        print(f"  {label:<{width}}  {value:>14}  {note}")


def postgres_reachable() -> bool:
    async def probe() -> bool:
        import asyncpg

        try:
            conn = await asyncpg.connect(PG_URL, timeout=3)
        except Exception:
            return False
        await conn.close()
        return True

    return asyncio.run(probe())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    if args.database:
        print_table(asyncio.run(run(args.database, args.rows)))
        return 0
    status = 0
    for kind in ("sqlite", "postgres"):
        if kind == "postgres" and not postgres_reachable():
            print(f"\n  PostgreSQL unreachable at {PG_URL}: skipped")
            continue
        status |= subprocess.call([sys.executable, __file__, "--rows", str(args.rows), "--database", kind])
    return status


if __name__ == "__main__":
    sys.exit(main())
