"""Who may act in a room, asked at the moment of each event: moderation standing (a removed
peer supporter, a peer supporter against the lead counselor, a client), the live right to the
room on the chat path (consent, group membership, an active account), and limits per login and
per person rather than per socket."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from companion.accounts.models import Role, User
from companion.clinic.models import GroupMember, GroupRole, Session
from companion.core import clock
from companion.core.extensions import db, socketio
from companion.rooms import connections, enforcer
from companion.rooms.models import ParticipantState, RoomEvent, RoomParticipant
from tests import care_factories
from tests.rooms.test_rooms import Person


@pytest.fixture
def staffed(app, world, make_auth):
    """A group in session: Chris leads it, Pat is its peer supporter, Alex and Jo are in the
    room, Sam knocks; Alex has said something and raised a hand."""
    counselor = world.user(Role.COUNSELOR, name="Chris")
    peer = world.user(Role.PEER_SUPPORTER, name="Pat")
    alex, sam = world.user(Role.CLIENT, name="Alex"), world.user(Role.CLIENT, name="Sam")
    jo = world.user(Role.CLIENT, name="Jo")
    group = world.group(counselor, [alex, sam, jo], [peer])
    session = world.session(group)
    sid = session.id

    def person(user: User) -> Person:
        return Person(app, user, make_auth)

    lead = person(counselor)
    assert lead.emit("join_session", session_id=sid)["state"] == "joined"
    pat = person(peer)
    assert pat.emit("join_session", session_id=sid)["state"] == "joined"
    alex_p = person(alex)
    assert alex_p.emit("join_session", session_id=sid)["state"] == "waiting"
    assert lead.emit("admit", session_id=sid, user_id=alex.id)["ok"]
    chat_seq = alex_p.emit("chat", session_id=sid, id="a1", text="hello all")["seq"]
    assert alex_p.emit("raise_hand", session_id=sid)["ok"]
    jo_p = person(jo)
    assert jo_p.emit("join_session", session_id=sid)["state"] == "waiting"
    assert lead.emit("admit", session_id=sid, user_id=jo.id)["ok"]
    assert person(sam).emit("join_session", session_id=sid)["state"] == "waiting"
    return {"sid": sid, "lead": lead, "pat": pat, "alex": alex_p, "counselor": counselor,
            "peer": peer, "alex_user": alex, "sam_user": sam, "jo": jo_p, "chat_seq": chat_seq,
            "person": person, "group": group}


def _moderation_events(s: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every moderation event the room has, with a payload that a moderator in good standing
    would have accepted in the staged room."""
    alex, sam = s["alex_user"].id, s["sam_user"].id
    return {
        "admit": ("admit", {"user_id": sam}),
        "admit_all": ("admit_all", {}),
        "lock": ("lock_room", {"locked": True}),
        "unlock": ("lock_room", {"locked": False}),
        "remove": ("remove", {"user_id": alex}),
        "mute chat": ("mute", {"user_id": alex, "what": "chat"}),
        "mute audio": ("mute", {"user_id": alex, "what": "audio"}),
        "mute video": ("mute", {"user_id": alex, "what": "video"}),
        "unmute": ("unmute", {"user_id": alex, "what": "chat"}),
        "lower someone's hand": ("lower_hand", {"user_id": alex}),
        "delete chat": ("delete_chat", {"seq": s["chat_seq"]}),
        "check-in round start": ("checkin_round_start", {}),
        "check-in round end": ("checkin_round_end", {}),
        "end session": ("end_session", {}),
    }


# What the room must be like for the event to be one a moderator could do.
_PREPARE = {
    "unlock": ("lock_room", {"locked": True}),
    "unmute": ("mute", {"what": "chat"}),
    "check-in round end": ("checkin_round_start", {}),
}


