"""The media workers' control channel: only a web process that proves it holds the channel
secret gets anything from a worker, the embedded default generates that secret and binds
loopback, and a scale-out worker never listens beyond loopback without a secret of its own."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from companion.media.client import MediaClient, MediaWorkerUnavailable
from tests.media_helpers import WorkerProcess, worker_process

SECRET = "a-channel-secret-for-tests-only-0123456789"


@pytest.fixture(scope="module")
def default_worker() -> Iterator[WorkerProcess]:
    """A worker as the embedded default starts it: nobody set COMPANION_MEDIA_SECRET."""
    saved = os.environ.pop("COMPANION_MEDIA_SECRET", None)
    try:
        with worker_process() as w:
            yield w
    finally:
        if saved is not None:
            os.environ["COMPANION_MEDIA_SECRET"] = saved


def _raw_exchange(host: str, port: int, send: bytes, wait: float = 15.0) -> bytes:
    """Connect, send ``send``, and read until the worker closes (bounded by ``wait``)."""
    received = b""
    with socket.create_connection((host, port), timeout=wait) as sock:
        if send:
            sock.sendall(send)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                pytest.fail("the worker kept an unauthenticated connection open")
            if not chunk:
                return received
            received += chunk
    pytest.fail("the worker kept an unauthenticated connection open")


@pytest.mark.parametrize("send", [
    b'{"id": 1, "op": "ping"}\n',
    b'{"id": 1, "op": "close_room", "room": "session:1"}\n',
    b'{"id": 1, "op": "hello", "secret": ""}\n',
    b"not json at all\n",
    b"",  # says nothing at all: closed after the hello timeout
])
def test_raw_connection_to_the_default_worker_gets_nothing_and_is_closed(
        default_worker: WorkerProcess, send: bytes) -> None:
    assert _raw_exchange(default_worker.host, default_worker.port, send) == b""


def test_client_with_a_wrong_secret_gets_nothing(default_worker: WorkerProcess) -> None:
    wrong = MediaClient(default_worker.host, default_worker.port, secret="x" * 40,
                        connect_timeout=5.0)
    with pytest.raises(MediaWorkerUnavailable, match="secret"):
        wrong.ping()
    wrong.close()


def test_a_client_needs_a_secret(default_worker: WorkerProcess) -> None:
    for missing in ({}, {"secret": None}, {"secret": ""}):
        with pytest.raises((TypeError, ValueError)):
            MediaClient(default_worker.host, default_worker.port, **missing)  # type: ignore[arg-type]


def test_the_right_secret_is_answered(default_worker: WorkerProcess) -> None:
    good = MediaClient(default_worker.host, default_worker.port, secret=default_worker.secret)
    assert good.ping()["pid"] == default_worker.proc.pid
    good.close()


def test_a_replayed_hello_is_refused(default_worker: WorkerProcess) -> None:
    from companion.media import handshake

    line, _ = handshake.hello(default_worker.secret)
    first = socket.create_connection(default_worker.address, timeout=10)
    try:
        first.sendall(line)
        welcome = json.loads(first.makefile("rb").readline())
        assert welcome["ok"] is True
        # Whoever overheard that line cannot open a connection of their own with it.
        assert _raw_exchange(*default_worker.address, line) == b""
    finally:
        first.close()


def test_a_stale_hello_is_refused(default_worker: WorkerProcess) -> None:
    from companion.media import handshake

    line, _ = handshake.hello(default_worker.secret, now=time.time() - 3600)
    assert _raw_exchange(*default_worker.address, line) == b""


def test_the_client_refuses_a_worker_that_does_not_know_the_secret() -> None:
    """A stand-in listening where a worker should be cannot feed the web process answers."""
    server = socket.create_server(("127.0.0.1", 0))
    asked: list[bytes] = []

    def fake_worker() -> None:
        conn, _ = server.accept()
        with conn:
            reader = conn.makefile("rb")
            asked.append(reader.readline())
            conn.sendall(b'{"ok": true, "proof": "' + b"0" * 64 + b'"}\n')
            asked.append(reader.readline())  # a request would come next: it must not

    thread = threading.Thread(target=fake_worker, daemon=True)
    thread.start()
    client = MediaClient("127.0.0.1", server.getsockname()[1], secret=SECRET,
                         connect_timeout=5.0, reconnect=False)
    try:
        with pytest.raises(MediaWorkerUnavailable, match="secret"):
            client.ping()
    finally:
        client.close()
        thread.join(10)
        server.close()
    assert SECRET.encode() not in asked[0]  # the secret itself never crosses the wire
    assert asked[1:] == [b""]


# --- the embedded default ------------------------------------------------------------------


def test_embedded_workers_generate_the_secret_and_bind_loopback(app, monkeypatch) -> None:
    """``companion serve`` with no media settings: a generated secret in the instance folder
    (owner-only), workers on 127.0.0.1 even when COMPANION_MEDIA_HOST says otherwise, and the
    pool (the web process) is answered while a stranger is not."""
    from companion.rooms import signaling as media

    monkeypatch.delenv("COMPANION_MEDIA_SECRET", raising=False)
    monkeypatch.delenv("COMPANION_MEDIA_WORKERS", raising=False)
    monkeypatch.setenv("COMPANION_MEDIA_HOST", "0.0.0.0")  # noqa: S104 - must be ignored
    pool = media.start(app, 1)
    try:
        secret_file = Path(app.config["INSTANCE_PATH"]) / "media_secret"
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
        assert len(secret_file.read_text().strip()) >= 32
        addresses = media.plane.workers.addresses
        assert [host for host, _ in addresses] == ["127.0.0.1"]
        assert pool.check() == [] and all(w.alive for w in pool.workers.values())
        assert _raw_exchange(*addresses[0], b'{"id": 1, "op": "ping"}\n') == b""
    finally:
        media.uninstall()
        pool.stop()
        media.plane.workers.stop()
        media.plane.workers = None


def test_a_web_process_with_workers_elsewhere_needs_a_configured_secret(app, monkeypatch):
    """The instance folder's secret is this machine's: a worker on another cannot hold it."""
    from companion.media.config import MediaConfigError
    from companion.rooms import signaling as media

    monkeypatch.delenv("COMPANION_MEDIA_SECRET", raising=False)
    monkeypatch.setenv("COMPANION_MEDIA_WORKERS", "10.0.0.5:7990")
    with pytest.raises(MediaConfigError, match="COMPANION_MEDIA_SECRET"):
        media.start(app, 0)
    assert media.plane.pool is None


# --- scale-out workers (`companion media`) ---------------------------------------------------


def _media_command(tmp_path: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("COMPANION_MEDIA")}
    child_env |= {"COMPANION_INSTANCE_PATH": str(tmp_path / "instance"),
                  "COMPANION_MEDIA_LOG": "WARNING", **env}
    return subprocess.Popen([sys.executable, "-m", "companion", "media", *args],
                            env=child_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _finished(proc: subprocess.Popen[str], timeout: float = 30) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("the media worker started instead of refusing")
    return proc.returncode, err


def test_scale_out_worker_refuses_a_public_address_without_a_secret(tmp_path: Path) -> None:
    code, err = _finished(_media_command(tmp_path, "--host", "0.0.0.0", "--port", "0"))  # noqa: S104
    assert code != 0
    assert "COMPANION_MEDIA_SECRET" in err and "Traceback" not in err
    assert not (tmp_path / "instance" / "media_secret").exists()


def test_scale_out_worker_refuses_a_short_secret(tmp_path: Path) -> None:
    code, err = _finished(_media_command(tmp_path, "--port", "0",
                                         COMPANION_MEDIA_SECRET="short"))
    assert code != 0 and "at least 32 characters" in err


def test_scale_out_worker_on_loopback_uses_the_instance_secret(tmp_path: Path) -> None:
    from tests.browser.conftest import free_port

    port = free_port()
    proc = _media_command(tmp_path, "--port", str(port))
    try:
        secret_file = tmp_path / "instance" / "media_secret"
        deadline = time.monotonic() + 30
        client = None
        while time.monotonic() < deadline and proc.poll() is None:
            if secret_file.exists():
                client = MediaClient("127.0.0.1", port, secret=secret_file.read_text().strip(),
                                     connect_timeout=2.0)
                try:
                    assert client.ping()["pid"] == proc.pid
                    break
                except MediaWorkerUnavailable:
                    client.close()
                    client = None
            time.sleep(0.2)
        assert client is not None, "the worker did not answer with the instance folder's secret"
        client.close()
        assert _raw_exchange("127.0.0.1", port, b'{"id": 1, "op": "ping"}\n') == b""
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
