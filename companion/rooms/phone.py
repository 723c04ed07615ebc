"""Callers in live rooms: what the SIP engine (companion/dialin) calls for a client on the phone,
acting as that client from the ``phone`` channel (core/origin.py; audit rows say so).

Each function goes through the room's own services and the socket handlers' own publishing, so a
caller knocks, is admitted, raises a hand and leaves exactly as someone in the app does, and the
room hears the same events; only the marks differ: their knock and their place in the waiting
room carry ``link: "phone"``, their presence ``link: "phone"`` and their attendance the modality
``phone``. Nothing here knows the calling number: the room never shows one.

The engine's loop for one call: ``knock_by_phone``; then ``admission_of`` every second (one
indexed read) until it says "admitted" (``enter_by_phone`` once the audio is bridged, which
opens the caller's attendance and shows them present), "removed" or "ended" (hang up); keys
``*6`` and ``*9`` call ``mute_self_by_phone`` and ``hand_by_phone``; ``muted_by_staff`` says
whether a moderator holds their mute; ``leave_by_phone`` when the call ends, however it ends.
A refusal is a ``RoomError`` whose ``code`` says why ("ended", "not_open", "removed",
"forbidden", "not_admitted", "muted_by_staff").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from sqlalchemy import and_, delete, select

from companion.accounts.models import User
from companion.clinic.models import Session
from companion.core import clock, origin
from companion.core.events import publish, staff_room
from companion.core.extensions import db
from companion.rooms import presence
from companion.rooms import services as rooms
from companion.rooms import sockets as handlers
from companion.rooms.models import AttendanceInterval, Modality, ParticipantState, RoomParticipant
from companion.rooms.services import Knock, RoomError

__all__ = ["Admission", "Knock", "RoomError", "admission_of", "admit_called", "enter_by_phone",
           "hand_by_phone", "present_ids",
           "hand_raised", "knock_by_phone", "leave_by_phone", "mute_self_by_phone",
           "muted_by_staff"]

Admission = Literal["waiting", "admitted", "removed", "ended"]
LINK = "phone"


def connection_id(session_id: int, user_id: int) -> str:
    """What a caller's attendance intervals are held open by (a socket's are its sid)."""
    return f"phone:{session_id}:{user_id}"


@contextmanager
def _as_the_caller() -> Iterator[None]:
    """Audited as done from the phone; a refusal leaves no transaction open (as a socket
    handler's does not)."""
    with origin.acting_from(origin.PHONE):
        try:
            yield
        except RoomError:
            db.session.rollback()
            raise


def _caller(session_id: int, user_id: int) -> tuple[Session, User]:
    session = rooms.get_session(session_id)
    user = db.session.get(User, user_id)
    if user is None:
        raise RoomError("forbidden", "not a member of this session")
    return session, user


def knock_by_phone(session_id: int, user_id: int) -> Knock:
    """Come to the room's door by phone: staff hear the knock (``link: "phone"``) and see the
    caller in the waiting room, as for a knock from the app. ``state`` "joined": admitted
    earlier (a dropped call calling back), so no waiting; "kept_out": a locked room, staff see
    them at the door and unlocking makes them wait."""
    with _as_the_caller():
        session, user = _caller(session_id, user_id)
        knocked = rooms.knock(session, user, by_phone=True)
        if knocked.state == "waiting":
            publish([staff_room(session.id)], "knock", {
                "session_id": session.id, "user_id": user.id, "name": user.display_name,
                "link": LINK})
            handlers._publish_presence(session)  # and the door, as a knock from a socket
        elif knocked.state == "kept_out":
            handlers._publish_door(session)
        handlers._send_published()
        return knocked


def present_ids(session: Session) -> set[int]:
    """Who is in the room now, by any link (dialin/dial_out.py calls nobody who is)."""
    return {person.id for person in rooms.present_users(session)}


def admission_of(session_id: int, user_id: int) -> Admission:
    """Where the caller stands now: "waiting" (or kept out by the lock), "admitted",
    "removed", or "ended" (ended, over, cancelled, or no such session). One read, its
    transaction ended at once (on SQLite an open one would hold the write lock)."""
    row = db.session.execute(
        select(Session.ended_at, Session.ends_at, Session.cancelled_at, RoomParticipant.state)
        .select_from(Session)
        .outerjoin(RoomParticipant, and_(RoomParticipant.session_id == Session.id,
                                         RoomParticipant.user_id == user_id))
        .where(Session.id == session_id)).first()
    db.session.commit()
    if (row is None or row.cancelled_at is not None or row.ended_at is not None
            or clock.now() >= row.ends_at):
        return "ended"
    if row.state == ParticipantState.REMOVED:
        return "removed"
    return "admitted" if row.state == ParticipantState.ADMITTED else "waiting"


def admit_called(session_id: int, user_id: int, staff_id: int) -> bool:
    """A client a counselor called from the room (companion/dialin/dial_out.py) keyed their
    PIN: they are let in as admitted by that counselor, who asked for them. False when that
    cannot be (the counselor left the room, or locked it): they wait at the door like anyone."""
    with _as_the_caller():
        session, _ = _caller(session_id, user_id)
        staff = db.session.get(User, staff_id)
        if staff is None:
            return False
        try:
            event = rooms.admit(session, staff, user_id)
        except RoomError:
            db.session.rollback()
            return False
        handlers._admitted(session, user_id, event)
        handlers._publish_presence(session)
        return True


def enter_by_phone(session_id: int, user_id: int) -> None:
    """The admitted caller is in the room (their audio bridged): their attendance opens with
    the modality phone and the room sees them present (``link: "phone"``). Calling it again
    changes nothing."""
    with _as_the_caller():
        session, user = _caller(session_id, user_id)
        rooms.require_admitted(session, user)
        held_by = connection_id(session_id, user_id)
        if db.session.scalar(select(AttendanceInterval.id).where(
                AttendanceInterval.connection_id == held_by,
                AttendanceInterval.ended_at.is_(None))) is None:
            presence.open_interval(session, user, held_by, Modality.PHONE)
        handlers._publish_presence(session)


def leave_by_phone(session_id: int, user_id: int) -> None:
    """The call ended (hung up, dropped, or the engine hung up): the caller's attendance
    closes and the room sees them gone, as when a socket goes; a caller still at the door
    leaves it (the waiting list and the kept-out list no longer show them). A call dropped and
    made again within 5 minutes is one stay (companion/rooms/attendance.py merges the gap)."""
    with _as_the_caller():
        presence.close_intervals(session_id, user_id=user_id,
                                 connection_id=connection_id(session_id, user_id))
        # A caller who hangs up at the door is gone from it: staff would admit nobody.
        db.session.execute(delete(RoomParticipant).where(
            RoomParticipant.session_id == session_id, RoomParticipant.user_id == user_id,
            RoomParticipant.by_phone.is_(True),
            RoomParticipant.state.in_([ParticipantState.WAITING, ParticipantState.KEPT_OUT])))
        db.session.commit()
        session = db.session.get(Session, session_id)
        if session is not None:
            handlers._publish_presence(session)
        handlers._send_published()


def mute_self_by_phone(session_id: int, user_id: int, muted: bool) -> None:
    """``*6``: the caller mutes or unmutes their own audio. Checked here (admitted, and never
    unmuting what a moderator muted: RoomError "muted_by_staff"); the engine silences the leg.
    As the app's own microphone button, it stores nothing and tells the room nothing."""
    with _as_the_caller():
        session, user = _caller(session_id, user_id)
        member = rooms.require_admitted(session, user)
        refused = not muted and member.audio_muted
        db.session.commit()
        if refused:
            raise RoomError("muted_by_staff", "a moderator muted you: only a moderator can "
                            "unmute you")


def muted_by_staff(session_id: int, user_id: int) -> bool:
    """Whether a moderator holds the caller's audio muted (the engine tells the call flow)."""
    muted = db.session.scalar(select(RoomParticipant.audio_muted).where(
        RoomParticipant.session_id == session_id, RoomParticipant.user_id == user_id))
    db.session.commit()
    return bool(muted)


def hand_raised(session_id: int, user_id: int) -> bool:
    """Whether the caller's hand is up (a moderator may have lowered it: the engine tells the
    call flow, so the next ``*9`` raises it again)."""
    session = db.session.get(Session, session_id)
    up = session is not None and user_id in rooms.hand_queue(session)
    db.session.commit()
    return up


def hand_by_phone(session_id: int, user_id: int, raised: bool) -> list[int]:
    """``*9``: the caller raises or lowers their hand, stored and told to the room as the
    app's hand button is; returns the queue of raised hands (user ids, in order)."""
    with _as_the_caller():
        session, user = _caller(session_id, user_id)
        answer = handlers._hand(user, session, raised, None)
        handlers._send_published()
        return list(answer["queue"])
