"""Liveness for load balancers and the clinic's IT person; crisis lines for everyone."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from companion.core.extensions import db, socketio
from companion.core.http import api, health
from companion.core.schemas import CrisisResources, Health
from companion.core.spec import registry


@registry.route(health, "/healthz", "GET", summary="Is the service and its database up?",
                tag="health", auth=False, responses={200: Health, 503: Health})
def healthz() -> tuple[dict[str, Any], int]:
    """503 only without the database (the record). Without the message queue the process still
    serves and stores everything, for its own sockets: 200, "degraded", so a load balancer keeps
    it (if Redis is down for all, taking every process out would be a full outage) and
    monitoring alerts on the body (docs/realtime.md, "Message queue outages")."""
    body: dict[str, Any] = {"status": "ok", "database": "ok"}
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except SQLAlchemyError:
        db.session.rollback()
        body = {"status": "unavailable", "database": "unavailable"}
    queue = _message_queue()
    if queue is not None:
        body["message_queue"] = "ok" if queue.reachable() else "unavailable"
        if body["message_queue"] != "ok" and body["status"] == "ok":
            body["status"] = "degraded"
    return body, 503 if body["status"] == "unavailable" else 200


def _message_queue() -> Any:
    """This process's Redis message queue (it answers ``reachable()``), or None when REDIS_URL
    is unset and sockets are managed in memory."""
    manager = socketio.server.manager if socketio.server is not None else None
    return manager if callable(getattr(manager, "reachable", None)) else None


@registry.route(api, "/crisis-resources", "GET", summary="Crisis lines (public)",
                tag="health", auth=False, responses={200: CrisisResources})
def crisis_resources() -> dict[str, Any]:
    return {"items": current_app.config["CRISIS_RESOURCES"]}
