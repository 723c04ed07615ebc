"""No PHI, passwords or tokens in application logs (docs/security.md: logs)."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

from companion.accounts.models import Role
from companion.core.extensions import socketio

SECRET_NOTE = "relapsed-after-fight-with-brother"
SECRET_CHAT = "my-real-surname-is-Kowalczyk"


def test_a_clients_day_leaves_nothing_identifying_in_the_logs(app, world, make_auth, caplog):
    counselor = world.user(Role.COUNSELOR, name="Chris")
    client = world.user(Role.CLIENT, name="Alex", email="alex.private@example.test")
    session = world.session(world.group(counselor, [client]))
    with caplog.at_level(logging.DEBUG):
        auth = make_auth(client)
        auth.client.post("/api/v1/auth/login",
                         json={"email": client.email, "password": "wrong-password-123"})
        moment = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
        auth.post("/api/v1/checkins", json={
            "id": str(uuid.uuid4()), "occurred_at": moment, "mood": 2, "craving": 9,
            "used": "yes", "note": SECRET_NOTE, "need_to_talk": True})
        auth.post("/api/v1/cravings", json={
            "id": str(uuid.uuid4()), "occurred_at": moment, "intensity": 11, "notes": SECRET_NOTE})
        auth.post("/api/v1/measures", json={
            "id": str(uuid.uuid4()), "kind": "phq9", "answers": [3] * 9,
            "completed_at": moment})
        counselor_auth = make_auth(counselor)
        staff = socketio.test_client(app, flask_test_client=counselor_auth.client)
        staff.emit("join_session", {"session_id": session.id}, callback=True)
        sock = socketio.test_client(app, flask_test_client=auth.client)
        sock.emit("join_session", {"session_id": session.id}, callback=True)
        staff.emit("admit", {"session_id": session.id, "user_id": client.id}, callback=True)
        sock.emit("chat", {"session_id": session.id, "id": "c1", "text": SECRET_CHAT},
                  callback=True)
        sock.emit("chat", {"session_id": session.id, "id": "c2", "text": "x" * 5000},
                  callback=True)
        auth.post("/api/v1/auth/logout")
    text = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (client.email, "wrong-password-123", SECRET_NOTE, SECRET_CHAT,
                   counselor.email, auth.csrf or "never-empty"):
        assert secret not in text, secret
