"""Fault injection against the real server (docs/security.md, "no data loss" and "survives faults"):
the process killed while clients write, and the database cut off and given back."""

from __future__ import annotations

import os
import queue
import signal
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
import socketio

from tests.browser.conftest import (
    LiveServer,
    fresh_database,
    login_body,
    start_server,
    stop_server,
    wait_for_event,
)
from tests.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DATABASE_URL = os.environ.get("DATABASE_URL", "")
# The session cookie must stay valid across a restart, as a phone's would. No media workers:
# nothing here needs audio or video, and each would be a process per core to start again.
SERVER_ENV = {"SECRET_KEY": "fault-injection-tests", "COMPANION_MEDIA_WORKER_COUNT": "0"}
PATHS = {"checkin": "/api/v1/checkins", "craving": "/api/v1/cravings"}
WRITERS = ["client2@demo.test", "client3@demo.test", "client4@demo.test", "client6@demo.test"]
CHAT_BURST = 4  # chats sent before waiting for their acks; a socket may send 5 a second


class Account:
    """A demo login: the API as the web client calls it (cookie and CSRF token), and a
    Socket.IO client on the same login."""

    def __init__(self, base: str, email: str) -> None:
        self.email = email
        self.http = requests.Session()
        self.http.trust_env = False
        response = self.http.post(f"{base}/api/v1/auth/login", json=login_body(email),
                                  timeout=10)
        assert response.status_code == 200, response.text
        self.cookie = f"companion_session={response.cookies['companion_session']}"
        self.http.headers.update({"Cookie": self.cookie,
                                  "X-CSRF-Token": response.json()["csrf_token"]})
        self.user_id: int = response.json()["user"]["id"]
        self.sio: socketio.Client | None = None
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()

    def connect(self, base: str) -> socketio.Client:
        self.close_socket()
        self.events = queue.Queue()
        sio = socketio.Client(reconnection=False)
        sio.on("*", lambda event, *args: self.events.put((event, args[0] if args else None)))
        sio.connect(base, headers={"Cookie": self.cookie}, transports=["websocket"],
                    wait_timeout=10)
        self.sio = sio
        return sio

    def call(self, event: str, timeout: float = 10, **payload: Any) -> Any:
        assert self.sio is not None
        return self.sio.call(event, payload, timeout=timeout)

    def wait_for(self, name: str, match: Any = lambda d: True, timeout: float = 10) -> Any:
        return wait_for_event(self.events, name, match, timeout)

    def close_socket(self) -> None:
        if self.sio is not None:
            self.sio.disconnect()
            # When the server vanished, python-engineio's client leaves its WebSocket open.
            ws = getattr(self.sio.eio, "ws", None)
            if ws is not None:
                ws.shutdown()
            self.sio = None

    def close(self) -> None:
        self.close_socket()
        self.http.close()


def entry_body(kind: str, n: int) -> dict[str, Any]:
    """A check-in or craving log as the offline queue posts it: the device makes the id and
    the moment. Low scores: no alerts to publish."""
    body: dict[str, Any] = {"id": str(uuid.uuid4()),
                            "occurred_at": datetime.now(UTC).isoformat(timespec="milliseconds")}
    if kind == "checkin":
        return body | {"mood": n % 11, "craving": n % 3, "used": "no", "note": f"fault {n}"}
    return body | {"intensity": n % 3, "used": False, "notes": f"fault {n}"}


def join_group_session(base: str, counselor: Account, clients: list[Account]) -> tuple[int, int]:
    """The counselor in the demo group session in progress, each client admitted from the
    waiting room; returns (session id, the room's last seq once everyone is in)."""
    sessions = counselor.http.get(f"{base}/api/v1/sessions", timeout=10).json()["items"]
    session_id = next(s["id"] for s in sessions
                      if s["kind"] == "group" and s["state"] == "in_progress")
    counselor.connect(base)
    assert counselor.call("join_session", session_id=session_id)["state"] == "joined"
    seq = 0
    for client in clients:
        client.connect(base)
        assert client.call("join_session", session_id=session_id)["state"] == "waiting"
        counselor.wait_for("knock", lambda d, c=client: d["user_id"] == c.user_id)
        admitted = counselor.call("admit", session_id=session_id, user_id=client.user_id)
        assert admitted["ok"], admitted
        seq = admitted["seq"]
        client.wait_for("admitted", lambda d: d["session_id"] == session_id)
    return session_id, seq


