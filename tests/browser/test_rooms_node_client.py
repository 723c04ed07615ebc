"""The official Node socket.io-client against a running server: join, chat, reconnect and
replay, refusal of outsiders, anonymous sockets and foreign origins."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from tests.browser.conftest import login_body

pytestmark = pytest.mark.browser

HERE = Path(__file__).resolve().parent


def cookie_for(base: str, email: str) -> str:
    response = requests.post(f"{base}/api/v1/auth/login", json=login_body(email), timeout=10)
    assert response.status_code == 200
    return f"companion_session={response.cookies['companion_session']}"


def test_node_client_joins_chats_reconnects_and_outsiders_are_refused(live_server):
    base = live_server.url
    counselor = cookie_for(base, "counselor@demo.test")
    sessions = requests.get(f"{base}/api/v1/sessions", headers={"Cookie": counselor},
                            timeout=10).json()["items"]
    group = next(s for s in sessions if s["kind"] == "group" and s["state"] == "in_progress")
    out = subprocess.run(
        [shutil.which("node") or "node", str(HERE / "rooms_client.mjs"), base, str(group["id"]),
         counselor, cookie_for(base, "client4@demo.test"), cookie_for(base, "admin@demo.test")],
        capture_output=True, text=True, timeout=90, cwd=HERE,
    )
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert "error" not in r, r
    assert r["counselor_connect"] == "connected"
    assert r["counselor_join"]["ok"] and r["counselor_join"]["state"] == "joined"
    assert r["client_join"] == {"ok": True, "state": "waiting", "seq": r["client_join"]["seq"]}
    assert r["knock"]["name"] == "Riley"
    assert r["admit"]["ok"] and r["admitted"]["session_id"] == group["id"]
    assert r["chat_first"]["ok"] and r["chat_retry"] == r["chat_first"]
    assert r["counselor_saw"] == 1  # delivered once, the retry was not stored again
    assert r["back_join"]["state"] == "joined"  # not sent back to the waiting room
    assert [m["text"] for m in r["replayed"]] == [f"while you were away {i}" for i in range(3)]
    seqs = [m["seq"] for m in r["replayed"]]
    assert seqs == sorted(seqs) and seqs[0] > r["chat_first"]["seq"]
    assert r["outsider_join"] == {"ok": False, "error": "forbidden",
                                  "detail": "not a member of this session"}
    assert r["outsider_chat"]["ok"] is False
    assert r["anonymous_connect"].startswith("refused")
    assert r["foreign_origin_connect"].startswith("refused")


def test_websocket_declines_per_message_compression(live_server):
    """Chat frames go uncompressed (companion/core/transport.py): the server answers a
    browser's handshake, which offers permessage-deflate, without accepting it."""
    import base64
    import os
    import socket
    from urllib.parse import urlsplit

    url = urlsplit(live_server.url)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {url.netloc}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Key: {key}\r\nOrigin: {live_server.url}\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
    )
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(request.encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = sock.recv(4096)
            assert chunk, "connection closed during the handshake"
            response += chunk
    head = response.split(b"\r\n\r\n")[0].decode().lower()
    assert head.startswith("http/1.1 101")
    assert "sec-websocket-accept" in head
    assert "permessage-deflate" not in head
