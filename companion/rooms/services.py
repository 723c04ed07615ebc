"""What happens in a live room: knocking, admission, hands, the check-in round, moderation.
(Chat, the hot path, is companion/rooms/chat.py; attendance intervals, presence.py.)

Every event that matters is stored with the room's next sequence number before anyone is told,
so a client that reconnects asks for what came after the last number it saw. Functions here
own their transaction and return what the caller should publish; they never talk to sockets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from companion.accounts.models import Role, User
from companion.clinic import policy
from companion.clinic.models import GroupMember, GroupRole, Session
from companion.core import audit, clock
from companion.core.extensions import db
from companion.rooms.models import (
    AttendanceInterval,
    Modality,
    ParticipantState,
    RoomEvent,
    RoomParticipant,
)
from companion.rooms.presence import close_intervals


class RoomError(Exception):
    """A room action that is refused; ``code`` is what the client gets in its ack."""

    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(message or code)
        self.code = code


@dataclass
class Outcome:
    """The stored event (if any) and whether this call created it (False for a retry)."""

    event: RoomEvent | None
    created: bool = True


# --- reading --------------------------------------------------------------------------------


def get_session(session_id: int) -> Session:
    session = db.session.get(Session, session_id)
    if session is None:
        raise RoomError("not_found", "no such session")
    return session


def participant(session: Session, user: User) -> RoomParticipant | None:
    return db.session.scalar(
        select(RoomParticipant).where(
            RoomParticipant.session_id == session.id, RoomParticipant.user_id == user.id
        )
    )


def is_counselor(session: Session, user: User) -> bool:
    """The session's counselor or a co-leading counselor: who sees clinical details."""
    if session.counselor_id == user.id:
        return True
    if session.group_id is None:
        return False
    role = db.session.scalar(
        select(GroupMember.role).where(
            GroupMember.group_id == session.group_id, GroupMember.user_id == user.id
        )
    )
    return role == GroupRole.COUNSELOR


def require_admitted(session: Session, user: User) -> RoomParticipant:
    """The caller's right to the room now (policy) and their admission to it, or RoomError."""
    if not policy.can(user, policy.Action.JOIN_SESSION, session):
        raise RoomError("forbidden", "not a member of this session")
    member = participant(session, user)
    if member is not None and member.state == ParticipantState.REMOVED:
        raise RoomError("removed", "you were removed from this session")
    if member is None or member.state != ParticipantState.ADMITTED:
        raise RoomError("not_admitted", "join the room first")
    if session.state(clock.now()) == "ended":
        raise RoomError("ended", "the session has ended")
    return member


def require_moderator(session: Session, user: User) -> None:
    """The caller's standing as a moderator of this room, read now: staff of the session
    (policy) and in the room, not removed from it. Never a flag kept on the socket: a peer
    supporter removed on another process, or on another of their sockets, is refused too."""
    if not policy.can(user, policy.Action.MODERATE_SESSION, session):
        raise RoomError("forbidden", "only the counselor and peer supporters may do this")
    require_admitted(session, user)


def require_unlocked(session: Session) -> None:
    """A locked room lets nobody new in: knocking is refused and staff admit nobody."""
    if session.locked:
        raise RoomError("locked", "the room is locked: unlock it to let anyone in")


# The check-in round's events: clients' and staff's only; a family guest never gets them.
ROUND_KINDS = frozenset({"round_started", "round_ended", "checkin"})


def events_after(session: Session, last_seq: int, viewer: User | None = None,
                 through: int | None = None) -> list[RoomEvent]:
    """The stored events after ``last_seq`` (up to ``through``) that ``viewer`` may see."""
    stmt = (select(RoomEvent)
            .where(RoomEvent.session_id == session.id, RoomEvent.seq > last_seq)
            .order_by(RoomEvent.seq))
    if through is not None:
        stmt = stmt.where(RoomEvent.seq <= through)
    if viewer is not None and viewer.role == Role.FAMILY:
        stmt = stmt.where(RoomEvent.kind.not_in(ROUND_KINDS))
    return list(db.session.scalars(stmt))


def stored_through(session_id: int) -> int:
    """The room's last stored seq as of now. Its own transaction: SQLite reads within one
    snapshot per transaction, and an event committed since would be missed."""
    if db.session().in_transaction():
        db.session.commit()
    return db.session.scalar(select(Session.last_seq).where(Session.id == session_id)) or 0


class Person(NamedTuple):
    """Who someone in or at the room is, as the room shows them."""

    id: int
    display_name: str


class PresentPerson(NamedTuple):
    id: int
    display_name: str
    link: Modality
    role: Role  # the account's: the room shows staff's badge from it, never from the name


# Columns, not User rows: these run at every arrival and departure, and a whole user (its
# hashes and settings) cost more to load than the rest of the join.