def list_ids(base: str, account: Account, kind: str, since: datetime) -> list[str]:
    """Every id of the account's own entries of a kind since a moment, through the API."""
    ids: list[str] = []
    url: str | None = f"{base}{PATHS[kind]}"
    params: dict[str, str] | None = {"from": since.isoformat(), "limit": "200"}
    while url:
        response = account.http.get(url, params=params, timeout=10)
        assert response.status_code == 200, response.text
        ids += [item["id"] for item in response.json()["items"]]
        following = response.json()["next"]
        url, params = (f"{base}{following}" if following else None), None
    return ids


# --- 1. kill the server while clients write -------------------------------------------------


@dataclass
class Write:
    kind: str  # checkin, craving or chat
    who: str
    body: dict[str, Any]
    state: str = "sending"  # then "acked" or "unacked"
    answer: Any = None  # the HTTP status, or the chat ack
    retry_answer: Any = None


@dataclass
class Ledger:
    """Every write the clients started, and what became of it."""

    writes: list[Write] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, kind: str, who: str, body: dict[str, Any]) -> Write:
        write = Write(kind, who, body)
        with self.lock:
            self.writes.append(write)
        return write

    def finish(self, write: Write, answer: Any, acked: bool) -> None:
        with self.lock:
            if write.state == "sending":
                write.answer = answer
                write.state = "acked" if acked else "unacked"

    def count(self, state: str, chat: bool) -> int:
        with self.lock:
            return sum(w.state == state and (w.kind == "chat") == chat for w in self.writes)

    def give_up(self, writes: list[Write]) -> None:
        for write in writes:
            self.finish(write, None, acked=False)


def http_writer(base: str, account: Account, ledger: Ledger, stop: threading.Event,
                deadline: float) -> None:
    """Check-ins and craving logs back to back until the server goes away."""
    n = 0
    while not stop.is_set() and time.monotonic() < deadline:
        kind = ("checkin", "craving")[n % 2]
        write = ledger.start(kind, account.email, entry_body(kind, n))
        n += 1
        try:
            response = account.http.post(f"{base}{PATHS[kind]}", json=write.body, timeout=10)
        except requests.RequestException as error:
            ledger.finish(write, type(error).__name__, acked=False)
            return  # the offline queue keeps it for later
        ledger.finish(write, response.status_code, acked=response.status_code in (200, 201))
        if response.status_code not in (200, 201):
            return


def chat_writer(account: Account, session_id: int, ledger: Ledger, stop: threading.Event,
                deadline: float) -> None:
    """Bursts of chats, each burst acknowledged before the next, under the socket's rate."""
    sio = account.sio
    assert sio is not None
    n = 0
    while not stop.is_set() and time.monotonic() < deadline:
        burst: list[Write] = []
        done = threading.Semaphore(0)
        for _ in range(CHAT_BURST):
            body = {"session_id": session_id, "id": f"{account.user_id}-{uuid.uuid4().hex[:12]}",
                    "text": f"chat {n} from {account.email}"}
            n += 1
            write = ledger.start("chat", account.email, body)
            burst.append(write)

            def acked(ack: Any = None, write: Write = write,
                      done: threading.Semaphore = done) -> None:
                ledger.finish(write, ack, acked=isinstance(ack, dict) and ack.get("ok") is True)
                done.release()

            try:
                sio.emit("chat", body, callback=acked)
            except socketio.exceptions.SocketIOError:
                break
        waited = time.monotonic() + 5
        got = sum(done.acquire(timeout=max(0.0, waited - time.monotonic())) for _ in burst)
        if got < len(burst) or not sio.connected:
            ledger.give_up(burst)  # never acknowledged: the room client sends them again
            return
        time.sleep(CHAT_BURST / 5 + 0.05)


