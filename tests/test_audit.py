"""The audit log is a hash chain the database will not let anyone edit."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from companion.models import AuditEvent, Role
from companion.services import audit


def _rows(world):
    return world.db.session.query(AuditEvent).order_by(AuditEvent.id).all()


def test_rows_are_chained_and_verify(world, auth):
    counselor = world.user(Role.COUNSELOR)
    client_user = world.user()
    world.group(counselor, [client_user])
    auth.login(counselor)
    auth.get("/api/v1/caseload")
    rows = _rows(world)
    assert [r.action for r in rows] == ["login", "read"]
    assert rows[0].prev_hash == audit.GENESIS_HASH
    assert rows[1].prev_hash == rows[0].hash
    assert rows[1].actor_id == counselor.id and rows[1].ip == "127.0.0.1"
    assert audit.verify() == (True, None)


def test_database_refuses_to_edit_or_delete_audit_rows(world, auth):
    auth.login(world.user())
    row_id = _rows(world)[0].id
    world.db.session.commit()
    for statement in (
        f"UPDATE audit_event SET action = 'nothing' WHERE id = {row_id}",
        f"DELETE FROM audit_event WHERE id = {row_id}",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            world.db.session.execute(text(statement))
        world.db.session.rollback()
    assert audit.verify() == (True, None)


def test_verification_finds_a_tampered_row(world, auth):
    user = world.user()
    for _ in range(3):
        auth.login(user)
    rows = _rows(world)
    assert audit.verify() == (True, None)
    # Someone with raw database access drops the trigger and rewrites history.
    session = world.db.session
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_change"))
    else:
        session.execute(text("DROP TRIGGER audit_event_no_update"))
    session.execute(text(f"UPDATE audit_event SET record_id = '999' WHERE id = {rows[1].id}"))
    session.commit()
    assert audit.verify() == (False, rows[1].id)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_change"))
        session.commit()


def test_concurrent_appends_keep_one_chain(app, world):
    import threading

    users = [world.user() for _ in range(4)]
    errors = []

    def worker(user_id):
        try:
            with app.app_context():
                from companion.extensions import db
                from companion.models import User

                user = db.session.get(User, user_id)
                for _ in range(5):
                    audit.record(user, "read", "test", user_id)
                    db.session.commit()
                db.session.remove()
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    ids = [u.id for u in users]
    world.db.session.commit()  # the test's own session must not hold the write lock
    threads = [threading.Thread(target=worker, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert len(_rows(world)) == 20
    assert audit.verify() == (True, None)
