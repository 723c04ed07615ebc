"""Socket.IO events of live rooms (docs/realtime.md). Each handler: who may send it, in one line.

Handlers are thin: check the socket's login and rate, validate the payload, call one service in
companion.rooms.services, publish what it stored, answer the ack.

Events go out through core/events.py. The services commit what they store; what the handlers then
publish is read (names, who is present, who is at the door) in a short transaction of its own,
whose commit sends it (``_send_published``): before the ack, and never held across a yield.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from flask import current_app, request, session
from flask_socketio import ConnectionRefusedError, join_room
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from companion.accounts import services as accounts
from companion.accounts.models import Role, User
from companion.clinic import policy
from companion.clinic.models import Session
from companion.core import events
from companion.core.events import (
    counselors_room,
    lobby_room,
    members_room,
    publish,
    session_room,
    socket_room,
    staff_room,
    user_room,
)
from companion.core.extensions import db, socketio
from companion.core.inputs import nul_path
from companion.rooms import chat as room_chat
from companion.rooms import connections as conns
from companion.rooms import (
    event_payloads,  # noqa: F401 - registers the rooms' event payloads
    presence,
)
from companion.rooms import services as rooms
from companion.rooms.connections import Connection
from companion.rooms.models import ParticipantState, RoomEvent
from companion.rooms.payloads import (
    PAYLOADS,
    REACTIONS,
    ChatPayload,
    CheckinPayload,
    HandPayload,
    JoinPayload,
    LockPayload,
    MutePayload,
    PassPayload,
    Payload,
    ReactionPayload,
    SeqPayload,
    UserPayload,
)
from companion.rooms.services import RoomError
from companion.rooms.wire import Shown, display_names, person_json, render, shown

log = logging.getLogger(__name__)

# --- plumbing -------------------------------------------------------------------------------


def _fail(event: str, error: str, detail: str = "", field: str | None = None) -> dict[str, Any]:
    """An error ack; the same goes out as an ``error`` event for clients that sent no ack."""
    body: dict[str, Any] = {"ok": False, "error": error}
    if detail:
        body["detail"] = detail
    if field:
        body["field"] = field
    # At once: a reply to this socket, not news of a write (and the handler may roll back next).
    events.send_now([socket_room(request.sid)], "error",  # type: ignore[attr-defined]
                    {"event": event, **body})
    return body


def room_event(model: type[Payload], *, loads: bool = True
               ) -> Callable[[Callable[..., dict[str, Any]]], Any]:
    """Wrap a handler: live login, rate limit, payload validation, loaded session, errors.

    The handler gets (conn, user, session, payload), or, with ``loads=False``, only
    (conn, payload): the chat hot path loads no rows (docs/benchmarks.md, "Realtime").
    """

    def decorator(fn: Callable[..., dict[str, Any]]) -> Any:
        name = fn.__name__
        PAYLOADS[name] = model

        @functools.wraps(fn)
        def handler(data: Any = None) -> dict[str, Any]:
            try:
                return checked(data)
            except (OperationalError, PoolTimeout) as err:
                # The database is unreachable (or its pool busy past the wait): say so at once
                # (the client retries with the same id), and log the error's type only: its
                # message can quote the statement's parameters, a chat's text among them.
                db.session.rollback()
                reason = err.orig if isinstance(err, OperationalError) else err
                log.error("%s: database unavailable (%s)", name, type(reason).__name__)
                return _fail(name, "unavailable", "the server cannot store this right now; "
                             "send it again")

        def checked(data: Any) -> dict[str, Any]:
            sid = request.sid  # type: ignore[attr-defined]
            conn = conns.connections.get(sid)
            if conn is None or not conns.login_alive(conn):
                conns.disconnect(sid, "signed_out")
                return {"ok": False, "error": "unauthorized"}
            if not conn.take_token():
                return _fail(name, "rate_limited", "slow down")
            nul = nul_path(data)
            if nul:
                return _fail(name, "invalid", "text may not contain NUL characters", nul)
            try:
                payload = model.model_validate(data if isinstance(data, dict) else {})
            except ValidationError as err:
                first = err.errors(include_url=False)[0]
                field = ".".join(str(p) for p in first["loc"]) or "payload"
                return _fail(name, "invalid", first["msg"], field)
            try:
                if not loads:
                    answer = fn(conn, payload)
                else:
                    user = db.session.get(User, conn.user_id)
                    if user is None:
                        conns.disconnect(sid, "signed_out")
                        return {"ok": False, "error": "unauthorized"}
                    answer = fn(conn, user, rooms.get_session(payload.session_id), payload)
                _send_published()
                return answer
            except RoomError as err:
                db.session.rollback()
                return _fail(name, err.code, str(err))

        socketio.on_event(name, handler)
        return handler

    return decorator


def _send_published() -> None:
    """End the transaction the handler's announcements were read in: its commit sends them
    (core/events.py). The writes they report were committed by the services already."""
    if db.session().in_transaction():
        db.session.commit()


def _publish_event(event: RoomEvent, names: dict[int, Shown] | None = None) -> None:
    """Send a stored event to the room; check-in values only to the counselors' room."""
    names = display_names([event]) if names is None else names
    name, public = render(event, names, sees_clinical=False, viewer_id=None)
    # The check-in round is not for family guests: it goes to everyone else in the room.
    room = members_room if event.kind in rooms.ROUND_KINDS else session_room
    publish([room(event.session_id)], name, public)
    if event.kind in DOOR_KINDS:
        _tell_the_door(event, name, public)
    if event.kind == "checkin":
        _, detail = render(event, names, sees_clinical=True, viewer_id=None)
        publish([counselors_room(event.session_id)], "checkin_detail", detail)
    _send_published()


