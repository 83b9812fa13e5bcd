"""Benchmark (issue 8, item 6): the real server under a fixed mix of reads and roll saves, next to a
bare Litestar endpoint doing the same one-row read through the raw asyncpg driver, in one run.

    .venv/bin/python bench/load.py [--duration 15] [--connections 32] [--data national|demo]
                                   [--scale 1.0] [--savers 4]

What it does, all on loopback and all torn down at the end:

1. Creates a throwaway PostgreSQL database and fills it: ``--data national`` (default) with
   ``bench/national.py`` at ``--scale`` (1.0 = 200 institutions, 3,000 cohorts, 100,000 trainees,
   ~4,000,000 attendance rows); ``--data demo`` with the small demo province (quick runs).
2. Starts ``training serve --workers 2`` on it, and the baseline ``bench/_bare_app.py`` under
   ``uvicorn --workers 2`` (asyncpg pool, one query, no authentication).
3. Drives each for ``--duration`` seconds with ``wrk`` (Debian package; an asyncio + httpx
   generator when wrk is missing — far slower, so its figures are a floor):
   the raw endpoint and the authenticated one-row read ``GET /api/v1/cohorts/{id}`` (bearer token
   of an institution clerk), alternating in ``--rounds`` slices so both meet the same background
   load; the list read ``GET /api/v1/cohorts?page_size=20``; then the mix — wrk
   sending 80 % one-row and 20 % list reads while ``--savers`` clerks each re-read and save the
   whole roll of their own session (``PUT /api/v1/sessions/{id}/attendance`` with its version)
   in a loop.
4. Prints requests/s, p50/p95/p99 and error counts per phase, the largest RSS of every server
   worker during the run, and the two targets: the authenticated one-row read ≥ 50 % of the raw
   endpoint's requests/s; server RSS ≤ 200 MB per worker.

``BENCH_DURATION`` overrides the default duration (``BENCH_DURATION=3 make bench``).
``TRAINING_BENCH_POSTGRES_URL`` names the PostgreSQL server (default postgres@127.0.0.1:5432).
The load generator shares the cores with both servers, so absolute figures are a floor; the ratio
is what carries over.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
sys.path.insert(0, str(PROJECT_ROOT / "bench"))

import national  # noqa: E402  (bench/national.py: the data set and throwaway databases)

DEMO_PASSWORD = "demo-password-2026"
READ_TARGET = 0.50
RSS_TARGET_MB = 200
MIX = (("one", 8), ("list", 2))  # wrk's fixed mix: 8 one-row reads to 2 list reads

WRK_SCRIPT = r"""
local paths = {}
local n = 0
init = function(args) for i, p in ipairs(args) do paths[i] = p end end
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n % #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "p50": %d, "p95": %d, "p99": %d, "status": %d, "socket": %d, "timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.status, e.connect + e.read + e.write, e.timeout))
end
"""


@dataclass
class Phase:
    name: str
    requests: int
    seconds: float
    p50: float
    p95: float
    p99: float
    errors: int
    note: str = ""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass
class Target:
    username: str
    password: str
    cohort: int
    sessions: list[int]
    data: str
    counts: dict[str, int] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen, log: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status < 500:
                    return
        except OSError as exc:
            if getattr(exc, "code", None) and exc.code < 500:  # an HTTP error page: the server answers
                return
            time.sleep(0.3)
    raise SystemExit(f"{url} did not come up:\n{log.read_text(errors='replace')[-3000:]}")


@contextmanager
def running(command: list[str], env: dict[str, str], ready_url: str, log: Path) -> Iterator[subprocess.Popen]:
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        wait_ready(ready_url, process, log)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


# --- server memory ----------------------------------------------------------------------------------

def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def workers_of(pid: int) -> list[int]:
    """uvicorn's worker processes under ``pid`` (not multiprocessing's resource tracker)."""
    found = []
    for child in _children().get(pid, []):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "resource_tracker" not in cmdline:
            found.append(child)
    return sorted(found)


class RssWatch:
    """Samples the RSS of the server's supervisor and workers every half second; keeps the maxima."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in [self.pid, *workers_of(self.pid)]:
                self.peak[pid] = max(self.peak.get(pid, 0.0), rss_mb(pid))
            self._stop.wait(0.5)

    def __enter__(self) -> RssWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


# --- load generators ----------------------------------------------------------------------------------

