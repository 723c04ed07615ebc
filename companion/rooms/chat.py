"""Chat in a live room: the hot path (docs/benchmarks.md, "Realtime") and its retention.

Apart from the room's other events because a busy clinic sends hundreds of chats a second: no
ORM loading on the way, one transaction for chats arriving together. Returns an Outcome for the
caller to publish, as the room services do (companion/rooms/services.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import cast

from sqlalchemy import Table, bindparam, delete, exists, false, select, update
from sqlalchemy.exc import IntegrityError

from companion.accounts.models import User
from companion.clinic import policy
from companion.clinic.models import Program, Session
from companion.core import clock
from companion.core.extensions import db
from companion.core.group_commit import GroupCommit
from companion.rooms.models import ParticipantState, RoomEvent, RoomParticipant
from companion.rooms.services import Outcome, RoomError, require_admitted, stored_by_client_id

MAX_CHAT_LENGTH = 1000


# The chat hot path (docs/benchmarks.md, "Realtime"): a busy clinic sends hundreds of chats a
# second. Chats arriving together share one transaction (group commit): a prebuilt statement
# per chat takes its room's next number, and one multi-row insert stores them all; no ORM
# loading on the way. The rules a chat must pass (the session still running, the sender's
# right to the room at this moment, their admission, no mute) are the WHERE of the statement
# that takes the number, so the database checks them in the same step that serialises the
# room's writers, whatever process the sender is on, whether or not their socket joined.
_sessions = cast(Table, Session.__table__)
_seats = cast(Table, RoomParticipant.__table__)
_events = cast(Table, RoomEvent.__table__)

_NEXT_CHAT_SEQ = (
    update(_sessions)
    .where(
        _sessions.c.id == bindparam("session_id"),
        _sessions.c.ended_at.is_(None),
        _sessions.c.ends_at > bindparam("now"),
        exists().where(
            _seats.c.session_id == bindparam("session_id"),
            _seats.c.user_id == bindparam("user_id"),
            _seats.c.state == ParticipantState.ADMITTED,
            _seats.c.chat_muted.is_(false()),
        ),
        policy.may_join_sql(bindparam("user_id"), bindparam("now")),
    )
    .values(last_seq=_sessions.c.last_seq + 1)
    .returning(_sessions.c.last_seq)
)
_INSERT_EVENT = _events.insert()


@dataclass(frozen=True)
class _Chat:
    session_id: int
    user_id: int
    client_id: str
    text: str


def post_chat(session_id: int, user_id: int, client_id: str, text: str) -> Outcome:
    """Store a chat message once: a retried ``client_id`` returns the stored one.

    Chats sent at the same moment share a transaction (group commit); each caller returns
    once its own message is committed, or raises the RoomError that refused it. The caller's
    own transaction (a login recheck's read, say) ends first: the group commit yields, and a
    transaction held across a yield would hold SQLite's write lock for everyone meanwhile.
    """
    if db.session().in_transaction():  # (a commit with none open would begin one to end it)
        db.session.commit()
    return _chat_writer.submit(_Chat(session_id, user_id, client_id, text))


def _write_chats(batch: list[_Chat]) -> list[Outcome | BaseException]:
    """One transaction for the batch; each chat's Outcome or the RoomError that refused it.

    The unique (session, sender, client id) constraint decides whether a chat is new, so a
    first send costs no lookup. If a batch holds a retry, its chats are written again one at
    a time, and the retry finds its stored twin.
    """
    now = clock.now()
    conn = db.session.connection()
    results: list[Outcome | None] = [None] * len(batch)  # None: refused, named after the commit
    rows = []
    # Rooms in id order, so that two processes' batches lock session rows in the same order
    # (no deadlock); within a room, the order the chats arrived in.
    for i in sorted(range(len(batch)), key=lambda i: batch[i].session_id):
        chat = batch[i]
        seq = conn.execute(_NEXT_CHAT_SEQ, {"session_id": chat.session_id,
                                            "user_id": chat.user_id, "now": now}).scalar()
        if seq is None:
            continue
        row = {"session_id": chat.session_id, "seq": seq, "kind": "chat",
               "actor_id": chat.user_id, "client_id": chat.client_id,
               "payload": {"text": chat.text}, "created_at": now}
        rows.append(row)
        # Not added to the ORM session: it is only rendered for publishing.
        results[i] = Outcome(RoomEvent(**row))
    try:
        if rows:
            conn.execute(_INSERT_EVENT, rows)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if len(batch) > 1:
            return [result for chat in batch for result in _write_chats([chat])]
        # A retry, or the same id arriving twice at once: answer with the stored one.
        chat = batch[0]
        existing = stored_by_client_id(chat.session_id, chat.user_id, chat.client_id)
        if existing is not None:
            db.session.expunge(existing)  # kept as read: the rollback would expire it
        db.session.rollback()  # no transaction left open
        if existing is None:
            return [RoomError("conflict", "the message could not be stored; send it again")]
        return [Outcome(existing, created=False)]
    named: list[Outcome | BaseException] = [
        result if result is not None else _why_chat_refused(chat.session_id, chat.user_id)
        for chat, result in zip(batch, results, strict=True)
    ]
    db.session.rollback()  # the diagnoses' reads: no transaction left open
    return named


_chat_writer: GroupCommit[_Chat, Outcome] = GroupCommit(_write_chats)


def _why_chat_refused(session_id: int, user_id: int) -> RoomError:
    session = db.session.get(Session, session_id)
    if session is None:
        return RoomError("not_found", "no such session")
    user = db.session.get(User, user_id)
    if user is None:
        return RoomError("forbidden", "not a member of this session")
    try:
        member = require_admitted(session, user)
    except RoomError as err:
        return err
    if member.chat_muted:
        return RoomError("muted", "a moderator has muted your chat")
    return RoomError("ended", "the session has ended")


def purge_expired_chat() -> int:
    """Erase chat text of sessions that ended longer ago than their program keeps it."""
    now = clock.now()
    erased = 0
    rows = db.session.execute(
        select(Session.id, Session.ended_at, Session.ends_at, Program.chat_retention_hours)
        .join(Program, Program.id == Session.program_id)
    ).all()
    for session_id, ended_at, ends_at, hours in rows:
        finished = min(ended_at or ends_at, ends_at)
        if now - finished < timedelta(hours=hours):
            continue
        result = db.session.execute(
            delete(RoomEvent).where(RoomEvent.session_id == session_id,
                                    RoomEvent.kind.in_(["chat", "chat_deleted"]))
        )
        erased += int(result.rowcount or 0)  # type: ignore[attr-defined]
    db.session.commit()
    return erased