def _publish_presence(room_session: Session) -> None:
    """Who is in the room now, to the room; who is at the door, to its staff. Sent before this
    returns (a media worker's report and the enforcer call this outside any handler)."""
    # The lead counselor is marked: nobody else mutes or removes them (rooms.set_mute).
    present = [person_json(p.id, shown(p.display_name, p.role)) | {"link": p.link.value}
               | ({"lead": True} if p.id == room_session.counselor_id else {})
               for p in rooms.present_users(room_session)]
    publish([session_room(room_session.id)], "presence",
            {"session_id": room_session.id, "present": present})
    _publish_door(room_session)
    _send_published()


# --- the door: the waiting room, and those a locked room keeps out ----------------------------

# Events that people at the door hear too: the lock lifted (they may knock now), the end.
DOOR_KINDS = frozenset({"room_locked", "session_ended"})


def _tell_the_door(event: RoomEvent, name: str, body: dict[str, Any]) -> None:
    publish([lobby_room(event.session_id)], name, body)
    if event.kind == "room_locked":  # unlocking moved the kept out to the waiting list
        room_session = db.session.get(Session, event.session_id)
        if room_session is not None:
            _publish_door(room_session)


def _publish_door(room_session: Session) -> None:
    """Staff see who waits to be admitted and who the lock keeps out (a guest's family, a call)."""
    lists: dict[str, list[dict[str, Any]]] = {"waiting": [], "kept_out": []}
    for person in rooms.at_the_door(room_session):
        entry: dict[str, Any] = {"id": person.id, "display_name": person.display_name}
        entry |= {"family_of": person.family_of} if person.family_of is not None else {}
        entry |= {"link": "phone"} if person.by_phone else {}  # a caller (rooms/phone.py)
        lists["waiting" if person.state == ParticipantState.WAITING else "kept_out"].append(entry)
    for name, people in lists.items():
        publish([staff_room(room_session.id)], name, {"session_id": room_session.id, name: people})


