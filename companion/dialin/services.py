"""What the SIP engine asks on a call: who is this PIN (within limits), and which of their
sessions may they join now. Everything runs as done from the phone (``origin.PHONE``).

The caller's number is never identity and never stored or logged: it only keys the limit on
failed tries, as an HMAC under a key of its own (companion/dialin/pins.py).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select

from companion.accounts.models import Role, User
from companion.clinic import policy, schedule
from companion.clinic.models import Enrollment, Program
from companion.core import audit, clock, origin
from companion.core.extensions import db
from companion.dialin.availability import dial_in_number
from companion.dialin.callflow import SessionChoice
from companion.dialin.models import DialInFailure, DialInPin
from companion.dialin.pins import CALLER_LABEL, derived_key, pin_lookup
from companion.rooms.models import ParticipantState, RoomParticipant

log = logging.getLogger(__name__)

# Failed tries over the last hour (WINDOW) before further tries are refused unheard. Per calling
# number: a client who mistypes three calls running (three tries each) still gets through,
# a guesser on one line gets 10 an hour. In all, over every line: a guesser who changes or
# hides their number is held by this one; a busy clinic's honest typos at the top of the hour
# stay well under it (a few a session). A try refused by a limit sounds exactly like a wrong
# PIN, and is not counted again.
FAILURES_PER_NUMBER = 10
FAILURES_IN_ALL = 60
WINDOW = timedelta(hours=1)
# What a caller may key as a PIN at all; anything else is a wrong PIN without a lookup.
PIN_FORMAT = re.compile(r"^[0-9]{6,12}$")
# Calls without a number (withheld, or a trunk that sends none) share one count.
WITHHELD = "withheld"
# The states in which a session's room lets people in (Session.state, as the web client reads it).
ROOM_OPEN = frozenset({"open", "in_progress"})


def caller_key(caller_number: str | None) -> str:
    """The calling number as the limits know it: a keyed hash of its digits."""
    digits = re.sub(r"[^0-9+]", "", caller_number or "") or WITHHELD
    return hmac.new(derived_key(CALLER_LABEL), digits.encode(), hashlib.sha256).hexdigest()


def identify(pin: str, caller_number: str | None, only: int | None = None) -> int | None:
    """The user whose PIN this is, or None: a wrong PIN, a PIN of someone whose program offers
    no dial-in now, or a try refused by the limits (all three the same to the caller). ``only``:
    a call the line placed to this client (dial_out.py), so anyone else's PIN is a wrong one.
    A found caller is audited as a sign-in by phone; a miss counts against the limits."""
    with origin.acting_from(origin.PHONE):
        now = clock.now()
        caller = caller_key(caller_number)
        # Looked up whether or not a limit refuses: a refused try takes as long as any other.
        found = _owner(pin_lookup(pin)) if PIN_FORMAT.match(pin or "") else None
        if found is not None and only is not None and found.id != only:
            found = None
        limited = _limited(caller, now)
        if found is None or limited:
            if not limited:
                db.session.execute(delete(DialInFailure).where(DialInFailure.at < now - WINDOW))
                db.session.add(DialInFailure(caller_key=caller, at=now))
            db.session.commit()
            if limited:
                log.warning("dial-in: a PIN try refused by the limit %s",
                            "on its calling number" if limited == "number" else "on all calls")
            return None
        audit.record(found, "login", "dial_in", None, subject_id=found.id)
        db.session.commit()
        return found.id


def _limited(caller: str, now: datetime) -> str | None:
    """Which limit a try would pass ("number" or "all"), or None."""
    since = now - WINDOW
    mine, everyone = db.session.execute(select(
        func.count().filter(DialInFailure.caller_key == caller), func.count())
        .where(DialInFailure.at >= since)).one()
    if mine >= FAILURES_PER_NUMBER:
        return "number"
    if everyone >= FAILURES_IN_ALL:
        return "all"
    return None


def _owner(lookup: str) -> User | None:
    """The PIN's owner if they may dial in now: an active client, enrolled now in a program
    that offers dial-in, on a server that has a number."""
    if dial_in_number() is None:
        return None
    return db.session.scalar(
        select(User).join(DialInPin, DialInPin.user_id == User.id)
        .join(Enrollment, (Enrollment.client_id == User.id) & Enrollment.end_date.is_(None))
        .join(Program, Program.id == Enrollment.program_id)
        .where(DialInPin.pin_lookup == lookup, User.active.is_(True), User.role == Role.CLIENT,
               Program.dial_in_enabled.is_(True))
        .limit(1))


def open_sessions(user_id: int, now: datetime) -> list[SessionChoice]:
    """The sessions this client may join by phone now, soonest first: theirs (a group of
    theirs, or their 1:1), with the room open (from 15 minutes before the start to the end),
    not cancelled, not one they were removed from. A discharged client has none."""
    user = db.session.get(User, user_id)
    if user is None or not user.active or user.role != Role.CLIENT:
        return []
    removed = set(db.session.scalars(select(RoomParticipant.session_id).where(
        RoomParticipant.user_id == user_id,
        RoomParticipant.state == ParticipantState.REMOVED)))
    zones: dict[int, ZoneInfo] = {}
    out = []
    for item in schedule.joinable_sessions(user, now):
        session = item.session
        if (session.state(now) not in ROOM_OPEN or session.id in removed
                or policy.session_role(user, session) != "client"):
            continue
        if session.program_id not in zones:
            program = db.session.get(Program, session.program_id)
            zones[session.program_id] = ZoneInfo(program.timezone if program else "UTC")
        out.append(SessionChoice(session.id, session.starts_at.astimezone(
            zones[session.program_id])))
    return out