def present_users(session: Session) -> list[PresentPerson]:
    """Who is in the room now (an open attendance interval), with how they are connected."""
    rows = db.session.execute(
        select(User.id, User.display_name, AttendanceInterval.modality, User.role)
        .join(AttendanceInterval, AttendanceInterval.user_id == User.id)
        .where(AttendanceInterval.session_id == session.id, AttendanceInterval.ended_at.is_(None))
        .order_by(User.display_name)
    )
    # One entry per person, however many sockets they have open.
    return list({row.id: PresentPerson(*row) for row in rows}.values())


def waiting_users(session: Session) -> list[Person]:
    """Who knocks, first come first."""
    rows = db.session.execute(
        select(User.id, User.display_name)
        .join(RoomParticipant, RoomParticipant.user_id == User.id)
        .where(
            RoomParticipant.session_id == session.id,
            RoomParticipant.state == ParticipantState.WAITING,
        )
        .order_by(RoomParticipant.knocked_at)
    )
    return [Person(*row) for row in rows]


class AtTheDoor(NamedTuple):
    """Someone at the room's door, as staff see them."""

    id: int
    display_name: str
    state: ParticipantState  # WAITING to be admitted, or KEPT_OUT by the lock
    family_of: str | None  # a family guest: the display name of the client who invited them
    by_phone: bool  # a caller (companion/rooms/phone.py)


def at_the_door(session: Session) -> list[AtTheDoor]:
    """Who waits to be admitted and who the lock keeps out, first come first."""
    rows = db.session.execute(
        select(User.id, User.display_name, User.role, RoomParticipant.state,
               RoomParticipant.by_phone)
        .join(RoomParticipant, RoomParticipant.user_id == User.id)
        .where(
            RoomParticipant.session_id == session.id,
            RoomParticipant.state.in_([ParticipantState.WAITING, ParticipantState.KEPT_OUT]),
        )
        .order_by(RoomParticipant.knocked_at)
    ).all()
    return [AtTheDoor(row.id, row.display_name, row.state,
                      family_of(session, row.id) if row.role == Role.FAMILY else None,
                      row.by_phone)
            for row in rows]


def family_of(session: Session, user_id: int) -> str | None:
    """Whose family a guest of this session is (the inviting client's name), for staff."""
    guest = db.session.get(User, user_id)
    client_id = policy.family_guest_of(guest, session) if guest is not None else None
    client = db.session.get(User, client_id) if client_id is not None else None
    return client.display_name if client is not None else None


def hand_queue(session: Session) -> list[int]:
    """User ids with a raised hand, in the order they raised it."""
    queue: list[int] = []
    for event in db.session.scalars(
        select(RoomEvent)
        .where(RoomEvent.session_id == session.id,
               RoomEvent.kind.in_(["hand_raised", "hand_lowered"]))
        .order_by(RoomEvent.seq)
    ):
        user_id = event.payload["user_id"]
        if user_id in queue:
            queue.remove(user_id)
        if event.kind == "hand_raised":
            queue.append(user_id)
    return queue


# --- writing --------------------------------------------------------------------------------


def _append(session: Session, kind: str, actor: User | None, payload: dict[str, Any],
            client_id: str | None = None) -> RoomEvent:
    """Store one event with the room's next number (the row update serialises writers)."""
    seq = db.session.execute(
        update(Session)
        .where(Session.id == session.id)
        .values(last_seq=Session.last_seq + 1)
        .returning(Session.last_seq)
    ).scalar_one()
    event = RoomEvent(
        session_id=session.id, seq=seq, kind=kind, actor_id=actor.id if actor else None,
        client_id=client_id, payload=payload, created_at=clock.now(),
    )
    db.session.add(event)
    db.session.flush()
    return event


class Knock(NamedTuple):
    state: str  # "joined" or "waiting"
    event: RoomEvent | None  # stored, to publish
    staff: bool  # moderates this session


def knock(session: Session, user: User, by_phone: bool = False) -> Knock:
    """Enter the room (staff, or a client admitted earlier) or its waiting room; ``by_phone``:
    a caller (staff see their knock marked so)."""
    if not policy.can(user, policy.Action.JOIN_SESSION, session):
        raise RoomError("forbidden", "not a member of this session")
    now = clock.now()
    state = session.state(now)
    if state == "ended":
        raise RoomError("ended", "the session has ended")
    if state == "scheduled":
        raise RoomError("not_open", "the room opens 15 minutes before the start")
    member = participant(session, user)
    staff = policy.can(user, policy.Action.MODERATE_SESSION, session)
    if member is not None and member.state == ParticipantState.REMOVED:
        raise RoomError("removed", "you were removed from this session")
    if member is not None and member.state == ParticipantState.ADMITTED:
        return Knock("joined", None, staff)  # a reconnect: never back to the waiting room
    if staff:
        member = member or RoomParticipant(session_id=session.id, user_id=user.id,
                                           state=ParticipantState.WAITING, knocked_at=now)
        member.state = ParticipantState.ADMITTED
        member.admitted_at = now
        db.session.add(member)
        event = _append(session, "admitted", user, {"user_id": user.id, "by": user.id})
        db.session.commit()
        return Knock("joined", event, staff)
    if session.locked and (member is None or member.state == ParticipantState.KEPT_OUT):
        # Not let in, but not turned away unseen: staff see them, unlocking lets them knock.
        _come_to_the_door(session, user, member, ParticipantState.KEPT_OUT, now, by_phone)
        return Knock("kept_out", None, staff)
    # (Someone already waiting when the room was locked still waits.)
    _come_to_the_door(session, user, member, ParticipantState.WAITING, now, by_phone)
    return Knock("waiting", None, staff)