def _replay(app: Any, sid: str, session_id: int, last_seq: int, user_id: int,
            through: int | None = None) -> None:
    """Send a socket the room's stored events after ``last_seq`` (to ``through``), in order:
    what a reconnecting socket missed, or the whole session so far for one that just came
    in. Runs after the join ack; family guests never get the check-in round."""
    with app.app_context():
        room_session = db.session.get(Session, session_id)
        user = db.session.get(User, user_id)
        if room_session is None or user is None:
            return
        clinical = rooms.is_counselor(room_session, user)
        missed = rooms.events_after(room_session, last_seq, viewer=user, through=through)
        names = display_names(missed)
        rendered = [render(event, names, sees_clinical=clinical, viewer_id=user.id)
                    for event in missed]
        # The database is let go before sending: on SQLite a transaction holds the write lock,
        # and a slow socket must not keep the room's writers waiting. Sent at once: stored
        # events, long committed, to the one socket that asked.
        db.session.remove()
        for name, body in rendered:
            events.send_now([socket_room(sid)], name, body)


# --- connection -----------------------------------------------------------------------------


@socketio.on("connect")
def on_connect(auth: Any = None) -> None:
    """Anyone with a live login session (the API's cookie), up to COMPANION_SOCKETS_PER_LOGIN
    sockets per login; anonymous sockets are refused."""
    token = session.get("login")
    login = accounts.resume_login_session(token) if token else None
    if login is None:
        raise ConnectionRefusedError("unauthorized")
    if not conns.may_open_socket(login.id):
        # The new socket is refused, not the oldest dropped: an open room page keeps its seat.
        raise ConnectionRefusedError("too_many_connections")
    conns.register(request.sid, login)  # type: ignore[attr-defined]


@socketio.on("disconnect")
def on_disconnect(reason: Any = None) -> None:
    """The socket went: its attendance intervals close; the rooms it was in are told."""
    sid = request.sid  # type: ignore[attr-defined]
    conn = conns.forget(sid)
    closed = presence.leave_connection(sid)
    for session_id in {s for s, _ in closed} | (conn.joined if conn else set()):
        room_session = db.session.get(Session, session_id)
        if room_session is not None:
            _publish_presence(room_session)


@socketio.on("heartbeat")
def on_heartbeat(data: Any = None) -> dict[str, Any]:
    """Any socket, while its page is in use: keeps the login from idling out mid-session."""
    sid = request.sid  # type: ignore[attr-defined]
    conn = conns.connections.get(sid)
    if conn is None or accounts.resume_login_session(conn.login_id) is None:
        conns.disconnect(sid, "signed_out")
        return {"ok": False, "error": "unauthorized"}
    conn.checked_at = time.monotonic()
    return {"ok": True}


# --- joining --------------------------------------------------------------------------------


@room_event(JoinPayload)
def join_session(conn: Connection, user: User, room_session: Session,
                 payload: JoinPayload) -> dict[str, Any]:
    """Members of the session's group and its staff: enter the room or its waiting room."""
    knocked = rooms.knock(room_session, user)
    if knocked.state != "joined":
        return _at_the_door(conn, user, room_session, kept_out=knocked.state == "kept_out")
    if room_session.id not in conn.joined:
        _enter(conn, user, room_session, staff=knocked.staff)
    # else: already in the room on this socket (a `resync`): no second attendance interval,
    # only the replay below.
    if knocked.event is not None:
        _publish_event(knocked.event)
    # A socket with no last_seq (a page just opened, a rejoin) gets the whole session so far.
    seq = _send_history(conn, user, room_session, payload.last_seq or 0)
    return {"ok": True, "state": "joined", "seq": seq}


