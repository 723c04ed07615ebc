"""Redis going away under two web processes: a clear degradation, and no silent loss.

The processes reach Redis through a TCP proxy the test cuts and restores (the shared Redis
server keeps running for everyone else). While the message queue is cut, each process keeps
serving its own sockets: chats are stored and acked, local members get them, /healthz says
"degraded". When it is back, each process tells its rooms to catch up (a `resync` event); the
clients on the other process (a Python one doing what webui/app/views/room.js does, and the web
client itself in Chromium) ask for what they missed and get every chat of the outage once, in
order.
"""

from __future__ import annotations

import os
import queue
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import (
    fresh_database,
    login,
    login_body,
    start_server,
    stop_server,
)
from tests.browser.test_scale_out import Peer
from tests.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REDIS_URL = os.environ.get("REDIS_URL")
CATCH_UP_WITHIN = 15.0  # seconds from the proxy's restore to the other process's client


def _through(proxy: TcpProxy, url: str) -> str:
    """``url`` (same database number and credentials) pointed at the proxy."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@" if credentials else ""
    return urlunsplit(parts._replace(netloc=f"{netloc}127.0.0.1:{proxy.port}"))


class RoomMember:
    """One socket's view of a room, kept as webui/app/views/room.js keeps it: the seqs it
    holds, the seq up to which it holds every event (`held_through`), and on `resync` a new
    `join_session` from `held_through`. Every chat event is recorded as it arrives, duplicates
    included, so the test sees what went over the wire."""

    def __init__(self, peer: Peer, session_id: int) -> None:
        self.peer = peer
        self.session_id = session_id
        self.held: set[int] = set()
        self.held_through: int | None = None  # None: not in the room yet
        self.chats: list[dict[str, Any]] = []
        self.resyncs: list[dict[str, Any]] = []

    def join(self) -> dict[str, Any]:
        payload: dict[str, Any] = {"session_id": self.session_id}
        if self.held_through is not None:
            payload["last_seq"] = self.held_through
        ack = self.peer.call("join_session", **payload)
        assert ack["ok"], ack
        if ack["state"] == "joined":
            # Everything up to ack.seq is here or on its way (the replay follows the ack).
            self._advance(max(self.held_through or 0, ack["seq"]))
        return ack

    def pump(self, done: Callable[[], bool], timeout: float) -> bool:
        """Handle events until ``done()`` or ``timeout`` seconds (then False)."""
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                event, data = self.peer.events.get(timeout=min(left, 0.1))
            except queue.Empty:
                continue
            self.handle(event, data)
        return True

    def handle(self, event: str, data: Any) -> None:
        if not isinstance(data, dict) or data.get("session_id") != self.session_id:
            return
        if event == "resync":
            self.resyncs.append(data)
            if self.held_through is not None:
                self.join()
            return
        if "seq" not in data:
            return
        if event == "chat":
            self.chats.append(data)
        if event == "admitted" and self.held_through is None:
            # Its own admission (a waiting socket hears no one else's): in the room from here
            # on, no history before.
            self.held_through = data["seq"]
        self.held.add(data["seq"])
        if self.held_through is not None:
            self._advance(self.held_through)

    def _advance(self, through: int) -> None:
        while through + 1 in self.held:
            through += 1
        self.held_through = through

    def chat_ids(self) -> list[str]:
        return [c["id"] for c in self.chats]


def _health(base: str) -> tuple[int, dict[str, Any]]:
    response = requests.get(f"{base}/healthz", timeout=10)
    return response.status_code, response.json()


def _wait_health(base: str, queue_state: str, timeout: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status, body = _health(base)
        if body.get("message_queue") == queue_state:
            assert status == 200, body
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"/healthz of {base} still {body} after {timeout} s")
        time.sleep(0.2)


@pytest.mark.skipif(not REDIS_URL, reason="the message queue outage needs REDIS_URL "
                                          "(a Redis server to proxy; set by .ci/run)")
def test_chats_sent_while_redis_is_cut_reach_the_other_process_after(tmp_path, browser):
    proxy = TcpProxy(urlsplit(REDIS_URL).hostname or "127.0.0.1", urlsplit(REDIS_URL).port or 6379)
    database = fresh_database(tmp_path, "companion_queue_outage")
    env = {"REDIS_URL": _through(proxy, REDIS_URL or ""), "SECRET_KEY": "shared-between-processes",
           "COMPANION_INSTANCE_PATH": str(tmp_path / "instance")}
    first = start_server(tmp_path, database, env)  # migrates and seeds
    second = start_server(tmp_path, database, env)
    peers: list[Peer] = []
    context = browser.new_context(viewport={"width": 360, "height": 740})
    try:
        counselor_peer = Peer(first.url, "counselor@demo.test")
        client_peer = Peer(second.url, "client6@demo.test")
        peers = [counselor_peer, client_peer]
        sessions = requests.get(f"{first.url}/api/v1/sessions",
                                headers={"Cookie": counselor_peer.cookie}, timeout=10).json()
        session_id = next(s["id"] for s in sessions["items"] if s["kind"] == "group")
        on_a = RoomMember(counselor_peer, session_id)  # the counselor, on the first process
        on_b = RoomMember(client_peer, session_id)  # a client, on the second

        assert on_a.join()["state"] == "joined"
        assert on_b.join()["state"] == "waiting"
        knock = counselor_peer.wait_for("knock")  # crossed from the second process
        assert counselor_peer.call("admit", session_id=session_id, user_id=knock["user_id"])["ok"]
        assert on_b.pump(lambda: on_b.held_through is not None, 10), "never admitted"
        # The web client, on the second process too.
        page = context.new_page()
        login(page, second.url, "client2@demo.test")
        page.get_by_role("link", name="Join Relapse Prevention Group").first.click()
        expect(page.get_by_text("You are in the waiting room")).to_be_visible()
        knock = counselor_peer.wait_for("knock", lambda d: d["name"] == "Sam")
        assert counselor_peer.call("admit", session_id=session_id, user_id=knock["user_id"])["ok"]
        expect(page.get_by_role("heading", name="Chat")).to_be_visible()
        web_chat = page.get_by_role("list", name="Chat messages").locator("li")
        assert _health(first.url) == (200, {"status": "ok", "database": "ok",
                                            "message_queue": "ok"})

        assert counselor_peer.call("chat", session_id=session_id, id="before", text="before")["ok"]
        assert on_b.pump(lambda: "before" in on_b.chat_ids(), 10), "no live chat across processes"
        expect(web_chat).to_have_text(["Chris Counselor before"])

        # Redis goes away for both processes.
        proxy.cut()
        for server in (first, second):
            body = _wait_health(server.url, "unavailable")
            assert body == {"status": "degraded", "database": "ok",
                            "message_queue": "unavailable"}
        outage = [f"during-{n}" for n in range(5)]
        seqs = []
        for chat_id in outage:
            ack = counselor_peer.call("chat", session_id=session_id, id=chat_id, text=chat_id)
            assert ack["ok"], ack  # stored, and acked as before
            seqs.append(ack["seq"])
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        # The member on the same process gets them live.
        assert on_a.pump(lambda: set(outage) <= set(on_a.chat_ids()), 10)
        # People can still log in (the rate limits count in memory meanwhile).
        started = time.monotonic()
        late = requests.post(f"{second.url}/api/v1/auth/login",
                             json=login_body("client3@demo.test"), timeout=15)
        assert late.status_code == 200, late.text
        print(f"login with Redis cut: {time.monotonic() - started:.1f} s")
        # The member on the other process does not, for now (nothing to carry them).
        on_b.pump(lambda: False, 1.0)
        assert not set(outage) & set(on_b.chat_ids())
        expect(web_chat).to_have_text(["Chris Counselor before"])

        # Redis is back: the second process's client catches up by itself, in order, once.
        proxy.restore()
        restored = time.monotonic()
        caught_up = on_b.pump(lambda: set(outage) <= set(on_b.chat_ids()), CATCH_UP_WITHIN)
        took = time.monotonic() - restored
        assert caught_up, (f"the client on the other process missed "
                           f"{sorted(set(outage) - set(on_b.chat_ids()))} {CATCH_UP_WITHIN} s "
                           f"after Redis came back (resyncs: {on_b.resyncs})")
        print(f"caught up {took:.1f} s after Redis came back; resyncs: {on_b.resyncs}")
        assert on_b.resyncs, "caught up without being told to"
        on_b.pump(lambda: False, 1.0)  # a late duplicate would show here
        after_before = on_b.chats[on_b.chat_ids().index("before") + 1:]
        assert [c["id"] for c in after_before] == outage  # each once, in the order sent
        assert [c["seq"] for c in after_before] == seqs
        expect(web_chat).to_have_text([f"Chris Counselor {text}" for text in ["before", *outage]],
                                      timeout=CATCH_UP_WITHIN * 1000)

        # Live again, both ways; /healthz back to ok.
        assert counselor_peer.call("chat", session_id=session_id, id="after-a", text="x")["ok"]
        assert on_b.pump(lambda: "after-a" in on_b.chat_ids(), 10)
        assert client_peer.call("chat", session_id=session_id, id="after-b", text="y")["ok"]
        assert on_a.pump(lambda: "after-b" in on_a.chat_ids(), 10)
        for server in (first, second):
            assert _wait_health(server.url, "ok") == {"status": "ok", "database": "ok",
                                                      "message_queue": "ok"}
        assert on_b.chat_ids().count("after-a") == 1 and on_a.chat_ids().count("after-b") == 1
        assert on_a.chat_ids() == ["before", *outage, "after-a", "after-b"]
        expect(web_chat).to_have_text([f"Chris Counselor {text}" for text in ["before", *outage]]
                                      + ["Chris Counselor x", "Morgan y"])

        # One warning when the queue went and one line when it came back, not one per message
        # (nor python-socketio's own error per attempt); no chat text.
        for server in (first, second):
            log = server.output()
            assert log.count("message queue unreachable") == 1, log
            assert log.count("message queue back after") == 1, log
            assert "Cannot publish to redis" not in log and "Cannot receive from redis" not in log
            assert "during-" not in log
    finally:
        context.close()
        for peer in peers:
            peer.sio.disconnect()
        stop_server(second)
        stop_server(first)
        proxy.close()