def run_wrk(name: str, base: str, paths: list[str], headers: dict[str, str], duration: int, connections: int,
            script: Path) -> Phase:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "-s", str(script)]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    command += [base + paths[0], "--", *paths]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
    found = re.search(r"WRKJSON (\{.*\})", done.stdout)
    if done.returncode != 0 or not found:
        raise SystemExit(f"wrk failed: {done.stdout}\n{done.stderr}")
    figures = json.loads(found.group(1))
    return Phase(name, figures["requests"], figures["duration_us"] / 1e6, figures["p50"] / 1000,
                 figures["p95"] / 1000, figures["p99"] / 1000,
                 figures["status"] + figures["socket"] + figures["timeout"])


def combine(name: str, parts: list[Phase]) -> Phase:
    """Slices of one phase as one: summed counts; percentiles averaged, weighted by requests."""
    total = sum(p.requests for p in parts) or 1
    weighted = [sum(getattr(p, q) * p.requests for p in parts) / total for q in ("p50", "p95", "p99")]
    return Phase(name, sum(p.requests for p in parts), sum(p.seconds for p in parts), *weighted,
                 sum(p.errors for p in parts), note=f"{len(parts)} interleaved slices")


def percentiles(latencies: list[float]) -> tuple[float, float, float]:
    if len(latencies) < 2:
        return (latencies[0],) * 3 if latencies else (0.0, 0.0, 0.0)
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


async def python_load(name: str, base: str, paths: list[str], headers: dict[str, str], duration: int,
                      connections: int) -> Phase:
    """The fallback generator (no wrk): ``connections`` tasks cycling through ``paths``."""
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + duration
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)

    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=10) as client:
        async def worker(offset: int) -> None:
            nonlocal errors
            n = offset
            while time.perf_counter() < stop_at:
                n += 1
                started = time.perf_counter()
                try:
                    answer = await client.get(paths[n % len(paths)])
                    if answer.status_code >= 400:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                latencies.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(connections)))
        seconds = time.perf_counter() - started
    p50, p95, p99 = percentiles(latencies)
    return Phase(name + " [httpx]", len(latencies), seconds, p50, p95, p99, errors)


async def roll_savers(base: str, headers: dict[str, str], sessions: list[int], duration: float) -> Phase:
    """One clerk per session: read the roll, save it whole with its version, flip every status, repeat."""
    latencies: list[float] = []
    errors = conflicts = 0
    stop_at = time.perf_counter() + duration

    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        async def clerk(session_id: int) -> None:
            nonlocal errors, conflicts
            flip = 0
            while time.perf_counter() < stop_at:
                roll = await client.get(f"/api/v1/sessions/{session_id}/attendance")
                if roll.status_code != 200:
                    errors += 1
                    continue
                body = roll.json()
                flip += 1
                entries = [{"enrollment_id": r["enrollment_id"], "status": "present" if flip % 2 else "absent"}
                           for r in body["rows"] if r["recordable"]]
                started = time.perf_counter()
                saved = await client.put(f"/api/v1/sessions/{session_id}/attendance",
                                         json={"lock_version": body["lock_version"], "entries": entries})
                latencies.append((time.perf_counter() - started) * 1000)
                if saved.status_code == 409:
                    conflicts += 1
                elif saved.status_code != 200:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(clerk(s) for s in sessions))
        seconds = time.perf_counter() - started
    p50, p95, p99 = percentiles(latencies)
    return Phase(f"  mix: roll saves PUT /api/v1/sessions/{{id}}/attendance ({len(sessions)} clerks)",
                 len(latencies), seconds, p50, p95, p99, errors, note=f"409 conflicts: {conflicts}")


# --- the data set --------------------------------------------------------------------------------------

async def choose_target(url: str, data: str, savers: int) -> Target:
    """An institution clerk with a cohort whose rolls can be saved: recordable cohort, sessions held."""
    import asyncpg

    from training.rules.clock import today_in_china

    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT c.institution, c.id AS cohort, s.id AS session, "
            "(SELECT count(*) FROM enrollment e WHERE e.cohort = c.id AND e.status <> 'withdrawn') AS people "
            "FROM training_session s JOIN cohort c ON c.id = s.cohort "
            "WHERE c.status IN ('approved', 'in_training', 'training_ended', 'assessed') AND s.session_date <= $1 "
            "AND EXISTS (SELECT 1 FROM app_user u WHERE u.institution = c.institution AND u.active) "
            "ORDER BY c.institution, c.id, s.session_date DESC, s.id", today_in_china())
        by_institution: dict[int, list] = {}
        for row in rows:
            if row["people"] > 0:
                by_institution.setdefault(row["institution"], []).append(row)
        if not by_institution:
            raise SystemExit("the data set has no cohort with a held session and enrolled trainees")
        institution, chosen = max(by_institution.items(), key=lambda item: len({r["cohort"] for r in item[1]}))
        user = await conn.fetchrow("SELECT username FROM app_user WHERE institution = $1 AND active ORDER BY id",
                                   institution)
        # one session per clerk, from as many cohorts as possible
        sessions: list[int] = []
        seen_cohorts: set[int] = set()
        for row in chosen:
            if row["cohort"] not in seen_cohorts and len(sessions) < savers:
                sessions.append(row["session"])
                seen_cohorts.add(row["cohort"])
        for row in chosen:
            if len(sessions) >= savers:
                break
            if row["session"] not in sessions:
                sessions.append(row["session"])
        counts = {}
        for table in ("institution", "cohort", "trainee", "enrollment", "training_session", "attendance"):
            counts[table] = await conn.fetchval(f"SELECT count(*) FROM {table}")
    finally:
        await conn.close()
    password = national.NATIONAL_PASSWORD if data == "national" else DEMO_PASSWORD
    return Target(user["username"], password, chosen[0]["cohort"], sessions, data, counts)


