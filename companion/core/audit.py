"""Writing and verifying the audit log.

Each row carries an HMAC-SHA256 of its contents and of the row before it, under the audit key
(``COMPANION_AUDIT_KEY``, or ``audit_key`` in the instance folder), which is never in the
database: whoever edits or removes a row cannot recompute the chain after it. What a chain
alone cannot show is a cut tail (the last rows removed), so the head of the chain (row count
and last MAC) is checkpointed outside the database too: signed with the key, appended to
``audit_checkpoints`` in the instance folder by the server every 10 minutes when the log grew
and by every successful ``companion audit verify``, and printed by ``companion audit head`` for
an operator to keep elsewhere. ``verify`` checks the chain, then that it still holds every
checkpoint. The database itself refuses UPDATE and DELETE on the table (triggers in the
migrations).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from flask import current_app
from sqlalchemy import func, select, text
from sqlalchemy.orm import aliased

from companion.core import clock, origin
from companion.core.extensions import db
from companion.core.models import AuditEvent

if TYPE_CHECKING:  # the actor's type only: the core imports no domain
    from companion.accounts.models import User

GENESIS_HASH = "0" * 64
HEAD_VERSION = "audit-head/v1"
CHECKPOINT_FILE = "audit_checkpoints"
# Any constant will do: it names the lock that orders appends to the chain on PostgreSQL.
_CHAIN_LOCK_KEY = 7_340_001


def _key(purpose: bytes) -> bytes:
    """One key per use (the chain, the heads), derived from the audit key."""
    return hmac.new(str(current_app.config["AUDIT_KEY"]).encode(), purpose,
                    hashlib.sha256).digest()


def _row_mac(chain_key: bytes, prev_hash: str, event: AuditEvent) -> str:
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
    return hmac.new(chain_key, payload.encode(), hashlib.sha256).hexdigest()


def record(
    actor: User | None,
    action: str,
    record_type: str,
    record_id: object = None,
    subject_id: int | None = None,
) -> AuditEvent:
    """Append one row to the chain, inside the caller's transaction (committed with it).
    Where it came from (channel, address) is the acting origin: companion/core/origin.py."""
    came_from = origin.current()
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
        channel=came_from.channel,
        ip=came_from.ip,
        prev_hash=prev or GENESIS_HASH,
    )
    event.hash = _row_mac(_key(b"companion audit chain"), event.prev_hash, event)
    session.add(event)
    session.flush()
    return event


# --- heads and checkpoints ------------------------------------------------------------------


@dataclass(frozen=True)
class Head:
    """The chain's head at a moment: how many rows it had and the MAC of the last one, signed
    with the audit key. ``str(head)`` is the one-line form that ``parse_head`` reads back."""

    rows: int
    mac: str
    at: datetime
    sig: str

    def __str__(self) -> str:
        return (f"{HEAD_VERSION} rows={self.rows} mac={self.mac} "
                f"at={self.at:%Y-%m-%dT%H:%M:%SZ} sig={self.sig}")

    @property
    def when(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} UTC"


_HEAD = re.compile(rf"^{re.escape(HEAD_VERSION)} rows=(\d{{1,18}}) mac=([0-9a-f]{{64}}) "
                   r"at=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) sig=([0-9a-f]{64})$")


def _signature(rows: int, mac: str, at: datetime) -> str:
    message = f"{HEAD_VERSION}\n{rows}\n{mac}\n{at:%Y-%m-%dT%H:%M:%SZ}"
    return hmac.new(_key(b"companion audit head"), message.encode(), hashlib.sha256).hexdigest()


def parse_head(value: str) -> Head:
    """Read a head as ``str(Head)`` writes it; ValueError when it is not one."""
    match = _HEAD.match(value.strip())
    if match is None:
        raise ValueError("not a head")
    at = datetime.strptime(match.group(3), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return Head(int(match.group(1)), match.group(2), at, match.group(4))


def is_signed(head: Head) -> bool:
    return hmac.compare_digest(head.sig, _signature(head.rows, head.mac, head.at))


def current_head() -> Head:
    """The head now, signed. Count and last row come from one statement, so from one snapshot
    (appends are serialised, so the visible rows are always a prefix of the chain)."""
    others = aliased(AuditEvent)
    count = select(func.count()).select_from(others).scalar_subquery()
    last = db.session.execute(
        select(AuditEvent.hash, count).order_by(AuditEvent.id.desc()).limit(1)).first()
    rows, mac = (int(last[1]), str(last[0])) if last else (0, GENESIS_HASH)
    at = clock.now().astimezone(UTC).replace(microsecond=0)
    return Head(rows, mac, at, _signature(rows, mac, at))


def checkpoint_path() -> Path:
    return Path(current_app.config["INSTANCE_PATH"]) / CHECKPOINT_FILE


def checkpoint() -> Head:
    """Append the current head to the checkpoint file (created owner-only) and return it."""
    head = current_head()
    path = checkpoint_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # One write of one short line with O_APPEND: processes appending at once do not interleave.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{head}\n".encode())
    finally:
        os.close(fd)
    return head


_last_checkpointed: dict[Path, tuple[int, str]] = {}


def checkpoint_if_moved() -> Head | None:
    """The server's periodic checkpoint: only when the log grew since this process's last."""
    head = current_head()
    path = checkpoint_path()
    if _last_checkpointed.get(path) == (head.rows, head.mac):
        return None
    written = checkpoint()
    _last_checkpointed[path] = (written.rows, written.mac)
    return written


def count_of_rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


# --- verification -----------------------------------------------------------------------------


@dataclass
class Verification:
    """What ``verify`` found: ``problem`` says in a sentence what is wrong when not intact."""

    intact: bool
    rows: int
    checkpoints: int = 0
    latest: Head | None = None
    problem: str | None = None
    bad_id: int | None = None


@dataclass(frozen=True)
class _Expected:
    head: Head
    name: str  # how a sentence names it: "the checkpoint of ...", "the head you gave"


class _Refused(Exception):
    pass


def _read_checkpoints(path: Path) -> list[_Expected]:
    if not path.exists():
        return []
    expected = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            head = parse_head(line)
        except ValueError:
            head = None
        if head is None or not is_signed(head):
            raise _Refused(f"Line {number} of {path} is not a checkpoint signed with this "
                           "installation's audit key: the file was edited, or the audit key "
                           "changed.")
        expected.append(_Expected(head, f"the checkpoint of {head.when}"))
    return expected


def verify(heads: Iterable[Head] = (), use_checkpoints: bool = True) -> Verification:
    """Walk the chain under the key; then check that it holds every checkpoint in the file
    (unless ``use_checkpoints`` is false) and every head given."""
    expected: list[_Expected] = []
    try:
        if use_checkpoints:
            expected = _read_checkpoints(checkpoint_path())
    except _Refused as refused:
        return Verification(False, 0, problem=str(refused))
    recorded = len(expected)
    for head in heads:
        if not is_signed(head):
            return Verification(False, 0, recorded, problem=(
                "The head you gave is not signed with this installation's audit key: it was "
                "mistyped or changed, or it comes from another installation."))
        expected.append(_Expected(head, f"the head you gave (of {head.when})"))
    latest = max((e.head for e in expected[:recorded]), key=lambda h: h.at, default=None)
    at_position: dict[int, list[_Expected]] = {}
    for e in expected:
        at_position.setdefault(e.head.rows, []).append(e)

    rows, prev = 0, GENESIS_HASH

    def result(problem: str | None = None, bad_id: int | None = None) -> Verification:
        return Verification(problem is None, rows, recorded, latest, problem, bad_id)

    chain_key = _key(b"companion audit chain")
    for e in at_position.get(0, ()):
        if e.head.mac != GENESIS_HASH:
            return result(f"{e.name.capitalize()} is of an empty log, with a MAC: it was forged.")
    # Streamed (a server-side cursor on PostgreSQL), and closed however the walk ends.
    events = db.session.scalars(
        select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=1000))
    try:
        for event in events:
            rows += 1
            if event.prev_hash != prev:
                return result(f"Row {event.id} does not link to the row before it: a row "
                              "before it was removed or changed.", event.id)
            if not hmac.compare_digest(_row_mac(chain_key, prev, event), event.hash):
                return result(f"Row {event.id} does not carry the MAC of its contents under "
                              "the audit key: it was changed, or the chain from it on was "
                              "recomputed without the key.", event.id)
            for e in at_position.get(rows, ()):
                if not hmac.compare_digest(e.head.mac, event.hash):
                    return result(f"Row {event.id} is not the row {e.name} recorded as row "
                                  f"{rows}: the log was rewritten from there on.", event.id)
            prev = event.hash
    finally:
        events.close()
    beyond = [e for e in expected if e.head.rows > rows]
    if beyond:
        e = max(beyond, key=lambda x: x.head.rows)
        return result(f"The audit log has {count_of_rows(rows)}, but {e.name} recorded "
                      f"{e.head.rows}: rows were removed from its end.")
    return result()
