"""Browser journeys: a real server (``training serve``) on a free loopback port, driven by
Debian's Chromium through Playwright. Skipped, with the reason, when either is missing."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from training.settings import PROJECT_ROOT

CHROMIUM = os.environ.get("TRAINING_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = PROJECT_ROOT / "test-output" / "screenshots"


@dataclass(frozen=True)
class LiveServer:
    url: str
    env: dict[str, str]

    def cli(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "training.cli", *args], env=self.env, input=stdin,
                              capture_output=True, text=True, cwd=PROJECT_ROOT, check=True, timeout=300)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir: Path = tmp_path_factory.mktemp("browser-data")
    port = _free_port()
    env = {**os.environ, "TRAINING_DATA_DIR": str(data_dir), "TRAINING_SCHEDULER": "0",
           "TRAINING_SECRET_KEY": "browser-test-secret", "TRAINING_DATABASE_URL": f"sqlite:///{data_dir}/db.sqlite3"}
    server = LiveServer(url=f"http://127.0.0.1:{port}", env=env)
    server.cli("migrate")
    log = (data_dir / "server.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "training.cli", "serve", "--port", str(port), "--no-migrate"],
                               env=env, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=1) as answer:  # noqa: S310 (loopback)
                if answer.status == 200:
                    break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail(f"server did not start: {(data_dir / 'server.log').read_text()}")
    yield server
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    """Module-scoped: Playwright's sync API runs its own event loop in this thread, which must be
    closed again before the asyncio tests of other modules run."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not installed at {CHROMIUM} (make browser-deps installs Debian's chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.skip(f"Playwright's Python driver is not installed: {exc}")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(15000)
    yield tab
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def sign_in(page, server: LiveServer, username: str, password: str) -> None:
    page.goto(f"{server.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/")


def has_chromium() -> bool:
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None


# --- journeys (issue 8): the demo province on the live server, and named screenshots -----------

DEMO_PASSWORD = "demo-password-2026"


@pytest.fixture(scope="session")
def demo_live(live_server: LiveServer) -> LiveServer:
    """The live server with the demo province loaded (idempotent: a second load changes nothing)."""
    live_server.cli("demo")
    return live_server


def shot(page, name: str) -> Path:
    """A full-page screenshot under test-output/screenshots/ (the journeys' evidence)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