def _at_the_door(conn: Connection, user: User, room_session: Session, *,
                 kept_out: bool) -> dict[str, Any]:
    """Waiting to be admitted (staff hear the knock), or kept out by the lock (staff see
    them, and they hear when it is lifted). Either way they hear if the session ends."""
    conn.waiting.add(room_session.id)
    join_room(lobby_room(room_session.id))
    if kept_out:
        _publish_door(room_session)
        return _fail("join_session", "locked", "the room is locked")
    knock: dict[str, Any] = {"session_id": room_session.id, "user_id": user.id,
                             "name": user.display_name}
    family_of = rooms.family_of(room_session, user.id) if conn.family else None
    if family_of is not None:
        knock["family_of"] = family_of
    publish([staff_room(room_session.id)], "knock", knock)
    _publish_presence(room_session)
    return {"ok": True, "state": "waiting", "seq": room_session.last_seq}


def _send_history(conn: Connection, user: User, room_session: Session, after: int) -> int:
    """Replay the room's events after ``after`` to a socket now in the room (after the ack);
    returns the seq it is whole through. Read after the socket joined the room: later events
    reach it live, earlier ones in the replay."""
    through = rooms.stored_through(room_session.id)
    if after < through:
        socketio.start_background_task(
            _replay, current_app._get_current_object(),  # type: ignore[attr-defined]
            conn.sid, room_session.id, after, user.id, through,
        )
    return through


def _enter(conn: Connection, user: User, room_session: Session, *, staff: bool) -> None:
    conns.enter(conn, room_session, staff=staff,
                clinical=staff and rooms.is_counselor(room_session, user))
    presence.open_interval(room_session, user, conn.sid)
    _publish_presence(room_session)


def admit_connection(conn: Connection, session_id: int) -> None:
    """Bring a waiting socket of this process into the room it was admitted to."""
    room_session = db.session.get(Session, session_id)
    user = db.session.get(User, conn.user_id)
    if room_session is None or user is None:
        return
    _enter(conn, user, room_session,
           staff=policy.can(user, policy.Action.MODERATE_SESSION, room_session))
    # The session so far, their admission among it (on another process they heard none of it).
    _send_history(conn, user, room_session, 0)


def drop_from_session(conn: Connection, session_id: int) -> None:
    """Take a removed (or ended) participant's socket out of the room's rooms."""
    conns.leave(conn, session_id)
    presence.close_intervals(session_id, user_id=conn.user_id)
    db.session.commit()


@room_event(UserPayload)
def admit(conn: Connection, user: User, room_session: Session,
          payload: UserPayload) -> dict[str, Any]:
    """Counselor and peer supporters: let one person in from the waiting room."""
    event = rooms.admit(room_session, user, payload.user_id)
    _admitted(room_session, payload.user_id, event)
    return {"ok": True, "seq": event.seq}


@room_event(Payload)
def admit_all(conn: Connection, user: User, room_session: Session,
              payload: Payload) -> dict[str, Any]:
    """Counselor and peer supporters: let everyone waiting in."""
    rooms.require_moderator(room_session, user)
    rooms.require_unlocked(room_session)
    seq = room_session.last_seq
    for waiting in rooms.waiting_users(room_session):
        event = rooms.admit(room_session, user, waiting.id)
        _admitted(room_session, waiting.id, event)
        seq = event.seq
    return {"ok": True, "seq": seq}


def _admitted(room_session: Session, user_id: int, event: RoomEvent) -> None:
    # The admitted person's sockets on this process enter now; on another process its
    # enforcer does it within a couple of seconds.
    for conn in conns.connections_of_user(user_id):
        if room_session.id in conn.waiting:
            admit_connection(conn, room_session.id)
    _publish_event(event)
    publish([user_room(user_id)], "admitted_notice", {"session_id": room_session.id})
    _send_published()  # before admit_all goes on to the next admission, which may be refused


# --- talking --------------------------------------------------------------------------------


@room_event(ChatPayload, loads=False)
def chat(conn: Connection, payload: ChatPayload) -> dict[str, Any]:
    """Anyone admitted and not muted: a message to the room, stored once per client id."""
    outcome = room_chat.post_chat(payload.session_id, conn.user_id, payload.id, payload.text)
    assert outcome.event is not None
    if outcome.created:
        _publish_event(outcome.event, {conn.user_id: conn.shown})
    return {"ok": True, "seq": outcome.event.seq}