def _come_to_the_door(session: Session, user: User, member: RoomParticipant | None,
                      state: ParticipantState, now: datetime, by_phone: bool) -> None:
    if member is None:
        db.session.add(RoomParticipant(session_id=session.id, user_id=user.id, state=state,
                                       knocked_at=now, by_phone=by_phone))
        _audit(user, "join", session, user.id)
    elif member.state == ParticipantState.KEPT_OUT and state == ParticipantState.WAITING:
        member.state = state
        member.by_phone = by_phone
    elif member.by_phone != by_phone:  # the same person now at the door the other way
        member.by_phone = by_phone
    else:
        return
    db.session.commit()


def _let_the_kept_out_knock(session: Session) -> None:
    """The room is unlocked: everyone the lock kept out is now waiting, in arrival order."""
    db.session.execute(
        update(RoomParticipant)
        .where(RoomParticipant.session_id == session.id,
               RoomParticipant.state == ParticipantState.KEPT_OUT)
        .values(state=ParticipantState.WAITING)
    )


def admit(session: Session, staff: User, user_id: int) -> RoomEvent:
    require_moderator(session, staff)
    require_unlocked(session)
    member = db.session.scalar(
        select(RoomParticipant).where(RoomParticipant.session_id == session.id,
                                      RoomParticipant.user_id == user_id)
    )
    if member is None or member.state != ParticipantState.WAITING:
        raise RoomError("not_waiting", "that person is not in the waiting room")
    member.state = ParticipantState.ADMITTED
    member.admitted_at = clock.now()
    event = _append(session, "admitted", staff, {"user_id": user_id, "by": staff.id})
    _audit(staff, "admit", session, user_id)
    db.session.commit()
    return event


def stored_by_client_id(session_id: int, user_id: int, client_id: str) -> RoomEvent | None:
    return db.session.scalar(
        select(RoomEvent).where(RoomEvent.session_id == session_id,
                                RoomEvent.actor_id == user_id, RoomEvent.client_id == client_id)
    )


def set_hand(session: Session, actor: User, raised: bool, user_id: int | None = None) -> Outcome:
    """Raise or lower one's own hand; a moderator may lower anyone's (clearing the queue)."""
    require_admitted(session, actor)
    target = user_id if user_id is not None else actor.id
    if target != actor.id:
        if raised:
            raise RoomError("forbidden", "only you can raise your hand")
        require_moderator(session, actor)
    queue = hand_queue(session)
    if (target in queue) == raised:
        return Outcome(None, created=False)  # already so: nothing to store
    kind = "hand_raised" if raised else "hand_lowered"
    event = _append(session, kind, actor, {"user_id": target})
    db.session.commit()
    return Outcome(event)


def set_mute(session: Session, staff: User, user_id: int, what: str, muted: bool) -> RoomEvent:
    require_moderator(session, staff)
    if user_id == session.counselor_id and staff.id != user_id:
        raise RoomError("forbidden", "only the session's counselor mutes or unmutes themselves")
    member = _member(session, user_id)
    setattr(member, f"{what}_muted", muted)
    event = _append(session, "muted" if muted else "unmuted", staff,
                    {"user_id": user_id, "what": what})
    _audit(staff, "mute" if muted else "unmute", session, user_id)
    db.session.commit()
    return event


def remove(session: Session, staff: User, user_id: int) -> RoomEvent:
    require_moderator(session, staff)
    if user_id == session.counselor_id:
        raise RoomError("forbidden", "the session's counselor cannot be removed")
    if user_id == staff.id:
        raise RoomError("forbidden", "you cannot remove yourself; leave the room instead")
    member = _member(session, user_id, allow_waiting=True)
    member.state = ParticipantState.REMOVED
    close_intervals(session.id, user_id=user_id)
    event = _append(session, "removed", staff, {"user_id": user_id})
    _audit(staff, "remove", session, user_id)
    db.session.commit()
    return event