def _room_state(sid: int) -> tuple[Any, ...]:
    db.session.expire_all()
    session = db.session.get(Session, sid)
    seats = db.session.query(RoomParticipant.user_id, RoomParticipant.state,
                             RoomParticipant.chat_muted, RoomParticipant.audio_muted,
                             RoomParticipant.video_muted).filter_by(session_id=sid)
    return (session.last_seq, session.locked, session.ended_at,
            sorted(tuple(row) for row in seats),
            [e.payload for e in db.session.query(RoomEvent).filter_by(session_id=sid)])


def _prepare(s: dict[str, Any], case: str) -> None:
    if case in _PREPARE:
        event, extra = _PREPARE[case]
        if event == "mute":
            extra = {**extra, "user_id": s["alex_user"].id}
        assert s["lead"].emit(event, session_id=s["sid"], **extra)["ok"]


def _actor(s: dict[str, Any], who: str) -> Person:
    sid = s["sid"]
    if who == "client":
        return s["jo"]
    assert s["lead"].emit("remove", session_id=sid, user_id=s["peer"].id)["ok"]
    if who == "removed peer supporter, old socket":
        assert s["pat"].received("removed")
        return s["pat"]
    # A new login and socket: the room will not have them back, and that socket never joined.
    fresh = s["person"](s["peer"])
    assert fresh.emit("join_session", session_id=sid)["error"] == "removed"
    return fresh


ACTORS = {
    "removed peer supporter, old socket": "removed",
    "removed peer supporter, new socket": "removed",
    "client": "forbidden",
}
CASES = ["admit", "admit_all", "lock", "unlock", "remove", "mute chat", "mute audio",
         "mute video", "unmute", "lower someone's hand", "delete chat", "check-in round start",
         "check-in round end", "end session"]


@pytest.mark.parametrize("who", list(ACTORS))
@pytest.mark.parametrize("case", CASES)
def test_moderation_needs_standing_in_the_room_now(staffed, case, who):
    """Refused with a reason and nothing changed; the lead counselor then does the same event
    successfully, so the refusal was the actor's standing, not the room's state."""
    s = staffed
    _prepare(s, case)
    actor = _actor(s, who)
    event, payload = _moderation_events(s)[case]
    before = _room_state(s["sid"])
    ack = actor.emit(event, session_id=s["sid"], **payload)
    assert ack["ok"] is False and ack["error"] == ACTORS[who], ack
    assert ack["detail"]
    assert _room_state(s["sid"]) == before
    assert s["lead"].emit(event, session_id=s["sid"], **payload)["ok"]


def test_moderation_events_listed_here_are_all_the_room_has():
    """A new moderation event must join the matrix above."""
    from companion.rooms import sockets as handlers

    moderating = {name for name, fn in vars(handlers).items()
                  if callable(fn) and "Counselor and peer supporters" in (fn.__doc__ or "")}
    listed = {event for event, _ in _moderation_events({
        "alex_user": User(id=1), "sam_user": User(id=2), "chat_seq": 1}).values()}
    assert moderating <= listed | {"unmute"}, moderating - listed


@pytest.mark.parametrize("what", ["chat", "audio", "video"])
def test_a_peer_supporter_cannot_mute_the_lead_counselor(staffed, what):
    s = staffed
    before = _room_state(s["sid"])
    ack = s["pat"].emit("mute", session_id=s["sid"], user_id=s["counselor"].id, what=what)
    assert ack["ok"] is False and ack["error"] == "forbidden", ack
    assert "counselor" in ack["detail"]
    assert _room_state(s["sid"]) == before
    # The peer supporter still moderates everyone else; the counselor may mute themselves.
    assert s["pat"].emit("mute", session_id=s["sid"], user_id=s["alex_user"].id, what=what)["ok"]
    assert s["lead"].emit("mute", session_id=s["sid"], user_id=s["counselor"].id,
                          what=what)["ok"]
    assert s["lead"].emit("unmute", session_id=s["sid"], user_id=s["counselor"].id,
                          what=what)["ok"]