@room_event(HandPayload)
def raise_hand(conn: Connection, user: User, room_session: Session,
               payload: HandPayload) -> dict[str, Any]:
    """Anyone admitted: join the queue of raised hands."""
    return _hand(user, room_session, True, None)


@room_event(HandPayload)
def lower_hand(conn: Connection, user: User, room_session: Session,
               payload: HandPayload) -> dict[str, Any]:
    """Anyone admitted lowers their own hand; a moderator may lower anyone's (user_id)."""
    return _hand(user, room_session, False, payload.user_id)


def _hand(user: User, room_session: Session, raised: bool, target: int | None) -> dict[str, Any]:
    outcome = rooms.set_hand(room_session, user, raised, target)
    if outcome.event is not None:
        _publish_event(outcome.event)
    return {"ok": True, "seq": outcome.event.seq if outcome.event else room_session.last_seq,
            "queue": rooms.hand_queue(room_session)}


@room_event(ReactionPayload)
def react(conn: Connection, user: User, room_session: Session,
          payload: ReactionPayload) -> dict[str, Any]:
    """Anyone admitted: a passing reaction (not stored)."""
    rooms.require_admitted(room_session, user)
    if payload.emoji not in REACTIONS:
        return _fail("react", "invalid", "unknown reaction", "emoji")
    publish([session_room(room_session.id)], "reaction",
            {"session_id": room_session.id, "user_id": user.id, "emoji": payload.emoji})
    return {"ok": True}


# --- the check-in round ---------------------------------------------------------------------


@room_event(Payload)
def checkin_round_start(conn: Connection, user: User, room_session: Session,
                        payload: Payload) -> dict[str, Any]:
    """Counselor and peer supporters: open a check-in round."""
    event = rooms.set_round(room_session, user, True)
    _publish_event(event)
    return {"ok": True, "seq": event.seq}


@room_event(Payload)
def checkin_round_end(conn: Connection, user: User, room_session: Session,
                      payload: Payload) -> dict[str, Any]:
    """Counselor and peer supporters: close the check-in round."""
    event = rooms.set_round(room_session, user, False)
    _publish_event(event)
    return {"ok": True, "seq": event.seq}


@room_event(CheckinPayload)
def checkin(conn: Connection, user: User, room_session: Session,
            payload: CheckinPayload) -> dict[str, Any]:
    """An admitted participant during a round: mood and craving 0-10 and a word."""
    outcome = rooms.post_checkin(room_session, user, payload.id, payload.mood,
                                 payload.craving, payload.word, passed=False)
    assert outcome.event is not None
    if outcome.created:
        _publish_event(outcome.event)
    return {"ok": True, "seq": outcome.event.seq}


@room_event(PassPayload)
def checkin_pass(conn: Connection, user: User, room_session: Session,
                 payload: PassPayload) -> dict[str, Any]:
    """An admitted participant during a round: pass this time."""
    outcome = rooms.post_checkin(room_session, user, payload.id, None, None, "", passed=True)
    assert outcome.event is not None
    if outcome.created:
        _publish_event(outcome.event)
    return {"ok": True, "seq": outcome.event.seq}


# --- moderation -----------------------------------------------------------------------------


def _moderation(event: RoomEvent) -> dict[str, Any]:
    _publish_event(event)
    return {"ok": True, "seq": event.seq}


@room_event(MutePayload)
def mute(conn: Connection, user: User, room_session: Session,
         payload: MutePayload) -> dict[str, Any]:
    """Counselor and peer supporters: mute a participant's chat, audio or video."""
    result = _moderation(rooms.set_mute(room_session, user, payload.user_id, payload.what, True))
    media_hooks.muted(room_session.id, payload.user_id, payload.what, True)
    return result


