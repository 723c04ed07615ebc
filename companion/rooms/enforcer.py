"""The enforcer: a loop per web process that holds every socket to the rules between its events.

Each pass ends the sockets of logins that ended (logout, idle or absolute timeout, on any
process), takes family guests out of rooms their right no longer covers (a consent expires with
no event to say so), and applies admissions, removals and the end of a session decided on
another web process.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask, current_app
from sqlalchemy import select

from companion.accounts import services as accounts
from companion.accounts.models import LoginSession
from companion.clinic.models import Session
from companion.core import clock
from companion.core.extensions import db, socketio
from companion.rooms import connections as conns
from companion.rooms import sockets as handlers
from companion.rooms.connections import connections
from companion.rooms.models import ParticipantState, RoomParticipant

log = logging.getLogger(__name__)

ENFORCE_EVERY = 2.0  # seconds between passes

def start(app: Flask) -> None:
    """Start this process's enforcer loop (``companion serve``; tests run passes themselves)."""
    if app.config.get("REALTIME_ENFORCER", True):
        socketio.start_background_task(_enforcer_loop, app)


def _enforcer_loop(app: Flask) -> None:
    while True:
        socketio.sleep(ENFORCE_EVERY)
        with app.app_context():
            try:
                enforce_once()
            except Exception as error:  # the loop must outlive a bad pass (database blip, say)
                log.error("enforcer pass failed: %s", type(error).__name__)
            finally:
                db.session.remove()


def enforce_once() -> None:
    """One pass: end dead logins' sockets, apply admissions and removals made elsewhere."""
    conns.prune_buckets()
    if not connections:
        return
    _disconnect_dead_logins()
    _expel_guests_without_right()
    _sync_room_membership()


def _disconnect_dead_logins() -> None:
    now = clock.now()
    idle = timedelta(minutes=current_app.config["IDLE_TIMEOUT_MINUTES"])
    absolute = timedelta(hours=current_app.config["ABSOLUTE_TIMEOUT_HOURS"])
    login_ids = {c.login_id for c in connections.values()}
    # Ids only: this runs every ENFORCE_EVERY over every socket of the process.
    live = set(db.session.scalars(
        select(LoginSession.id).where(
            LoginSession.id.in_(login_ids), LoginSession.ended_at.is_(None),
            LoginSession.last_seen_at >= now - idle, LoginSession.created_at >= now - absolute,
        )
    ))
    for conn in list(connections.values()):
        if conn.login_id not in live:
            login = db.session.get(LoginSession, conn.login_id)
            if login is not None and login.ended_at is None:
                accounts.end_login_session(login, "idle")
            conns.disconnect(conn.sid, "signed_out")


def _sync_room_membership() -> None:
    pending = [(c, s) for c in connections.values() for s in c.waiting | c.joined]
    if not pending:
        return
    session_ids = {s for _, s in pending}
    states = {
        (session_id, user_id): state
        for session_id, user_id, state in db.session.execute(
            select(RoomParticipant.session_id, RoomParticipant.user_id, RoomParticipant.state)
            .where(RoomParticipant.session_id.in_(session_ids))
        )
    }
    ended = set(db.session.scalars(
        select(Session.id).where(Session.id.in_(session_ids), Session.ended_at.is_not(None))
    ))
    for conn, session_id in pending:
        if conn.sid not in connections:
            continue  # disconnected earlier in this pass (a family guest expelled)
        state = states.get((session_id, conn.user_id))
        if session_id in ended or state == ParticipantState.REMOVED:
            handlers.drop_from_session(conn, session_id)
        elif session_id in conn.waiting and state == ParticipantState.ADMITTED:
            handlers.admit_connection(conn, session_id)


def _expel_guests_without_right() -> None:
    """Every family guest with a socket here, whether it joined a room or not: out of each
    room whose right ended (a consent expires with no event to say so). Chat refuses them
    anyway (its statement checks the consent); this tells the room and stops their media."""
    for user_id in {c.user_id for c in connections.values() if c.family}:
        handlers.expel_where_not_allowed(user_id)