def test_nobody_removes_the_lead_counselor(staffed, world):
    s = staffed
    co_lead = world.user(Role.COUNSELOR, name="Robin")
    db.session.add(GroupMember(group_id=s["group"].id, user_id=co_lead.id,
                               role=GroupRole.COUNSELOR))
    db.session.commit()
    robin = s["person"](co_lead)
    assert robin.emit("join_session", session_id=s["sid"])["state"] == "joined"
    before = _room_state(s["sid"])
    for actor in (s["pat"], robin):
        ack = actor.emit("remove", session_id=s["sid"], user_id=s["counselor"].id)
        assert ack["ok"] is False and ack["error"] == "forbidden", ack
        ack = actor.emit("unmute", session_id=s["sid"], user_id=s["counselor"].id, what="audio")
        assert ack["ok"] is False and ack["error"] == "forbidden", ack
    assert _room_state(s["sid"]) == before
    # The lead counselor removes the co-lead and the peer supporter alike.
    assert s["lead"].emit("remove", session_id=s["sid"], user_id=co_lead.id)["ok"]


def test_presence_and_chat_carry_the_staff_badge_not_the_name(staffed, world):
    """A client who calls themselves "Counselor Dana" gets no badge; staff do, and the lead
    counselor is marked as the one nobody else mutes or removes."""
    s = staffed
    dana = world.user(Role.CLIENT, name="Counselor Dana")
    db.session.add(GroupMember(group_id=s["group"].id, user_id=dana.id, role=GroupRole.CLIENT))
    db.session.commit()
    dana_p = s["person"](dana)
    assert dana_p.emit("join_session", session_id=s["sid"])["state"] == "waiting"
    s["lead"].received()
    assert s["lead"].emit("admit", session_id=s["sid"], user_id=dana.id)["ok"]
    present = {p["display_name"]: p for p in s["lead"].received("presence")[-1]["present"]}
    assert present["Chris"]["staff"] == "counselor" and present["Chris"]["lead"] is True
    assert present["Pat"]["staff"] == "peer_supporter" and "lead" not in present["Pat"]
    assert "staff" not in present["Counselor Dana"] and "staff" not in present["Alex"]
    for p in (s["pat"], dana_p):
        p.received()
    assert s["lead"].emit("chat", session_id=s["sid"], id="c1", text="welcome")["ok"]
    assert dana_p.emit("chat", session_id=s["sid"], id="d1", text="I am the counselor")["ok"]
    chats = s["pat"].received("chat")
    assert chats[0]["from"] == {"id": s["counselor"].id, "display_name": "Chris",
                                "staff": "counselor"}
    assert chats[1]["from"] == {"id": dana.id, "display_name": "Counselor Dana"}


# --- the lock ----------------------------------------------------------------------------------


def test_a_locked_room_lets_nobody_new_in_not_even_by_admission(staffed):
    s = staffed
    sid, sam = s["sid"], s["sam_user"].id
    assert s["lead"].emit("lock_room", session_id=sid, locked=True)["ok"]
    before = _room_state(sid)
    for event, extra in (("admit", {"user_id": sam}), ("admit_all", {})):
        ack = s["lead"].emit(event, session_id=sid, **extra)
        assert ack["ok"] is False and ack["error"] == "locked", ack
        assert "unlock" in ack["detail"]
    assert _room_state(sid) == before
    # Sam is still waiting, and gets in once the room is unlocked.
    assert s["lead"].emit("lock_room", session_id=sid, locked=False)["ok"]
    assert s["lead"].emit("admit", session_id=sid, user_id=sam)["ok"]


# --- the live right to a room, on the chat path ---------------------------------------------------


def _no_longer_in_group(s: dict[str, Any], user: User) -> None:
    db.session.query(GroupMember).filter_by(group_id=s["group"].id, user_id=user.id).delete()
    db.session.commit()


