"""Writing and verifying the hash-chained audit log."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select, text

from companion import clock
from companion.extensions import db
from companion.models import AuditEvent, User

GENESIS_HASH = "0" * 64
# Any constant will do: it names the lock that orders appends to the chain on PostgreSQL.
_CHAIN_LOCK_KEY = 7_340_001


def _row_hash(prev_hash: str, event: AuditEvent) -> str:
    fields = {
        "at": event.at.isoformat(),
        "actor_id": event.actor_id,
        "action": event.action,
        "record_type": event.record_type,
        "record_id": event.record_id,
        "subject_id": event.subject_id,
        "channel": event.channel,
        "ip": event.ip,
    }
    payload = prev_hash + json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def record(
    actor: User | None,
    action: str,
    record_type: str,
    record_id: object = None,
    subject_id: int | None = None,
    channel: str = "http",
    ip: str | None = None,
) -> AuditEvent:
    """Append one row to the chain, inside the caller's transaction (committed with it)."""
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        # Appends are serialised so each row links to the one before it.
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK_KEY})
    session.flush()
    prev = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    event = AuditEvent(
        at=clock.now().replace(microsecond=0),
        actor_id=actor.id if actor else None,
        action=action,
        record_type=record_type,
        record_id=None if record_id is None else str(record_id),
        subject_id=subject_id,
        channel=channel,
        ip=ip,
        prev_hash=prev or GENESIS_HASH,
    )
    event.hash = _row_hash(event.prev_hash, event)
    session.add(event)
    session.flush()
    return event


def verify() -> tuple[bool, int | None]:
    """Walk the chain; return (intact, id of the first bad row or None)."""
    prev = GENESIS_HASH
    for event in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        if event.prev_hash != prev or _row_hash(prev, event) != event.hash:
            return False, event.id
        prev = event.hash
    return True, None
