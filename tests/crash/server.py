"""A real ``training serve`` process for the crash-safety tests: started, killed with SIGKILL and
restarted on the same database (a file SQLite database or a throwaway PostgreSQL database)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from training.settings import PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    def __init__(self, data_dir: Path, database_url: str) -> None:
        self.data_dir = data_dir
        self.env = {**os.environ, "TRAINING_DATA_DIR": str(data_dir), "TRAINING_SCHEDULER": "0",
                    "TRAINING_SECRET_KEY": "crash-test-secret", "TRAINING_DATABASE_URL": database_url}
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.starts = 0

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "training.cli", *args], env=self.env, capture_output=True,
                              text=True, cwd=PROJECT_ROOT, check=check, timeout=300)

    def run_module(self, module: str, *args: str) -> str:
        done = subprocess.run([sys.executable, "-m", module, *args], env=self.env, capture_output=True, text=True,
                              cwd=PROJECT_ROOT, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def start(self) -> None:
        self.starts += 1
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        log = (self.data_dir / f"server-{self.starts}.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "training.cli", "serve", "--port", str(port), "--no-migrate"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as answer:  # noqa: S310 (loopback)
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.process.kill()
        raise RuntimeError(f"server did not start: {self.log()}")

    def log(self) -> str:
        return (self.data_dir / f"server-{self.starts}.log").read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no rollback by the server, no flush: a power cut."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        assert self.process.returncode == -signal.SIGKILL

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