def test_chat_checks_membership_and_account_at_that_moment(staffed):
    """The seat says admitted; the group or the account says otherwise: refused."""
    s = staffed
    sid = s["sid"]
    _no_longer_in_group(s, s["alex_user"])
    s["lead"].received()
    before = _room_state(sid)
    ack = s["alex"].emit("chat", session_id=sid, id="a2", text="still here")
    assert ack["ok"] is False and ack["error"] == "forbidden", ack
    _no_longer_in_group(s, s["peer"])
    assert s["pat"].emit("chat", session_id=sid, id="p1", text="hi")["error"] == "forbidden"
    db.session.get(User, s["counselor"].id).active = False
    db.session.commit()
    assert s["lead"].emit("chat", session_id=sid, id="c9", text="hi")["ok"] is False
    assert _room_state(sid) == before
    assert s["lead"].received("chat") == []


@pytest.fixture
def guest_room(app, world, make_auth):
    counselor = world.user(Role.COUNSELOR, name="Chris")
    casey = world.user(Role.CLIENT, name="Casey")
    guest = world.user(Role.FAMILY, name="Jamie")
    care_factories.family_link(casey, guest, relationship="brother")
    consent = care_factories.consent(casey, guest, ["family_sessions"])
    consent.expires_at = clock.now() + timedelta(minutes=5)
    session = world.session(counselor=counselor, client=casey)
    session.family = True
    db.session.commit()

    def person(user: User) -> Person:
        return Person(app, user, make_auth)

    lead = person(counselor)
    assert lead.emit("join_session", session_id=session.id)["state"] == "joined"
    casey_p = person(casey)
    casey_p.emit("join_session", session_id=session.id)
    assert lead.emit("admit", session_id=session.id, user_id=casey.id)["ok"]
    guest_p = person(guest)
    assert guest_p.emit("join_session", session_id=session.id)["state"] == "waiting"
    assert lead.emit("admit", session_id=session.id, user_id=guest.id)["ok"]
    assert guest_p.emit("chat", session_id=session.id, id="g1", text="hello")["ok"]
    return {"sid": session.id, "lead": lead, "casey": casey_p, "guest": guest_p,
            "guest_user": guest, "person": person}


def test_a_guest_offline_when_the_consent_expired_cannot_chat_on_a_new_socket(guest_room):
    g = guest_room
    sid = g["sid"]
    g["guest"].sio.disconnect()  # offline at the expiry: no socket for the enforcer to see
    clock.advance(timedelta(minutes=6))
    enforcer.enforce_once()
    for p in (g["lead"], g["casey"]):
        p.received()
    before = _room_state(sid)
    back = g["person"](g["guest_user"])
    ack = back.emit("chat", session_id=sid, id="g2", text="still here?")  # no join_session
    assert ack["ok"] is False and ack["error"] == "forbidden", ack
    assert _room_state(sid) == before
    assert g["lead"].received("chat") == [] and g["casey"].received("chat") == []


def test_the_enforcer_expels_a_guest_whose_socket_never_joined(guest_room):
    g = guest_room
    sid = g["sid"]
    g["guest"].sio.disconnect()
    clock.advance(timedelta(minutes=6))
    back = g["person"](g["guest_user"])  # connected, in no room
    g["lead"].received()
    enforcer.enforce_once()
    seat = db.session.query(RoomParticipant).filter_by(session_id=sid,
                                                       user_id=g["guest_user"].id).one()
    assert seat.state == ParticipantState.REMOVED
    removed = g["lead"].received("removed")
    assert [(m["user_id"], m.get("reason")) for m in removed] == [(g["guest_user"].id,
                                                                   "consent")]
    assert back.received("removed")[0]["reason"] == "consent"


