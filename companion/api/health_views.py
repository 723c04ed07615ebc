"""Liveness for load balancers and the clinic's IT person; crisis lines for everyone."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from companion.api import api, health
from companion.api.schemas import CrisisResources, Health
from companion.api.spec import registry
from companion.extensions import db


@registry.route(health, "/healthz", "GET", summary="Is the service and its database up?",
                tag="health", auth=False, responses={200: Health, 503: Health})
def healthz() -> tuple[dict[str, Any], int]:
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except SQLAlchemyError:
        db.session.rollback()
        return {"status": "unavailable", "database": "unavailable"}, 503
    return {"status": "ok", "database": "ok"}, 200


@registry.route(api, "/crisis-resources", "GET", summary="Crisis lines (public)",
                tag="health", auth=False, responses={200: CrisisResources})
def crisis_resources() -> dict[str, Any]:
    return {"items": current_app.config["CRISIS_RESOURCES"]}