@room_event(MutePayload)
def unmute(conn: Connection, user: User, room_session: Session,
           payload: MutePayload) -> dict[str, Any]:
    """Counselor and peer supporters: lift a mute."""
    result = _moderation(rooms.set_mute(room_session, user, payload.user_id, payload.what, False))
    media_hooks.muted(room_session.id, payload.user_id, payload.what, False)
    return result


@room_event(UserPayload)
def remove(conn: Connection, user: User, room_session: Session,
           payload: UserPayload) -> dict[str, Any]:
    """Counselor and peer supporters: remove a participant (their sockets leave at once)."""
    event = rooms.remove(room_session, user, payload.user_id)
    result = _moderation(event)
    for target in conns.connections_of_user(payload.user_id):
        drop_from_session(target, room_session.id)
    publish([user_room(payload.user_id)], "removed", {"session_id": room_session.id,
                                                      "seq": event.seq,
                                                      "user_id": payload.user_id})
    media_hooks.left(room_session.id, payload.user_id)
    _publish_presence(room_session)
    return result


def expel(user_id: int, session_id: int, reason: str) -> None:
    """Someone may no longer be in this room (``reason``: "consent" for a family guest whose
    client's consent was revoked or expired, or whose family link ended; "membership" for one
    taken out of the group or discharged): removed as a moderator's removal is, told why, their
    media stopped, and their sockets here disconnected. Sockets on another process leave the
    room on that process's next pass (the stored removal), and the removal refuses their events."""
    room_session = db.session.get(Session, session_id)
    if room_session is None:
        return
    event = rooms.drop_participant(room_session, user_id, reason)
    targets = [c for c in conns.connections_of_user(user_id)
               if session_id in c.joined | c.waiting]
    for conn in targets:
        drop_from_session(conn, session_id)
    told: dict[str, object] = {"session_id": session_id, "user_id": user_id,
                               "reason": reason}
    if event is not None:
        _publish_event(event)
        told["seq"] = event.seq
    publish([user_room(user_id)], "removed", told)
    media_hooks.left(session_id, user_id)
    _publish_presence(room_session)  # sends what was published: before the sockets close
    for conn in targets:
        socketio.server.disconnect(conn.sid, namespace="/")


def expel_where_not_allowed(user_id: int) -> None:
    """Someone out of every room they may no longer join, now (connected or not)."""
    user = db.session.get(User, user_id)
    if user is None:
        return
    reason = "consent" if user.role == Role.FAMILY else "membership"
    for _, room_session in rooms.live_participations(user_id):
        if not policy.can(user, policy.Action.JOIN_SESSION, room_session):
            expel(user_id, room_session.id, reason)


@room_event(LockPayload)
def lock_room(conn: Connection, user: User, room_session: Session,
              payload: LockPayload) -> dict[str, Any]:
    """Counselor and peer supporters: lock (nobody new gets in) or unlock the room."""
    return _moderation(rooms.set_locked(room_session, user, payload.locked))


@room_event(Payload)
def end_session(conn: Connection, user: User, room_session: Session,
                payload: Payload) -> dict[str, Any]:
    """Counselor and peer supporters: end the session for everyone."""
    result = _moderation(rooms.end_session(room_session, user))
    for other in list(conns.connections.values()):
        if room_session.id in other.joined or room_session.id in other.waiting:
            conns.leave(other, room_session.id)
    media_hooks.closed(room_session.id)
    return result


@room_event(SeqPayload)
def delete_chat(conn: Connection, user: User, room_session: Session,
                payload: SeqPayload) -> dict[str, Any]:
    """Counselor and peer supporters: take a chat message out of the room."""
    return _moderation(rooms.delete_chat(room_session, user, payload.seq))


class _NoMedia:
    """Null object for a server without a media plane: moderation then stops at chat."""

    def muted(self, session_id: int, user_id: int, what: str, muted: bool) -> None:
        return None

    def left(self, session_id: int, user_id: int) -> None:
        return None

    def closed(self, session_id: int) -> None:
        return None


media_hooks: Any = _NoMedia()