def test_the_chat_rule_in_sql_agrees_with_the_policy(guest_room, staffed, world):
    """The chat statement's own check of the right to a room says what policy.can says, for
    each kind of person and each way the right ends."""
    from sqlalchemy import bindparam, select

    from companion.clinic import policy

    def both(user_id: int, sid: int) -> tuple[bool, bool]:
        db.session.expire_all()
        user, session = db.session.get(User, user_id), db.session.get(Session, sid)
        in_sql = db.session.scalar(
            select(policy.may_join_sql(bindparam("user_id", user_id),
                                       bindparam("now", clock.now())))
            .where(Session.id == sid))
        return policy.can(user, policy.Action.JOIN_SESSION, session), bool(in_sql)

    s, g = staffed, guest_room
    outsider = world.user(Role.CLIENT, name="Out")
    everyone = [s["counselor"].id, s["peer"].id, s["alex_user"].id, s["sam_user"].id,
                g["guest_user"].id, outsider.id]
    sessions = [s["sid"], g["sid"]]
    for user_id in everyone:
        for sid in sessions:
            allowed, in_sql = both(user_id, sid)
            assert allowed == in_sql, (user_id, sid)
    assert both(g["guest_user"].id, g["sid"]) == (True, True)
    clock.advance(timedelta(minutes=6))
    assert both(g["guest_user"].id, g["sid"]) == (False, False)
    _no_longer_in_group(s, s["alex_user"])
    assert both(s["alex_user"].id, s["sid"]) == (False, False)
    db.session.get(User, s["peer"].id).active = False
    db.session.commit()
    assert both(s["peer"].id, s["sid"]) == (False, False)


# --- limits per login and per person ----------------------------------------------------------


def _sockets(app, http, n: int) -> list[Any]:
    return [socketio.test_client(app, flask_test_client=http.client) for _ in range(n)]


def test_a_login_holds_a_bounded_number_of_sockets(app, world, make_auth):
    alex = world.user(Role.CLIENT, name="Alex")
    http = make_auth(alex)
    cap = app.config["SOCKETS_PER_LOGIN"]
    assert cap == 8
    held = _sockets(app, http, cap)
    assert all(s.is_connected() for s in held)
    refused = socketio.test_client(app, flask_test_client=http.client)
    assert not refused.is_connected()
    # Another login (the same person's phone) has its own allowance; a socket that goes
    # makes room for a new one.
    assert socketio.test_client(app, flask_test_client=make_auth(alex).client).is_connected()
    held[0].disconnect()
    assert socketio.test_client(app, flask_test_client=http.client).is_connected()


@pytest.fixture
def frozen(monkeypatch):
    """No refill of the rate limits' buckets: the burst allowance is all there is (asked for
    before ``staffed``, so that the room's setup spends exactly what it sends)."""
    at = connections.time.monotonic()
    monkeypatch.setattr(connections.time, "monotonic", lambda: at)


def test_chats_from_many_sockets_of_one_login_are_limited_as_one(app, frozen, staffed):
    s = staffed
    http = s["alex"].http
    sockets = [s["alex"].sio] + _sockets(app, http, 7)
    acks = []
    for i in range(5):
        for n, sock in enumerate(sockets):
            db.session.commit()
            with app.app_context():
                acks.append(sock.emit("chat", {"session_id": s["sid"], "id": f"m{i}-{n}",
                                               "text": "spam"}, callback=True))
    ok = [a for a in acks if a["ok"]]
    # One allowance for the login (20), already spent on a join, a chat and a raised hand.
    assert len(ok) == connections.LOGIN_BURST - 3
    assert {a["error"] for a in acks if not a["ok"]} == {"rate_limited"}
    stored = db.session.query(RoomEvent).filter_by(session_id=s["sid"], kind="chat",
                                                   actor_id=s["alex_user"].id).count()
    assert stored == 1 + len(ok)


def test_many_logins_of_one_person_share_a_limit(app, frozen, staffed, make_auth):
    s = staffed
    logins = [make_auth(s["alex_user"]) for _ in range(4)]
    acks = []
    for n, http in enumerate(logins):
        sock = socketio.test_client(app, flask_test_client=http.client)
        for i in range(connections.LOGIN_BURST):
            db.session.commit()
            with app.app_context():
                acks.append(sock.emit("chat", {"session_id": s["sid"], "id": f"u{n}-{i}",
                                               "text": "spam"}, callback=True))
    ok = sum(1 for a in acks if a["ok"])
    # Four logins' allowances would be 80; the person's is USER_BURST, minus the 3 spent.
    assert ok == connections.USER_BURST - 3 < 4 * connections.LOGIN_BURST - 3
