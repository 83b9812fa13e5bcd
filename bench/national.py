"""A province at national scale, written with the bulk paths, for the dashboard and load benchmarks.

    .venv/bin/python bench/national.py --database sqlite [--path var/national.sqlite3] [--scale 1.0]
    .venv/bin/python bench/national.py --database postgres [--name bench_national] [--scale 1.0]

Builds (at ``--scale 1``) 200 institutions, 3,000 cohorts, 100,000 trainees and enrollments,
about 120,000 sessions and 4,000,000 attendance rows, with plans, assessments, certificates,
filings and anomaly flags, into a *fresh* database (the migrations are run first; the command
refuses a database that already holds institutions). Dates are relative to today (China time), so
cohorts are in every state: accepted and filed ones earlier this year, some filings overdue,
cohorts in training now, approved ones starting soon.

Sign-ins (all with the password ``NATIONAL_PASSWORD``): ``nat-province``, ``nat-city-<code>`` for
each of the 16 cities, ``nat-inst-<n>`` (n = 1..200) for the institutions.

Other benchmarks call :func:`generate` (``await generate(url)``) and, for a throwaway PostgreSQL
database, :func:`create_pg_database` / :func:`drop_pg_database`.

Paths: SQLite gets ``executemany`` on one ``sqlite3`` connection in one transaction per table
(~1M rows/s raw); PostgreSQL gets asyncpg ``copy_records_to_table`` (COPY). Parent rows carry
explicit ids so children can point at them without reading back; the sequences are moved past
them at the end. Never Piccolo's per-row inserts (see ``../shared/MEASURED.md``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from training import db
from training.rules.clock import today_in_china
from training.rules.identity import credit_check_character, id_check_character
from training.services import schema
from training.services.accounts import hash_password
from training.settings import Settings

PG_URL = os.environ.get("TRAINING_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
NATIONAL_PASSWORD = "national-bench-password"
CHUNK = 200_000
LEVELS = ("junior", "intermediate", "senior")
# status -> (share of cohorts, start offset range in days relative to today)
STATUSES: dict[str, tuple[float, tuple[int, int]]] = {
    "draft": (0.02, (5, 40)),
    "submitted": (0.04, (5, 40)),
    "rejected": (0.01, (5, 40)),
    "cancelled": (0.01, (5, 40)),
    "approved": (0.06, (3, 30)),
    "in_training": (0.20, (-50, -10)),
    "training_ended": (0.10, (-110, -75)),
    "assessed": (0.06, (-160, -110)),
    "filed": (0.12, (-220, -150)),
    "accepted": (0.38, (-320, -200)),
}
RUNNING = ("approved", "in_training", "training_ended", "assessed", "filed", "accepted")
STARTED = ("in_training", "training_ended", "assessed", "filed", "accepted")
ASSESSED = ("assessed", "filed", "accepted")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉建国志海波宁"


@dataclass
class NationalSet:
    url: str
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    year: int = 0
    city_codes: list[str] = field(default_factory=list)

    @property
    def province_user(self) -> str:
        return "nat-province"

    def city_user(self, code: str) -> str:
        return f"nat-city-{code}"

    @staticmethod
    def institution_user(n: int) -> str:
        return f"nat-inst-{n}"


# --- writers ------------------------------------------------------------------------------------


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


class SqliteWriter:
    is_postgres = False

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=OFF")

    def stamp(self, moment: datetime) -> Any:
        return moment.isoformat(sep=" ")

    async def insert(self, table: str, columns: list[str], rows: Iterable[tuple], *, convert: bool = True) -> int:
        sql = f'INSERT INTO "{table}" ({", ".join(chr(34) + c + chr(34) for c in columns)}) VALUES ' \
              f'({", ".join("?" for _ in columns)})'
        total = 0
        self.conn.execute("BEGIN")
        for chunk in _chunks(rows):
            if convert:
                chunk = [tuple(_sqlite_value(v) for v in row) for row in chunk]
            self.conn.executemany(sql, chunk)
            total += len(chunk)
        self.conn.execute("COMMIT")
        return total

    async def finish(self, tables: list[str]) -> None:
        self.conn.execute("ANALYZE")
        self.conn.close()


class PostgresWriter:
    is_postgres = True

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def stamp(self, moment: datetime) -> Any:
        return moment

    async def insert(self, table: str, columns: list[str], rows: Iterable[tuple], *, convert: bool = True) -> int:
        total = 0
        for chunk in _chunks(rows):
            await self.conn.copy_records_to_table(table, records=chunk, columns=columns)
            total += len(chunk)
        return total

    async def finish(self, tables: list[str]) -> None:
        for table in tables:
            await self.conn.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM \"{table}\"), 0) + 1, false)")
        await self.conn.execute("ANALYZE")
        await self.conn.close()


def _chunks(rows: Iterable[tuple]) -> Iterator[list[tuple]]:
    chunk: list[tuple] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# --- identities -----------------------------------------------------------------------------------


def credit_code(n: int) -> str:
    body = f"91370000NB{n:07d}"[:17]
    return body + credit_check_character(body)


def id_number(i: int, region: str) -> str:
    born = date(1975, 1, 1) + timedelta(days=(i // 500) % 9000)
    body = f"{region}{born:%Y%m%d}{i % 500 * 2 + 1:03d}"[:17]
    return body + id_check_character(body)


# --- the generator ----------------------------------------------------------------------------------


async def generate(url: str, *, scale: float = 1.0, seed: int = 7, log: Callable[[str], None] = print) -> NationalSet:
    """Migrate ``url`` (sqlite:///path or postgresql://…/name) and fill it at ``scale``."""
    settings = Settings.from_env({"TRAINING_DATABASE_URL": url, "TRAINING_SECRET_KEY": "bench-national-secret-key",
                                  "TRAINING_SCHEDULER": "0",
                                  "TRAINING_DATA_DIR": os.environ.get("TRAINING_DATA_DIR", "var")})
    started = time.perf_counter()
    engine = db.bind(settings)
    await db.start(engine)
    await schema.migrate()
    from training.tables import City, Institution, Occupation, Standard

    if await Institution.exists():
        raise SystemExit(f"{url} already holds institutions: the generator needs a fresh database")
    cities = await City.select(City.id, City.code, City.name).order_by(City.sort_order)
    occupations = [r["id"] for r in await Occupation.select(Occupation.id).order_by(Occupation.sort_order)]
    standards = {(r["occupation"], r["level"]): r["id"] for r in await Standard.select(
        Standard.id, Standard.occupation, Standard.level).where(Standard.active == True)}  # noqa: E712
    await db.stop(engine)
    if settings.database.is_postgres:
        import asyncpg

        writer: Any = PostgresWriter(await asyncpg.connect(url))
    else:
        writer = SqliteWriter(str(settings.database.sqlite_path))
    result = NationalSet(url=url, city_codes=[c["code"] for c in cities])
    result.seconds["migrate"] = time.perf_counter() - started
    builder = _Builder(writer, random.Random(seed), cities, occupations, standards, scale, result, log)
    await builder.run()
    await writer.finish(builder.explicit_id_tables)
    result.seconds["total"] = time.perf_counter() - started
    return result


class _Builder:
    def __init__(self, writer: Any, rng: random.Random, cities: list[dict[str, Any]], occupations: list[int],
                 standards: dict[tuple[int, str], int], scale: float, result: NationalSet,
                 log: Callable[[str], None]) -> None:
        self.w, self.rng, self.cities, self.occupations = writer, rng, cities, occupations
        self.standards, self.scale, self.result, self.log = standards, scale, result, log
        self.today = today_in_china()
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.year = self.today.year
        self.explicit_id_tables: list[str] = []

    def n(self, full: int) -> int:
        return max(1, round(full * self.scale))

    async def put(self, table: str, columns: list[str], rows: Iterable[tuple], *, convert: bool = True) -> int:
        t0 = time.perf_counter()
        count = await self.w.insert(table, columns, rows, convert=convert)
        seconds = time.perf_counter() - t0
        self.result.counts[table] = self.result.counts.get(table, 0) + count
        self.result.seconds[table] = self.result.seconds.get(table, 0.0) + seconds
        if "id" in columns and table not in self.explicit_id_tables:
            self.explicit_id_tables.append(table)
        self.log(f"  {table:<22} {count:>9,} rows {seconds:7.1f} s")
        return count

    async def run(self) -> None:
        rng, today = self.rng, self.today
        n_inst = max(len(self.cities), self.n(200))
        # institutions, their approvals (three occupations, every level) and catalogue entries
        institutions = []
        for i in range(1, n_inst + 1):
            city = self.cities[(i - 1) % len(self.cities)]
            occs = rng.sample(self.occupations, 3)
            institutions.append({"id": i, "city": city, "occupations": occs})
        await self.put("institution", ["id", "name", "credit_code", "city", "address", "contact_person", "phone",
                                       "status"],
                       [(x["id"], f"{x['city']['name']}第{x['id']}数字技术培训学院", credit_code(x["id"]),
                         x["city"]["id"], f"{x['city']['name']}高新区{x['id']}号", "联系人", "0531-8888888",
                         "active") for x in institutions])
        await self.put("approval", ["institution", "occupation", "level", "valid_from", "valid_to",
                                    "document_number"],
                       [(x["id"], o, lv, date(self.year - 1, 1, 1), date(self.year + 2, 12, 31), "鲁人社字〔2026〕1号")
                        for x in institutions for o in x["occupations"] for lv in LEVELS])
        await self.put("catalogue_entry", ["city", "institution", "occupation", "added_at", "added_reason"],
                       [(x["city"]["id"], x["id"], o, self.w.stamp(self.now), "基准数据")
                        for x in institutions for o in x["occupations"]])
        # plans: one per city, a line per occupation × level
        plans, lines, line_of = [], [], {}
        line_id = 0
        for p, city in enumerate(self.cities, start=1):
            plans.append((p, city["id"], self.year, f"{city['name']}{self.year}年度培训计划", "accepted",
                          datetime(self.year, 3, 1, tzinfo=UTC), False))
            for o in self.occupations:
                for lv in LEVELS:
                    line_id += 1
                    line_of[(city["id"], o, lv)] = line_id
                    lines.append((line_id, p, o, lv, rng.choice(["graduates", "advanced_manufacturing",
                                                                 "digital_transformation", "other"]),
                                  "regular", self.n(rng.randint(100, 600)) if self.scale < 1 else rng.randint(100, 600)))
        await self.put("annual_plan", ["id", "city", "year", "title", "status", "submitted_at", "submitted_late"],
                       plans)
        await self.put("plan_line", ["id", "plan", "occupation", "level", "target_group", "class_type",
                                     "target_headcount"], lines)
        # cohorts
        n_cohorts = self.n(3000)
        names = list(STATUSES)
        weights = [STATUSES[s][0] for s in names]
        cohorts = []
        for c in range(1, n_cohorts + 1):
            inst = institutions[(c - 1) % n_inst]
            status = rng.choices(names, weights)[0]
            low, high = STATUSES[status][1]
            start = today + timedelta(days=rng.randint(low, high))
            end = start + timedelta(days=60)
            occ, lv = rng.choice(inst["occupations"]), rng.choice(LEVELS)
            cohorts.append({"id": c, "inst": inst, "city": inst["city"], "status": status, "start": start, "end": end,
                            "occ": occ, "level": lv, "enrolled": []})
        await self.put("cohort", ["id", "code", "name", "institution", "city", "plan_line", "occupation", "level",
                                  "standard", "class_type", "planned_start", "planned_end", "capacity", "status",
                                  "submitted_at", "decided_at"],
                       [(x["id"], f"N{x['start']:%Y}-{x['city']['code']}-{x['id']:05d}", f"数字技术工程师培训{x['id']}班",
                         x["inst"]["id"], x["city"]["id"], line_of[(x["city"]["id"], x["occ"], x["level"])], x["occ"],
                         x["level"], self.standards[(x["occ"], x["level"])], "regular", x["start"], x["end"], 40,
                         x["status"], self.now if x["status"] != "draft" else None,
                         self.now if x["status"] in (*RUNNING, "rejected") else None) for x in cohorts])
        # trainees, one enrollment each, spread over the cohorts that may enroll
        n_trainees = self.n(100_000)
        open_cohorts = [x for x in cohorts if x["status"] in RUNNING]
        trainees, enrollments = [], []
        for t in range(1, n_trainees + 1):
            cohort = open_cohorts[(t - 1) % len(open_cohorts)]
            region = cohort["city"]["code"][:4] + "02"
            number = id_number(t, region)
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if t % 3 else "")
            sex = "M" if int(number[16]) % 2 else "F"
            trainees.append((t, number, name, sex, date(int(number[6:10]), int(number[10:12]), int(number[12:14]))))
            withdrawn = rng.random() < 0.03
            enrollments.append([t, t, cohort["id"], cohort["start"] - timedelta(days=5),
                                "withdrawn" if withdrawn else "enrolled"])
            cohort["enrolled"].append(enrollments[-1])
        await self.put("trainee", ["id", "id_number", "name", "sex", "birth_date"], trainees)
        # assessment outcomes decide the enrollment status, so settle them before writing enrollments
        assessments, results, certificates, counters = [], [], [], {}
        result_id = 0
        for x in cohorts:
            if x["status"] not in ASSESSED:
                continue
            assessments.append((x["id"], x["id"], x["end"], "both", 1))
            for e in x["enrolled"]:
                if e[4] == "withdrawn":
                    continue
                roll = rng.random()
                absent, passed = roll >= 0.95, roll < 0.88
                result_id += 1
                results.append((result_id, x["id"], e[0], None if absent else (rng.randint(60, 98) if passed else 40),
                                None if absent else (rng.randint(60, 98) if passed else 50), absent, passed))
                if passed:
                    e[4] = "completed"
                    key = x["city"]["code"]
                    counters[key] = counters.get(key, 0) + 1
                    seq = counters[key]
                    certificates.append((len(certificates) + 1, f"DTE-{self.year}-{key}-{seq:05d}",
                                         uuid.UUID(int=rng.getrandbits(128)).hex[:16].upper(), e[0], result_id, e[1],
                                         x["id"], x["inst"]["id"], x["city"]["id"], x["occ"], x["level"], self.year, seq,
                                         x["end"] + timedelta(days=3), 128.0, "valid"))
                elif not absent:
                    e[4] = "failed"
        await self.put("enrollment", ["id", "trainee", "cohort", "enrolled_on", "status"], [tuple(e) for e in enrollments])
        # sessions: past ones with a saved roll and attendance; in-training cohorts also have future ones
        started = [x for x in cohorts if x["status"] in STARTED]
        started_people = sum(len(x["enrolled"]) for x in started) or 1
        per_cohort = max(4, round(self.n(4_000_000) / started_people))
        sessions, attendance_plan = [], []
        session_id = 0
        for x in started:
            last = min(x["end"], today - timedelta(days=1))
            span = max(1, (last - x["start"]).days)
            future = 5 if x["status"] == "in_training" else 0
            for k in range(per_cohort + future):
                session_id += 1
                past = k < per_cohort
                day = (x["start"] + timedelta(days=k * span // per_cohort) if past
                       else today + timedelta(days=k - per_cohort + 1))
                mode, kind = (("online", "theory"), ("offline", "theory"), ("offline", "practice"),
                              ("offline", "practice"))[k % 4]
                sessions.append((session_id, x["id"], day, clock(9, 0), clock(11, 15), mode, kind, 3.0, f"第{k + 1}讲",
                                 "李老师", "实训室" if mode == "offline" else "", "云课堂" if mode == "online" else "",
                                 datetime.combine(day, clock(4, 0), tzinfo=UTC) if past else None))
                if past:
                    attendance_plan.append((session_id, x))
        await self.put("training_session", ["id", "cohort", "session_date", "start_time", "end_time", "mode", "kind",
                                             "class_hours", "topic", "teacher", "place", "platform", "roll_saved_at"],
                       sessions)
        stamp = self.w.stamp(self.now)

        def attendance_rows() -> Iterator[tuple]:
            random_ = rng.random
            for session, x in attendance_plan:
                for e in x["enrolled"]:
                    if random_() < 0.05:
                        yield (e[0], session, "absent", 0.0, "manual", stamp)
                    else:
                        yield (e[0], session, "present", 3.0, "manual", stamp)

        await self.put("attendance", ["enrollment", "session", "status", "credited_hours", "source", "recorded_at"],
                       attendance_rows(), convert=False)
        await self.put("assessment", ["id", "cohort", "assessment_date", "form", "attempt"], assessments)
        await self.put("assessment_result", ["id", "assessment", "enrollment", "theory_score", "practice_score",
                                             "absent", "passed"], results)
        await self.put("certificate", ["id", "number", "verification_code", "enrollment", "result", "trainee", "cohort",
                                       "institution", "city", "occupation", "level", "year", "sequence", "issue_date",
                                       "hours", "status"], certificates)
        await self.put("certificate_counter", ["year", "city_code", "last_sequence"],
                       [(self.year, code, seq) for code, seq in counters.items()])
        # filings: version 1 of every cohort whose training ended
        filings = []
        for x in cohorts:
            if x["status"] not in ("training_ended", *ASSESSED):
                continue
            due = x["end"] + timedelta(days=30)
            if x["status"] in ("filed", "accepted"):
                late = rng.random() < 0.12
                submitted = due + timedelta(days=rng.randint(1, 20)) if late else due - timedelta(days=rng.randint(1, 25))
                filings.append((len(filings) + 1, x["id"], 1, "acknowledged" if x["status"] == "accepted" else "submitted",
                                due, datetime.combine(submitted, clock(2, 0), tzinfo=UTC), late))
            else:
                filings.append((len(filings) + 1, x["id"], 1, "draft", due, None, False))
        await self.put("filing", ["id", "cohort", "version_number", "status", "due_date", "submitted_at",
                                  "submitted_late"], filings)
        kinds = ("offline_overlap", "daily_hours", "withdrawn_attendance", "duplicate_enrollment")
        flags = []
        for f in range(1, self.n(600) + 1):
            x = rng.choice(started)
            e = rng.choice(x["enrolled"]) if x["enrolled"] else None
            flags.append((rng.choice(kinds), x["city"]["id"], x["inst"]["id"], x["id"], e[1] if e else None,
                          "{}", f"national-{f}", self.now,
                          rng.choices(("open", "explained", "confirmed"), (0.6, 0.25, 0.15))[0]))
        await self.put("anomaly_flag", ["kind", "city", "institution", "cohort", "trainee", "details", "dedupe_key",
                                        "detected_at", "review_status"], flags)
        # sign-ins: one argon2 hash shared by every benchmark user
        digest = hash_password(NATIONAL_PASSWORD)
        users = [("nat-province", "省厅（基准）", digest, "province", None, None)]
        users += [(f"nat-city-{c['code']}", f"{c['name']}（基准）", digest, "city", c["id"], None) for c in self.cities]
        users += [(f"nat-inst-{x['id']}", f"机构{x['id']}（基准）", digest, "institution", None, x["id"])
                  for x in institutions]
        await self.put("app_user", ["username", "display_name", "password_hash", "role", "city", "institution"], users)
        self.result.year = self.year


# --- throwaway PostgreSQL databases ----------------------------------------------------------------


def pg_url(name: str) -> str:
    base, _, _ = PG_URL.rpartition("/")
    return f"{base}/{name}"


async def create_pg_database(name: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(PG_URL, timeout=5)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return pg_url(name)


async def drop_pg_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL, timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def summary(result: NationalSet) -> str:
    rows = [f"{'table':<22} {'rows':>10} {'seconds':>8}"]
    for table, count in result.counts.items():
        rows.append(f"{table:<22} {count:>10,} {result.seconds.get(table, 0):8.1f}")
    rows.append(f"{'migrations':<22} {'':>10} {result.seconds.get('migrate', 0):8.1f}")
    rows.append(f"{'total':<22} {'':>10} {result.seconds.get('total', 0):8.1f}")
    return "\n".join(rows)


async def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--path", default="var/national.sqlite3", help="SQLite file to create")
    parser.add_argument("--name", default="bench_national", help="PostgreSQL database to create")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the national scale (e.g. 0.05)")
    args = parser.parse_args()
    if args.database == "postgres":
        url = await create_pg_database(args.name)
    else:
        path = Path(args.path).resolve()  # noqa: ASYNC240
        if path.exists():
            raise SystemExit(f"{path} exists: remove it or give --path")
        path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{path}"
    result = await generate(url, scale=args.scale)
    print(summary(result))
    print(f"database: {url}\nsign-ins: nat-province, nat-city-<code>, nat-inst-<n>; password {NATIONAL_PASSWORD}")


if __name__ == "__main__":
    asyncio.run(_main())
