"""Authorisation and auditing as views use them: one call each, errors as problems."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from companion import policy
from companion.api.problems import ApiProblem
from companion.models import User
from companion.services import audit


def me() -> User:
    return current_user


def authorize(action: policy.Action, record: object = None, *, hide: bool = False) -> None:
    """Refuse with 403, or with 404 when ``hide`` (the caller must not learn the record exists)."""
    if not policy.can(me(), action, record):
        if hide:
            raise ApiProblem(404, "Not found", "No such record, or not yours to see.")
        raise ApiProblem(403, "Not allowed", "Your role does not allow this.")


def audit_access(
    action: str, record_type: str, record_id: object = None, subject_id: int | None = None
) -> None:
    """Add an audit row for this request to the current transaction."""
    audit.record(me(), action, record_type, record_id, subject_id=subject_id,
                 ip=request.remote_addr)