def set_locked(session: Session, staff: User, locked: bool) -> RoomEvent:
    require_moderator(session, staff)
    session.locked = locked
    if not locked:
        _let_the_kept_out_knock(session)
    event = _append(session, "room_locked", staff, {"locked": locked})
    db.session.commit()
    return event


def end_session(session: Session, staff: User) -> RoomEvent:
    require_moderator(session, staff)
    if session.ended_at is not None:
        raise RoomError("ended", "the session has already ended")
    session.ended_at = clock.now()
    close_intervals(session.id)
    event = _append(session, "session_ended", staff, {})
    _audit(staff, "end", session, None)
    db.session.commit()
    return event


def delete_chat(session: Session, staff: User, seq: int) -> RoomEvent:
    """Take a message out of the room: its text is erased from storage, not only hidden."""
    require_moderator(session, staff)
    target = db.session.scalar(
        select(RoomEvent).where(RoomEvent.session_id == session.id, RoomEvent.seq == seq,
                                RoomEvent.kind == "chat")
    )
    if target is None:
        raise RoomError("not_found", "no such message")
    target.payload = {"text": "", "deleted": True}
    event = _append(session, "chat_deleted", staff, {"seq": seq})
    db.session.commit()
    return event


def set_round(session: Session, staff: User, open_: bool) -> RoomEvent:
    require_moderator(session, staff)
    event = _append(session, "round_started" if open_ else "round_ended", staff, {})
    db.session.commit()
    return event


def round_is_open(session: Session) -> bool:
    last = db.session.scalar(
        select(RoomEvent.kind)
        .where(RoomEvent.session_id == session.id,
               RoomEvent.kind.in_(["round_started", "round_ended"]))
        .order_by(RoomEvent.seq.desc()).limit(1)
    )
    return last == "round_started"


def post_checkin(session: Session, user: User, client_id: str, mood: int | None,
                 craving: int | None, word: str, passed: bool) -> Outcome:
    """A client's turn in the check-in round: mood and craving 0-10 and a word, or a pass."""
    require_admitted(session, user)
    if user.role == Role.FAMILY:
        raise RoomError("forbidden", "the check-in round is for the group's clients")
    if not round_is_open(session):
        raise RoomError("no_round", "the counselor has not started a check-in round")
    existing = stored_by_client_id(session.id, user.id, client_id)
    if existing is not None:
        return Outcome(existing, created=False)
    payload: dict[str, Any] = {"user_id": user.id, "passed": passed}
    if not passed:
        payload |= {"mood": mood, "craving": craving, "word": word}
    try:
        event = _append(session, "checkin", user, payload, client_id=client_id)
        _audit(user, "create", session, user.id, record_type="room_checkin")
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = stored_by_client_id(session.id, user.id, client_id)
        if existing is None:
            raise
        return Outcome(existing, created=False)
    return Outcome(event)


def live_participations(user_id: int) -> list[tuple[RoomParticipant, Session]]:
    """A person's places in rooms not yet over (waiting or admitted)."""
    now = clock.now()
    rows = db.session.execute(
        select(RoomParticipant, Session).join(Session, Session.id == RoomParticipant.session_id)
        .where(RoomParticipant.user_id == user_id,
               RoomParticipant.state != ParticipantState.REMOVED,
               Session.ended_at.is_(None), Session.ends_at > now)).all()
    return [(member, session) for member, session in rows]


def drop_participant(session: Session, user_id: int, reason: str) -> RoomEvent | None:
    """A person's right to this room ended (``reason``: "consent", a family guest's consent
    revoked or expired or their family link ended; "membership", out of the group or
    discharged): removed like a moderator's removal, by no one. None if already out."""
    member = db.session.scalar(
        select(RoomParticipant).where(RoomParticipant.session_id == session.id,
                                      RoomParticipant.user_id == user_id))
    if member is None or member.state == ParticipantState.REMOVED:
        return None
    member.state = ParticipantState.REMOVED
    close_intervals(session.id, user_id=user_id)
    event = _append(session, "removed", None, {"user_id": user_id, "reason": reason})
    audit.record(None, "remove", "room", session.id, subject_id=user_id)
    db.session.commit()
    return event


def _member(session: Session, user_id: int, allow_waiting: bool = False) -> RoomParticipant:
    member = db.session.scalar(
        select(RoomParticipant).where(RoomParticipant.session_id == session.id,
                                      RoomParticipant.user_id == user_id)
    )
    allowed = {ParticipantState.ADMITTED} | ({ParticipantState.WAITING} if allow_waiting else set())
    if member is None or member.state not in allowed:
        raise RoomError("not_in_room", "that person is not in the room")
    return member


def _audit(actor: User, action: str, session: Session, subject_id: int | None,
           record_type: str = "room") -> None:
    audit.record(actor, action, record_type, session.id, subject_id=subject_id)