def test_killed_server_loses_no_acknowledged_write_and_stores_retries_once(tmp_path: Path):
    database = fresh_database(tmp_path, "companion_faults_kill")
    server = start_server(tmp_path, database, SERVER_ENV)
    base = server.url
    port = urlsplit(base).port
    accounts: list[Account] = []
    ledger = Ledger()
    stop = threading.Event()
    threads: list[threading.Thread] = []
    restarted: LiveServer | None = None
    try:
        counselor = Account(base, "counselor@demo.test")
        clients = [Account(base, email) for email in WRITERS]
        accounts = [counselor, *clients]
        session_id, before_stream = join_group_session(base, counselor, clients)
        counselor.close_socket()  # it comes back later, to be replayed what it missed
        since = datetime.now(UTC) - timedelta(seconds=1)

        deadline = time.monotonic() + 60
        for client in clients:
            threads.append(threading.Thread(target=http_writer, daemon=True,
                                            args=(base, client, ledger, stop, deadline)))
            threads.append(threading.Thread(target=chat_writer, daemon=True,
                                            args=(client, session_id, ledger, stop, deadline)))
        for thread in threads:
            thread.start()

        # Kill once the stream is well under way, at a moment when both HTTP writes and chats
        # are on their way and not yet acknowledged.
        kill_by = time.monotonic() + 30
        while time.monotonic() < kill_by:
            if (ledger.count("acked", chat=False) >= 40 and ledger.count("acked", chat=True) >= 16
                    and ledger.count("sending", chat=False) and ledger.count("sending", chat=True)):
                break
            time.sleep(0.0005)
        with ledger.lock:
            in_flight = Counter(w.kind for w in ledger.writes if w.state == "sending")
            acked_at_kill = sum(w.state == "acked" for w in ledger.writes)
            os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)
        stop.set()
        for thread in threads:
            thread.join(timeout=20)
        assert not any(thread.is_alive() for thread in threads), "a writer did not stop"
        print(f"\nkill: {acked_at_kill} writes acknowledged, in flight {dict(in_flight)}")
        assert in_flight["chat"] and (in_flight["checkin"] or in_flight["craving"]), (
            f"the kill did not land mid-stream: in flight {dict(in_flight)}")
        assert ledger.count("sending", chat=False) + ledger.count("sending", chat=True) == 0
        unacked = [w for w in ledger.writes if w.state == "unacked"]
        assert unacked, "every write was acknowledged: the kill proved nothing"
        # Nothing was refused before the kill: a write failed only because the server died.
        for write in unacked:
            assert write.answer is None or isinstance(write.answer, str), write

        # The same database on the same port, as a device would find it again.
        (tmp_path / "restarted").mkdir()
        restarted = start_server(
            tmp_path / "restarted", database,
            {**SERVER_ENV, "COMPANION_INSTANCE_PATH": str(tmp_path / "instance")}, port=port,
        )
        retried = Counter[str]()  # what became of the unacknowledged writes

        # The offline queue sends what was never acknowledged again, with the same id; and a
        # device whose acknowledgement got lost on the way sends an acknowledged one again.
        for client in clients:
            mine = [w for w in ledger.writes if w.who == client.email and w.kind != "chat"]
            last_acked = [w for w in mine if w.state == "acked"][-1]
            for write in [w for w in mine if w.state == "unacked"] + [last_acked]:
                response = client.http.post(f"{base}{PATHS[write.kind]}", json=write.body,
                                            timeout=10)
                write.retry_answer = response.status_code
                assert response.status_code in (200, 201), response.text
                assert response.json()["id"] == write.body["id"]
                if write is not last_acked:
                    retried[f"{write.kind}: " + ("committed before the kill"
                            if response.status_code == 200 else "stored by the retry")] += 1
            assert last_acked.retry_answer == 200  # stored, not stored again

        # The room client reconnects, rejoins, and sends its unacknowledged chats again.
        seq_at_restart: int | None = None
        for client in clients:
            client.connect(base)
            joined = client.call("join_session", session_id=session_id, last_seq=before_stream)
            assert joined["ok"] and joined["state"] == "joined", joined  # still admitted
            seq_at_restart = joined["seq"] if seq_at_restart is None else seq_at_restart
            mine = [w for w in ledger.writes if w.who == client.email and w.kind == "chat"]
            last_acked = [w for w in mine if w.state == "acked"][-1]
            for write in [w for w in mine if w.state == "unacked"] + [last_acked]:
                ack = client.call("chat", **write.body)
                assert ack["ok"] is True, ack
                write.retry_answer = ack
                if write.state == "acked":
                    assert ack["seq"] == write.answer["seq"]  # the same message, not a new one
                else:
                    retried["chat: " + ("committed before the kill"
                            if ack["seq"] <= seq_at_restart else "stored by the retry")] += 1
            client.close_socket()
        print(f"unacknowledged writes sent again: {dict(retried)}")

        # Every acknowledged and every retried write is stored exactly once, as sent.
        for client in clients:
            for kind in PATHS:
                expected = {w.body["id"]: w for w in ledger.writes
                            if w.who == client.email and w.kind == kind}
                stored = Counter(list_ids(base, client, kind, since))
                assert stored == Counter(list(expected)), f"{client.email} {kind}"
                for entry_id, write in list(expected.items())[::7]:
                    got = client.http.get(f"{base}{PATHS[kind]}/{entry_id}", timeout=10).json()
                    field_name = "mood" if kind == "checkin" else "intensity"
                    assert got[field_name] == write.body[field_name]

        # A client back with the last number it saw is replayed the rest, in order, once.
        counselor.connect(base)
        joined = counselor.call("join_session", session_id=session_id, last_seq=before_stream)
        assert joined["state"] == "joined"
        replayed: list[tuple[str, Any]] = []
        wait_until = time.monotonic() + 15
        while len(replayed) < joined["seq"] - before_stream and time.monotonic() < wait_until:
            try:
                event, data = counselor.events.get(timeout=0.2)
            except queue.Empty:
                continue
            if isinstance(data, dict) and data.get("session_id") == session_id and "seq" in data:
                replayed.append((event, data))
        time.sleep(0.5)  # anything sent twice would arrive now
        while not counselor.events.empty():
            event, data = counselor.events.get()
            if isinstance(data, dict) and data.get("session_id") == session_id and "seq" in data:
                replayed.append((event, data))
        assert [d["seq"] for _, d in replayed] == list(range(before_stream + 1, joined["seq"] + 1))
        chats = {d["id"]: d for event, d in replayed if event == "chat"}
        assert len(chats) == sum(event == "chat" for event, _ in replayed)
        sent = {w.body["id"]: w for w in ledger.writes if w.kind == "chat"}
        assert set(chats) == set(sent)
        for chat_id, write in sent.items():
            assert chats[chat_id]["text"] == write.body["text"]
            final = write.answer if write.state == "acked" else write.retry_answer
            assert chats[chat_id]["seq"] == final["seq"]  # the number acknowledged is kept
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=20)
        for account in accounts:
            account.close()
        if restarted is not None:
            stop_server(restarted)
        if server.process.poll() is None:
            stop_server(server)


