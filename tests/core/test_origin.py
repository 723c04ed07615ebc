"""Every audit row says where its action came from, with no argument passed down for it
(companion/core/origin.py): a request its address, a socket event the socket channel, the
command line and the job runner their own name, a calendar app its feed."""

from __future__ import annotations

from sqlalchemy import select

from companion import jobs
from companion.accounts.models import Role
from companion.core import origin
from companion.core.extensions import db
from companion.core.models import AuditEvent
from tests.rooms.test_rooms import room  # noqa: F401


def _last(action: str) -> AuditEvent:
    row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                             .order_by(AuditEvent.id.desc()).limit(1)).first()
    assert row is not None, action
    return row


def test_a_request_is_audited_as_http_from_its_address(world, auth):
    counselor = world.user(Role.COUNSELOR)
    auth.login(counselor)
    assert auth.get("/api/v1/caseload").status_code == 200
    row = _last("read")
    assert (row.actor_id, row.channel, row.ip) == (counselor.id, "http", "127.0.0.1")


def test_a_socket_event_is_audited_as_socket(room):  # noqa: F811
    counselor = room["person"](room["counselor"])
    counselor.emit("join_session", session_id=room["session"].id)
    alex = room["person"](room["clients"][0])
    alex.emit("join_session", session_id=room["session"].id)
    assert counselor.emit("admit", session_id=room["session"].id,
                          user_id=room["clients"][0].id)["ok"]
    row = _last("admit")
    assert (row.actor_id, row.channel) == (room["counselor"].id, "socket")


def test_a_job_pass_is_audited_as_the_job(app, world, monkeypatch):
    client_id = world.user().id
    db.session.commit()  # the runner works in a session of its own

    def a_job() -> None:
        from companion.core import audit

        audit.record(None, "update", "test_job", None, subject_id=client_id)
        db.session.commit()

    # One turn of the runner's loop: it sleeps, then runs what is due (here, our job).
    turns = iter([None])
    monkeypatch.setattr(jobs, "JOBS", [(0.0, a_job)])
    monkeypatch.setattr(jobs.socketio, "sleep", lambda _s: next(turns))
    try:
        jobs._loop(app)
    except StopIteration:
        pass
    row = _last("update")
    assert (row.record_type, row.channel, row.ip) == ("test_job", "job", None)


def test_a_declared_origin_holds_inside_and_ends_with_its_block(app):
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "192.0.2.7"}):
        assert origin.current() == origin.Origin("http", "192.0.2.7")
        with origin.acting_from(origin.by_channel("calendar")):
            assert origin.current() == origin.Origin("calendar", "192.0.2.7")
            with origin.acting_from(origin.CLI):
                assert origin.current() == origin.CLI
            assert origin.current().channel == "calendar"
        assert origin.current().channel == "http"
    assert origin.current() == origin.INTERNAL