async def fill(url: str, data: str, scale: float, env: dict[str, str]) -> None:
    if data == "national":
        started = time.perf_counter()
        await national.generate(url, scale=scale, log=lambda _line: None)
        print(f"data set: national at scale {scale} generated in {time.perf_counter() - started:.0f} s", flush=True)
    else:
        await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "training.cli", "demo"], env=env,
                                cwd=PROJECT_ROOT, check=True, capture_output=True, timeout=600)
        print("data set: the demo province", flush=True)


def token(base: str, target: Target) -> str:
    answer = httpx.post(f"{base}/api/v1/auth/token", json={"username": target.username, "password": target.password},
                        timeout=30)
    answer.raise_for_status()
    return answer.json()["token"]


def pg_version(url: str) -> str:
    import asyncpg

    async def ask() -> str:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchval("SHOW server_version")
        finally:
            await conn.close()

    return asyncio.run(ask())


# --- the run ------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=int(os.environ.get("BENCH_DURATION", "15")),
                        help="seconds per phase (default 15, or BENCH_DURATION)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--data", choices=("national", "demo"), default="national")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the national data set")
    parser.add_argument("--savers", type=int, default=4, help="clerks saving rolls during the mixed phase")
    parser.add_argument("--generator", choices=("auto", "wrk", "httpx"), default="auto",
                        help="load generator: wrk when installed (auto), or the asyncio + httpx fallback")
    parser.add_argument("--rounds", type=int, default=3,
                        help="slices the raw and the authenticated one-row reads alternate in")
    args = parser.parse_args()

    wrk = shutil.which("wrk") if args.generator != "httpx" else None
    if args.generator == "wrk" and not wrk:
        raise SystemExit("wrk is not installed (make bench-deps, as root)")
    name = f"bench_load_{uuid.uuid4().hex[:10]}"
    try:
        url = asyncio.run(national.create_pg_database(name))
    except Exception as exc:
        print(f"load benchmark SKIPPED: PostgreSQL unreachable at {national.PG_URL}: {type(exc).__name__}: {exc}")
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    env = {**os.environ, "TRAINING_DATABASE_URL": url, "TRAINING_DATA_DIR": str(workdir),
           "TRAINING_SECRET_KEY": "bench-load-secret-key", "TRAINING_SCHEDULER": "0", "BENCH_BARE_DATABASE_URL": url,
           "PYTHONPATH": str(PROJECT_ROOT)}
    try:
        subprocess.run([sys.executable, "-m", "training.cli", "migrate"], env=env, cwd=PROJECT_ROOT, check=True,
                       capture_output=True, timeout=300)
        asyncio.run(fill(url, args.data, args.scale, env))
        target = asyncio.run(choose_target(url, args.data, args.savers))
        return measure(args, url, env, workdir, target, wrk)
    finally:
        asyncio.run(national.drop_pg_database(name))
        shutil.rmtree(workdir, ignore_errors=True)


