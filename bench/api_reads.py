"""Benchmark: read throughput and latency of the real server (``training serve``) on loopback.

Starts ``training serve --no-migrate`` on a free loopback port over a fresh SQLite database in a
temporary data directory (after ``training migrate`` and ``training user create``), takes a bearer
token, then drives GET /healthz and GET /api/v1/cities with an asyncio + httpx load generator for a
bounded time each and prints requests/s and p50/p95/p99. The server is stopped at the end.

Run: ``.venv/bin/python bench/api_reads.py [--duration 5] [--concurrency 16]`` or ``make bench``.
The load generator shares the machine's cores with the server, so the figures are a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import secrets
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parent.parent
USERNAME = "bench-province"


@dataclass
class Result:
    name: str
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def training(env: dict[str, str], *args: str, stdin: str | None = None) -> None:
    done = subprocess.run([sys.executable, "-m", "training.cli", *args], env=env, cwd=PROJECT_ROOT, input=stdin,
                          text=True, capture_output=True, check=False, timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"training {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def wait_until_up(base: str, server: subprocess.Popen, limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    with httpx.Client(base_url=base) as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise SystemExit(f"server exited early with code {server.returncode}")
            try:
                if client.get("/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise SystemExit(f"server not answering /healthz within {limit:.0f} s")


async def drive(base: str, name: str, path: str, headers: dict[str, str], seconds: float,
                concurrency: int) -> Result:
    """``concurrency`` clients, each issuing one request after the other until the time is up."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=10) as client:
        warm_until = time.monotonic() + min(1.0, seconds / 5)
        while time.monotonic() < warm_until:
            await client.get(path)
        result = Result(name=name, seconds=seconds)
        stop_at = time.monotonic() + seconds

        async def worker() -> None:
            while (started := time.perf_counter()) and time.monotonic() < stop_at:
                try:
                    response = await client.get(path)
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    result.latencies_ms.append((time.perf_counter() - started) * 1000)
                else:
                    result.errors += 1

        began = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.seconds = time.monotonic() - began
        return result


def machine() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"machine: {cores} cores (nproc), {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, httpx {httpx.__version__}")


async def measure(base: str, token: str, seconds: float, concurrency: int) -> list[Result]:
    auth = {"Authorization": f"Bearer {token}"}
    return [
        await drive(base, "GET /healthz", "/healthz", {}, seconds, concurrency),
        await drive(base, "GET /api/v1/cities (bearer)", "/api/v1/cities", auth, seconds, concurrency),
    ]


def main(seconds: float, concurrency: int) -> int:
    print("bench/api_reads.py — training serve (1 uvicorn worker, SQLite) read throughput on loopback")
    print(machine())
    with tempfile.TemporaryDirectory(prefix="training-bench-") as data_dir:
        env = {**os.environ,
               "TRAINING_DATA_DIR": data_dir,
               "TRAINING_DATABASE_URL": f"sqlite:///{data_dir}/bench.sqlite3",
               "TRAINING_SECRET_KEY": secrets.token_urlsafe(32),
               "TRAINING_SCHEDULER": "0"}
        password = secrets.token_urlsafe(12)
        training(env, "migrate")
        training(env, "user", "create", "--role", "province", "--username", USERNAME, stdin=password + "\n")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, "-m", "training.cli", "serve", "--no-migrate", "--host", "127.0.0.1", "--port", str(port)],
            env=env, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_until_up(base, server)
            response = httpx.post(f"{base}/api/v1/auth/token", json={"username": USERNAME, "password": password})
            response.raise_for_status()
            print(f"server: {base}, pid {server.pid}; {concurrency} concurrent clients, {seconds:g} s per endpoint\n")
            results = asyncio.run(measure(base, response.json()["token"], seconds, concurrency))
            server_rss = rss_mb(server.pid)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

    header = f"{'endpoint':<30} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}"
    print(header)
    print("-" * len(header))
    for r in results:
        count = len(r.latencies_ms)
        print(f"{r.name:<30} {count:>9} {count / r.seconds:>8.0f} {r.percentile(50):>8.1f} "
              f"{r.percentile(95):>8.1f} {r.percentile(99):>8.1f} {r.errors:>7}")
    mean = statistics.fmean(results[1].latencies_ms) if results[1].latencies_ms else float("nan")
    print(f"\nserver RSS after the run: {server_rss:.0f} MB; mean latency of the authenticated read: {mean:.1f} ms")
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=float(os.environ.get("BENCH_DURATION", "5")),
                        help="seconds per endpoint (default 5, or $BENCH_DURATION)")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    sys.exit(main(args.duration, args.concurrency))
