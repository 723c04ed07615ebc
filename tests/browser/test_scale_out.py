"""Two web processes sharing rooms through Redis (Flask-SocketIO's message queue)."""

from __future__ import annotations

import os
import queue
from typing import Any

import pytest
import requests
import socketio

from tests.browser.conftest import (
    fresh_database,
    login_body,
    start_server,
    stop_server,
    wait_for_event,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REDIS_URL = os.environ.get("REDIS_URL")


def _login(base: str, email: str) -> str:
    response = requests.post(f"{base}/api/v1/auth/login", json=login_body(email), timeout=10)
    assert response.status_code == 200
    return f"companion_session={response.cookies['companion_session']}"


class Peer:
    """The official Python Socket.IO client, logged in through one server's HTTP API."""

    def __init__(self, base: str, email: str) -> None:
        self.cookie = _login(base, email)
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("*", lambda event, data: self.events.put((event, data)))
        self.sio.connect(base, headers={"Cookie": self.cookie}, transports=["websocket"],
                         wait_timeout=10)

    def call(self, event: str, **payload: Any) -> Any:
        return self.sio.call(event, payload, timeout=10)

    def wait_for(self, name: str, match: Any = lambda d: True, timeout: float = 10) -> Any:
        return wait_for_event(self.events, name, match, timeout)


@pytest.mark.skipif(not REDIS_URL, reason="scale-out needs REDIS_URL (set by .ci/run)")
def test_clients_on_two_processes_share_a_room(tmp_path):
    database = fresh_database(tmp_path, "companion_scale_out")
    env = {"REDIS_URL": REDIS_URL or "", "SECRET_KEY": "shared-between-processes",
           "COMPANION_INSTANCE_PATH": str(tmp_path / "instance")}
    first = start_server(tmp_path, database, env)  # migrates and seeds
    second = start_server(tmp_path, database, env)
    peers: list[Peer] = []
    try:
        counselor = Peer(first.url, "counselor@demo.test")
        client = Peer(second.url, "client6@demo.test")
        peers = [counselor, client]
        sessions = requests.get(f"{first.url}/api/v1/sessions",
                                headers={"Cookie": counselor.cookie}, timeout=10).json()
        session_id = next(s["id"] for s in sessions["items"] if s["kind"] == "group")

        assert counselor.call("join_session", session_id=session_id)["state"] == "joined"
        assert client.call("join_session", session_id=session_id)["state"] == "waiting"
        knock = counselor.wait_for("knock")  # crossed from the second process to the first
        assert knock["name"] == "Morgan"
        assert counselor.call("admit", session_id=session_id, user_id=knock["user_id"])["ok"]
        client.wait_for("admitted", lambda d: d["session_id"] == session_id)

        assert client.call("chat", session_id=session_id, id="from-b", text="hello from B")["ok"]
        got = counselor.wait_for("chat", lambda d: d["id"] == "from-b")
        assert got["text"] == "hello from B" and got["from"]["display_name"] == "Morgan"
        assert counselor.call("chat", session_id=session_id, id="from-a", text="hi from A")["ok"]
        assert client.wait_for("chat", lambda d: d["id"] == "from-a")["text"] == "hi from A"
    finally:
        for peer in peers:
            peer.sio.disconnect()
        stop_server(second)
        stop_server(first)