def measure(args: argparse.Namespace, url: str, env: dict[str, str], workdir: Path, target: Target,
            wrk: str | None) -> int:
    app_port, bare_port = free_port(), free_port()
    app, bare = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{bare_port}"
    script = workdir / "mix.lua"
    script.write_text(WRK_SCRIPT)
    one = f"/api/v1/cohorts/{target.cohort}"
    listing = "/api/v1/cohorts?page_size=20"
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL {pg_version(url)}, "
          f"load generator: {'wrk' if wrk else 'asyncio + httpx (wrk not installed: figures are a floor)'}")
    print("rows: " + ", ".join(f"{table} {n:,}" for table, n in target.counts.items()))
    print(f"clerk {target.username}: one-row read of cohort {target.cohort}; roll saves on sessions "
          f"{target.sessions}; {args.duration} s per phase, {args.connections} connections", flush=True)

    def load(phase_name: str, base: str, paths: list[str], headers: dict[str, str], seconds: int) -> Phase:
        if wrk:
            return run_wrk(phase_name, base, paths, headers, seconds, args.connections, script)
        return asyncio.run(python_load(phase_name, base, paths, headers, seconds, args.connections))

    phases: list[Phase] = []
    serve = [sys.executable, "-m", "training.cli", "serve", "--workers", "2", "--no-migrate", "--port", str(app_port)]
    uvicorn = [sys.executable, "-m", "uvicorn", "--app-dir", str(PROJECT_ROOT / "bench"), "_bare_app:app",
               "--host", "127.0.0.1", "--port", str(bare_port), "--workers", "2", "--log-level", "warning",
               "--no-access-log"]
    raw_path = f"/cohorts/{target.cohort}"
    with (running(uvicorn, env, bare + raw_path, workdir / "bare.log"),
          running(serve, env, f"{app}/healthz", workdir / "server.log") as server):
        headers = {"Authorization": f"Bearer {token(app, target)}"}
        for _ in range(20):  # warm every worker's pool and caches
            httpx.get(bare + raw_path, timeout=30).raise_for_status()
            httpx.get(app + one, headers=headers, timeout=30).raise_for_status()
            httpx.get(app + listing, headers=headers, timeout=30).raise_for_status()
        with RssWatch(server.pid) as watch:
            # The two one-row reads alternate in slices, so a change in the machine's other load
            # during the run weighs on both alike (the ratio is the figure that matters).
            slices: dict[str, list[Phase]] = {"raw": [], "one": []}
            part = max(1, round(args.duration / args.rounds))
            for _ in range(args.rounds):
                slices["raw"].append(load("raw", bare, [raw_path], {}, part))
                slices["one"].append(load("one", app, [one], headers, part))
            phases.append(combine("bare Litestar + asyncpg: GET /cohorts/{id}", slices["raw"]))
            phases.append(combine("training: GET /api/v1/cohorts/{id} (bearer)", slices["one"]))
            phases.append(load("training: GET /api/v1/cohorts?page_size=20 (bearer)", app, [listing], headers,
                               args.duration))
            mix_paths = [one if kind == "one" else listing for kind, weight in MIX for _ in range(weight)]

            async def mixed() -> list[Phase]:
                reads = asyncio.to_thread(load, "mix: 80 % one-row + 20 % list reads (bearer)", app, mix_paths,
                                          headers, args.duration)
                saves = roll_savers(app, headers, target.sessions, args.duration)
                return list(await asyncio.gather(reads, saves))

            phases += asyncio.run(mixed())
        workers = workers_of(server.pid)

    print(f"\n{'phase':<62} {'requests':>9} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>6}")
    for p in phases:
        line = f"{p.name:<62} {p.requests:>9} {p.rate:>8.0f} {p.p50:>7.1f} {p.p95:>7.1f} {p.p99:>7.1f} {p.errors:>6}"
        print(line + (f"  {p.note}" if p.note else ""))
    peaks = {pid: mb for pid, mb in watch.peak.items() if pid != server.pid}
    print(f"\nserver RSS, largest during the run: supervisor {watch.peak.get(server.pid, 0):.0f} MB; workers "
          + ", ".join(f"pid {pid} {mb:.0f} MB" for pid, mb in sorted(peaks.items())))
    ratio = phases[1].rate / phases[0].rate if phases[0].rate else 0.0
    worst = max(peaks.values(), default=0.0)
    if not wrk:
        print("note: the httpx generator, not the servers, bounds these rates (it caps the raw endpoint), so the "
              "ratio below overstates the server; install wrk for a meaningful ratio")
    print(f"authenticated one-row read / raw-driver endpoint: {ratio:.2f} "
          f"(target ≥ {READ_TARGET:.2f}: {'met' if ratio >= READ_TARGET else 'NOT met'})")
    print(f"largest worker RSS: {worst:.0f} MB (target ≤ {RSS_TARGET_MB} MB: "
          f"{'met' if worst <= RSS_TARGET_MB else 'NOT met'}); workers seen: {len(workers) or len(peaks)}")
    failed = [p.name.strip() for p in phases if p.errors]
    if failed:  # a run with failed requests is a failed run (a missed target is not)
        print("requests failed in: " + "; ".join(failed) + f" (server log: {workdir / 'server.log'})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