# --- 2. the database goes away and comes back -----------------------------------------------


@pytest.mark.skipif(not DATABASE_URL.startswith("postgres"),
                    reason="a database outage needs a PostgreSQL server to cut off "
                    "(DATABASE_URL=postgresql://...); SQLite is a file in the process")
def test_database_outage_answers_503_and_recovers_without_restart(tmp_path: Path):
    database = urlsplit(fresh_database(tmp_path, "companion_faults_outage"))
    proxy = TcpProxy(database.hostname or "127.0.0.1", database.port or 5432)
    user = database.netloc.rpartition("@")[0]
    via_proxy = urlunsplit(database._replace(
        netloc=f"{user}@127.0.0.1:{proxy.port}" if user else f"127.0.0.1:{proxy.port}"))
    server = start_server(tmp_path, via_proxy, SERVER_ENV)
    base = server.url
    accounts: list[Account] = []
    try:
        counselor = Account(base, "counselor@demo.test")
        client = Account(base, "client2@demo.test")
        accounts = [counselor, client]
        session_id, _ = join_group_session(base, counselor, [client])
        since = datetime.now(UTC) - timedelta(seconds=1)
        assert requests.get(f"{base}/healthz", timeout=10).status_code == 200
        first = entry_body("checkin", 1)
        response = client.http.post(f"{base}/api/v1/checkins", json=first, timeout=10)
        assert response.status_code == 201, response.text
        assert client.call("chat", session_id=session_id, id="before-outage", text="hi")["ok"]

        # A blip between two requests closes every pooled connection; the next request must
        # not be the one that finds out (the pool checks a connection before lending it).
        proxy.cut()
        time.sleep(0.2)
        proxy.restore()
        after_blip = entry_body("checkin", 3)
        response = client.http.post(f"{base}/api/v1/checkins", json=after_blip, timeout=10)
        assert response.status_code == 201, response.text

        proxy.cut()
        started = time.monotonic()
        health = requests.get(f"{base}/healthz", timeout=15)
        health_took = time.monotonic() - started
        assert health.status_code == 503
        # (with REDIS_URL the body also says how the message queue is)
        assert health.json()["status"] == health.json()["database"] == "unavailable"

        during = entry_body("checkin", 2)
        started = time.monotonic()
        refused = client.http.post(f"{base}/api/v1/checkins", json=during, timeout=15)
        write_took = time.monotonic() - started
        assert refused.status_code == 503, refused.text
        assert refused.headers["Content-Type"].startswith("application/problem+json")
        assert refused.json()["status"] == 503 and refused.json()["title"] == "Service unavailable"

        read = client.http.get(f"{base}/api/v1/checkins", timeout=15)
        assert read.status_code == 503 and read.json()["status"] == 503

        chat_during: dict[str, Any] = {"session_id": session_id, "id": "during-outage",
                                       "text": "anyone there?"}
        started = time.monotonic()
        try:
            chat_ack: Any = client.call("chat", timeout=10, **chat_during)
        except socketio.exceptions.TimeoutError:
            chat_ack = "no ack within 10 s"  # the web room client waits 8 s
        chat_took = time.monotonic() - started
        assert server.process.poll() is None, "the server died with its database"

        proxy.restore()
        restored = time.monotonic()
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() - restored < 20, "no recovery within 20 s of the database"
            time.sleep(0.2)
        recovery_took = time.monotonic() - restored
        print(f"\noutage: /healthz 503 in {health_took:.2f} s, check-in 503 in {write_took:.2f}"
              f" s, chat answered {chat_ack!r} in {chat_took:.2f} s; healthy again"
              f" {recovery_took:.2f} s after the database came back")

        # The same logged-in client, the same id: stored now, once; no restart in between.
        again = client.http.post(f"{base}/api/v1/checkins", json=during, timeout=10)
        assert again.status_code == 201, again.text
        assert Counter(list_ids(base, client, "checkin", since)) == Counter(
            [first["id"], after_blip["id"], during["id"]])
        if not client.sio or not client.sio.connected:  # the socket may have been dropped
            client.connect(base)
            assert client.call("join_session", session_id=session_id)["state"] == "joined"
        ack = client.call("chat", **chat_during)
        assert ack["ok"] is True, ack
        assert client.call("chat", **chat_during) == ack  # a retry is not stored again
        assert server.process.poll() is None

        # A chat sent during the outage is told at once (an error ack), as an HTTP write is;
        # the room client retries it with the same id (checked above: stored once).
        assert isinstance(chat_ack, dict) and chat_ack.get("ok") is False, chat_ack
        assert chat_ack["error"] == "unavailable" and chat_ack["detail"]
        assert chat_took < 10
    finally:
        for account in accounts:
            account.close()
        stop_server(server)
        proxy.close()
