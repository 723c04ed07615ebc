"""Authorisation and auditing as views use them: one call each, errors as problems."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import current_app, request
from flask_login import current_user

from companion.accounts.models import Role, User
from companion.clinic import policy
from companion.core import audit
from companion.core.extensions import db, limiter
from companion.core.problems import ApiProblem, field_problem

Record = TypeVar("Record")
NOT_FOUND = "No such record, or not yours to see."


def me() -> User:
    return current_user


def authorize(action: policy.Action, record: object = None, *, hide: bool = False) -> None:
    """Refuse with 403, or with 404 when ``hide`` (the caller must not learn the record exists)."""
    if not policy.can(me(), action, record):
        if hide:
            raise ApiProblem(404, "Not found", NOT_FOUND)
        raise ApiProblem(403, "Not allowed", "Your role does not allow this.")


def client_record(model: type[Record], record_id: int, action: policy.Action) -> Record:
    """A record of some client's (it has ``client_id``) that the caller may ``action``; one and
    the same 404 whether it does not exist or is not theirs."""
    record: Any = db.session.get(model, record_id)
    if record is None:
        raise ApiProblem(404, "Not found", NOT_FOUND)
    authorize(action, record.client_id, hide=True)
    return record


def audit_access(
    action: str, record_type: str, record_id: object = None, subject_id: int | None = None
) -> None:
    """Audit what this request reads (or discloses, or exports), committed at once: a read is
    declared in its view, next to the route, and is on record even if the answer then fails
    on its way out. (Writes are audited by their service, in the write's transaction.)"""
    audit.record(me(), action, record_type, record_id, subject_id=subject_id)
    db.session.commit()


def subject(client_id: int | None) -> User:
    """The client whose records are read: the caller, or (staff) the client named."""
    user = me()
    if client_id is None:
        if user.role == Role.CLIENT:
            return user
        if user.role == Role.COUNSELOR:
            raise field_problem("client_id", "Name the client whose records to read.")
        raise ApiProblem(403, "Not allowed", "Your role does not allow this.")
    authorize(policy.Action.READ_CLIENT_RECORD, client_id)
    client = db.session.get(User, client_id)
    if client is None or client.role != Role.CLIENT:
        raise ApiProblem(404, "Not found", "No such client.")
    return client


def writer() -> User:
    authorize(policy.Action.WRITE_CLIENT_RECORD, me().id)
    return me()


def _inviter_key() -> str:
    return f"invite|{current_user.id}" if current_user.is_authenticated else (
        request.remote_addr or "")


# Each invitation sends a mail from the clinic's server: counted per inviter, from any address,
# and only when one was issued (a refused form costs nothing).
per_inviter_limit = limiter.limit(
    lambda: current_app.config["INVITATION_LIMITS"], key_func=_inviter_key,
    deduct_when=lambda response: response.status_code == 201,
)
