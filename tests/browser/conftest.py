"""A real server (``companion serve``, gevent, demo data) and headless Debian Chromium."""

from __future__ import annotations

import os
import queue
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
]
DEMO_PASSWORD = "recovery-demo"
# Demo staff log in with a code of companion.demo.DEMO_TOTP_SECRET as well (demo_code below).
DEMO_STAFF = frozenset({"admin@demo.test", "counselor@demo.test", "peer@demo.test"})
CODE_LABEL = "6-digit code from your authenticator app"
_last_step: dict[str, int] = {}
NODE_MODULES = Path(__file__).resolve().parent / "node_modules"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_database(tmp: Path, name: str) -> str:
    """A SQLite file, or a new PostgreSQL database beside the test one when DATABASE_URL is set."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return f"sqlite:///{tmp / (name + '.db')}"
    import psycopg

    base = url.replace("postgresql+psycopg://", "postgresql://", 1)
    # Named after the test database too: two runs on one server (two checkouts, a CI job
    # beside a developer's) never drop each other's; and after the pytest-xdist worker.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    name = f"{base.rsplit('/', 1)[1]}_{name}{'_' + worker if worker else ''}"[:63]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return base.rsplit("/", 1)[0] + f"/{name}"


class LiveServer:
    def __init__(self, url: str, process: subprocess.Popen[str], log: Path) -> None:
        self.url = url
        self.process = process
        self.log = log

    def output(self) -> str:
        return self.log.read_text()


def start_server(
    tmp: Path,
    database_url: str,
    env_extra: dict[str, str] | None = None,
    port: int | None = None,
) -> LiveServer:
    """``python -m companion serve`` on a free port; returns once /healthz answers."""
    port = port or free_port()
    env = {
        **os.environ,
        "COMPANION_INSTANCE_PATH": str(tmp / "instance"),
        "DATABASE_URL": database_url,
        "PYTHONUNBUFFERED": "1",
        **(env_extra or {}),
    }
    log = tmp / f"server-{port}.log"
    with log.open("w") as out:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "companion", "serve", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return LiveServer(url, process, log)
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not start:\n{log.read_text()}")


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("live")
    server = start_server(tmp, fresh_database(tmp, "companion_e2e"))
    yield server
    stop_server(server)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A page in a 360 px wide phone-sized window, in US English (times as 6:30 PM)."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True, locale="en-US")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def desktop(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    page = context.new_page()
    yield page
    context.close()


def demo_code(email: str, secret: str | None = None) -> str:
    """A code of the demo staff secret that this run has not used yet: the server accepts the
    step before now, now and the next, each once (replays are refused), so after a burst of
    logins of one person this waits for the next 30-s step."""
    import pyotp

    from companion.demo import DEMO_TOTP_SECRET

    totp = pyotp.TOTP(secret or DEMO_TOTP_SECRET)
    while True:
        now = time.time()
        step = int(now) // 30
        # The step before only when the code cannot arrive two steps later.
        first = step - 1 if now % 30 < 22 else step
        for candidate in range(first, step + 2):
            if candidate > _last_step.get(email, -1):
                _last_step[email] = candidate
                return totp.generate_otp(candidate)
        time.sleep(30 - now % 30 + 0.05)


def login_body(email: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
    """The JSON of POST /api/v1/auth/login for a demo account (with a code for staff)."""
    body = {"email": email, "password": password}
    if email in DEMO_STAFF:
        body["otp"] = demo_code(email)
    return body


def login(page: Any, base: str, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    if email in DEMO_STAFF and password == DEMO_PASSWORD:
        # The server asks staff for their second factor; then the same button again.
        code = page.get_by_label(CODE_LABEL)
        code.wait_for()
        code.fill(demo_code(email))
        page.get_by_role("button", name="Log in").click()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical accessibility violations on the page (axe-core, run in the page)."""
    page.evaluate((NODE_MODULES / "axe-core" / "axe.min.js").read_text())
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result if v["impact"] in ("serious", "critical")
    ]


def wait_for_event(events: queue.Queue[tuple[str, Any]], name: str,
                   match: Any = lambda d: True, timeout: float = 10) -> Any:
    """The first ``name`` event (an (event, data) pair a Socket.IO client queued) whose data
    ``match`` accepts; earlier events are dropped. AssertionError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            event, data = events.get(timeout=max(0.05, deadline - time.monotonic()))
        except queue.Empty:
            break
        if event == name and match(data):
            return data
    raise AssertionError(f"no {name} event within {timeout} s")
