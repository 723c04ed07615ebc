"""Fuzzing every operation of the OpenAPI document with schemathesis (docs/security.md, input).

Each generated request (valid and invalid data) is sent in-process to the Flask app as a client,
a counselor or an admin of one clinic (the role is drawn with the data), logged in with a session
cookie and the CSRF header; a third of the cases of an operation with ids in its path use seeded
records.
Asserted for every response: no 5xx; a 4xx is application/problem+json with ``title`` and
``status``, and a 422 names the field at fault in ``errors[].field``; a 2xx conforms to the
documented status codes, content type and schema.

Bounded for CI: a fixed number of derandomized examples per operation, so runs are reproducible.
Bodies that are not JSON objects (wrong media type, broken JSON, a list, a string, null) are
sent to every operation that takes one, without hypothesis.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from companion.accounts.models import Role
from companion.core.spec import registry
from tests import care_factories, note_factories, selfcare_factories
from tests.meeting_factories import _source

# CI's budget; FUZZ_MAX_EXAMPLES=200 for a deeper local run (FUZZ_RANDOM=1: a new seed each run).
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "20"))
DERANDOMIZE = not os.environ.get("FUZZ_RANDOM")
ROLES = (Role.CLIENT, Role.COUNSELOR, Role.ADMIN)
PROBLEM = "application/problem+json"


def _document() -> dict[str, Any]:
    import companion  # the views register themselves on import

    for entry_point in companion.DOMAIN_ENTRY_POINTS:
        importlib.import_module(entry_point)

    return registry.document({"title": "Companion API", "version": "1"})


schema = schemathesis.openapi.from_dict(_document())
OPERATIONS = [result.ok() for result in schema.get_all_operations()]


class Seeded:
    """One clinic's people, logged in, and a few records so some generated ids exist."""

    def __init__(self, app: Any, world: Any, make_auth: Any) -> None:
        self.app = app
        self.people = {role: world.user(role, name=f"{role.value}-fuzz") for role in ROLES}
        client, counselor = self.people[Role.CLIENT], self.people[Role.COUNSELOR]
        group = world.group(counselor, [client])
        session = world.session(group)
        checkin = selfcare_factories.checkin(client)
        selfcare_factories.craving(client)
        selfcare_factories.completion(client)
        alert = selfcare_factories.alert(client)
        consent = care_factories.consent(client)
        assignment = care_factories.assignment(client, counselor)
        source_id, meeting_id = _source(client.clinic_id)
        note = note_factories.stored_note(session, counselor, [client])
        # Path parameters by name: a third of the generated cases use these records.
        self.ids: dict[str, Any] = {
            "alert_id": alert.id, "client_id": client.id, "meeting_id": meeting_id,
            "consent_id": consent.id, "entry_id": checkin.id, "source_id": source_id,
            "program_id": world.program.id, "assignment_id": assignment.id,
            "session_id": session.id, "code": "what_is_sud", "category": "enrollment",
            "note_id": note.id,
            # Required query days (the billing days' range), for tests that vary one of them.
            "from": "2026-11-16", "to": "2026-11-22",
        }
        self.make_auth = make_auth
        self.auths = {role: make_auth(user) for role, user in self.people.items()}

    def relogin(self, role: Role) -> None:
        from companion.core.extensions import limiter

        limiter.reset()  # fuzzing the login operation may have used up the attempts
        self.auths[role] = self.make_auth(self.people[role])


class _Captured(logging.Handler):
    """The app's error log: a 500's traceback frames, for the failure message."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def seeded(app: Any, world: Any, make_auth: Any, monkeypatch: pytest.MonkeyPatch) -> Seeded:
    from companion.meetings import sources as meetings

    # A generated feed URL must never reach the network.
    monkeypatch.setattr(meetings, "fetch_feed", lambda *a, **k: b"[]")
    return Seeded(app, world, make_auth)


@pytest.fixture
def server_errors() -> Iterator[_Captured]:
    handler = _Captured()
    logger = logging.getLogger("companion")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def check_response(status: int, media: str, problem: Any, where: Any) -> None:
    """No 5xx; every 4xx a problem document, and a 422 names its fields."""
    if callable(where):
        where = where()
    assert status < 500, where
    if 400 <= status < 500:
        assert media == PROBLEM, f"{where}: answered {media}"
        assert isinstance(problem, dict), where
        assert isinstance(problem.get("title"), str) and problem["title"], f"{where}: {problem}"
        assert problem.get("status") == status, f"{where}: {problem}"
        if status == 422:
            fields = [e.get("field") for e in problem.get("errors") or []]
            assert fields and all(isinstance(f, str) and f for f in fields), (
                f"{where}: {problem}")


def _strategy(operation: Any, ids: dict[str, Any]) -> Any:
    """Valid and invalid data; for operations with path parameters, also the seeded records."""
    strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
    if list(operation.path_parameters) or list(operation.query) or operation.body:
        strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))
    names = [p.name for p in operation.path_parameters]
    if names and all(name in ids for name in names):
        known = {name: ids[name] for name in names}
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known))
    return st.one_of(strategies)


def _conformance_applies(operation: Any, response: Any) -> bool:
    # GET /me/export?format=html answers text/html, and an operation documents one media type
    # (spec.Operation.content_type): its HTML answer is not checked against the JSON schema.
    media = response.headers.get("content-type", [""])[0]
    return not (operation.path == "/api/v1/me/export" and media.startswith("text/html"))


def _send_and_check(case: Any, role: Role, seeded: Seeded, errors: _Captured,
                    statuses: Counter[tuple[str, int]]) -> None:
    operation = case.operation
    # Logged in for real: drop the session cookie and CSRF header generated from the document's
    # security schemes (the client's cookie jar and headers() send the real ones).
    if case.cookies:
        case.cookies.pop("companion_session", None)
    if case.headers:
        case.headers.pop("X-CSRF-Token", None)
    auth = seeded.auths[role]
    response = case.call(app=seeded.app, session=auth.client, headers=auth.headers())
    status = response.status_code
    statuses[(operation.label, status)] += 1
    media = response.headers.get("content-type", [""])[0].split(";")[0]
    problem = response.json() if media == PROBLEM else None

    def where() -> str:
        return (f"{operation.label} as {role.value}: {status}\n{case.as_curl_command()}\n"
                + (errors.messages[-1][:1500] if status >= 500 and errors.messages else ""))

    check_response(status, media, problem, where)
    if 200 <= status < 300 and _conformance_applies(operation, response):
        case.validate_response(response, checks=[
            status_code_conformance, content_type_conformance, response_schema_conformance,
        ])
    if operation.path == "/api/v1/auth/logout" and status == 204:
        seeded.relogin(role)


@pytest.mark.slow
def test_every_operation_fuzzed_without_server_errors(seeded: Seeded,
                                                      server_errors: _Captured) -> None:
    assert len(OPERATIONS) > 50
    failures: list[str] = []
    statuses: Counter[tuple[str, int]] = Counter()

    for operation in OPERATIONS:
        # The role is drawn with the data: each role meets every operation, at a third of the
        # cost of sending every case three times.
        @given(case=_strategy(operation, seeded.ids), role=st.sampled_from(ROLES))
        @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=DERANDOMIZE,
                  database=None, suppress_health_check=list(HealthCheck),
                  phases=[Phase.explicit, Phase.generate, Phase.shrink])
        def run(case: Any, role: Role) -> None:
            _send_and_check(case, role, seeded, server_errors, statuses)

        try:
            run()
        except (AssertionError, BaseExceptionGroup) as error:
            # Every operation is reported, not only the first that fails.
            failures.append(f"{operation.label}: {error}")
    assert not failures, "\n\n".join(failures)

    # The run meant something: logged in (no operation refused everyone with 401), and most
    # operations answered 2xx at least once.
    for operation in OPERATIONS:
        seen = {s for (label, s) in statuses if label == operation.label}
        assert seen != {401}, f"{operation.label}: only 401s; the login did not hold"
    succeeded = {label for (label, s) in statuses if 200 <= s < 300}
    assert len(succeeded) > len(OPERATIONS) // 2, sorted(succeeded)


# Bodies that are not a JSON object: 415 for another media type, 400 for broken JSON, 422 (field
# "body") for JSON that is not an object. Never a 5xx, never a write.
NOT_AN_OBJECT = [
    ("text/plain", b"hello", {415}),
    ("application/x-www-form-urlencoded", b"a=1&b=2", {415}),
    (None, b"", {415}),
    ("application/json", b"", {400}),
    ("application/json", b"{not json", {400}),
    ("application/json", b'{"a": 1', {400}),
    ("application/json", b"\xff\xfe{}", {400}),
    ("application/json", b"null", {422}),
    ("application/json", b"[]", {422}),
    ("application/json", b'[{"a": 1}]', {422}),
    ("application/json", b'"a string"', {422}),
    ("application/json", b"42", {422}),
    ("application/json", b"true", {422}),
    ("application/json; charset=utf-8", b"[1, 2]", {422}),
    # Nested far deeper than any request: refused before it reaches a recursive check.
    ("application/json", b"[" * 1000 + b"]" * 1000, {422}),
    ("application/json", b'{"a":' * 1000 + b"1" + b"}" * 1000, {422}),
    ("application/json", b'{"a": ' + b"[" * 40 + b"]" * 40 + b"}", {422}),
]
BODY_OPERATIONS = [op for op in OPERATIONS if op.body and op.method.upper() in {"POST", "PUT"}]


def test_bodies_that_are_not_json_objects_get_a_problem(app: Any, world: Any,
                                                        make_auth: Any) -> None:
    from companion.core.models import AuditEvent

    assert len(BODY_OPERATIONS) > 15
    seeded = Seeded(app, world, make_auth)
    audit_rows = world.db.session.query(AuditEvent).count()
    for operation in BODY_OPERATIONS:
        path = operation.path.format(**{p.name: seeded.ids.get(p.name, 1)
                                        for p in operation.path_parameters})
        auth = seeded.auths[Role.ADMIN if "meeting-sources" in path else Role.CLIENT]
        for content_type, data, expected in NOT_AN_OBJECT:
            headers = auth.headers()
            if content_type:
                headers["Content-Type"] = content_type
            response = auth.client.open(path, method=operation.method.upper(), data=data,
                                        headers=headers)
            where = f"{operation.label} with {content_type} {data[:60]!r}"
            assert response.status_code in expected, f"{where}: {response.status_code}"
            check_response(response.status_code, response.mimetype, response.get_json(silent=True)
                           if response.mimetype == PROBLEM else None, where)
            if response.status_code == 422:
                assert [e["field"] for e in response.get_json()["errors"]] == ["body"], where
    # Nothing half-written: a refused body leaves no trace but the logins' audit rows.
    assert world.db.session.query(AuditEvent).count() == audit_rows



# --- odd inputs found by hand: each once answered a 500 or no ack at all ------------------


def test_a_second_factor_code_in_other_digits_is_an_ordinary_answer(app, world):
    """Arabic-Indic, fullwidth or superscript digits: the code they spell logs in, any other
    is a wrong code (401 otp_invalid), never a 500."""
    from companion.accounts import mfa
    from companion.core import clock
    from tests.conftest import PASSWORD, TOTP_SECRET

    staff = world.user(Role.COUNSELOR)
    wrong = f"{(int(mfa.code_for(TOTP_SECRET, mfa.step_at(clock.now()))) + 1) % 10**6:06d}"
    other_digits = [str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"),
                    str.maketrans("0123456789", "０１２３４５６７８９")]
    for otp in [wrong.translate(t) for t in other_digits] + ["¹²³⁴⁵⁶", "①②③④⑤⑥"]:
        response = app.test_client().post("/api/v1/auth/login", json={
            "email": staff.email, "password": PASSWORD, "otp": otp})
        check_response(response.status_code, response.mimetype, response.get_json(), otp)
        assert (response.status_code, response.get_json()["code"]) == (401, "otp_invalid"), otp
    right = mfa.code_for(TOTP_SECRET, mfa.step_at(clock.now())).translate(other_digits[0])
    assert app.test_client().post("/api/v1/auth/login", json={
        "email": staff.email, "password": PASSWORD, "otp": right}).status_code == 200


def _date_parameters(operation: Any) -> list[str]:
    """The query parameters of an operation that take a date (or a date and time)."""
    import json

    return [p.name for p in operation.query
            if '"format": "date' in json.dumps(p.definition.get("schema", p.definition))]


DATE_OPERATIONS = [(op, name) for op in OPERATIONS if op.method.upper() == "GET"
                   for name in _date_parameters(op)]


@pytest.mark.parametrize("far_day", ["9999-12-31", "0001-01-01", "9999-12-31T23:59:59+00:00"])
def test_days_out_of_range_in_a_query_name_the_parameter(app, world, make_auth, far_day):
    # ?from=9999-12-31 and ?week=9999-12-31 overflowed date arithmetic (a 500).
    assert {name for _, name in DATE_OPERATIONS} >= {"from", "to", "week"}
    seeded = Seeded(app, world, make_auth)
    for operation, name in DATE_OPERATIONS:
        if "T" in far_day and name == "week":
            continue  # a week is a day: a date and time is refused for its format anyway
        auth = seeded.auths[Role.ADMIN]
        required = {p.name: seeded.ids[p.name] for p in operation.query
                    if p.is_required and p.name != name}
        path = operation.path.format(**{p.name: seeded.ids.get(p.name, 1)
                                        for p in operation.path_parameters})
        response = auth.get(path, query_string={**required, name: far_day})
        where = f"{operation.label}?{name}={far_day}"
        check_response(response.status_code, response.mimetype, response.get_json(), where)
        assert response.status_code == 422, where
        assert [e["field"] for e in response.get_json()["errors"]] == [name], where


def test_a_database_pool_timeout_answers_503(app, world, make_auth, monkeypatch):
    """Every connection of the pool busy past its timeout: the 503 of an unreachable
    database (the client retries), not a 500; on a socket, the 'unavailable' ack."""
    from sqlalchemy.pool import QueuePool

    from companion.core.extensions import db, socketio

    counselor = world.user(Role.COUNSELOR)
    session_id = world.session(world.group(counselor, [])).id
    auth = make_auth(counselor)
    sio = socketio.test_client(app, flask_test_client=auth.client)
    engine = db.engine
    one = QueuePool(engine.pool._creator, pool_size=1, max_overflow=0, timeout=0.05)
    monkeypatch.setattr(engine, "pool", one)
    db.session.remove()
    held = engine.connect()  # the pool's only connection
    try:
        response = auth.get("/api/v1/sessions")
        assert response.status_code == 503 and response.mimetype == PROBLEM
        ack = _emit(sio, "join_session", {"session_id": session_id})
        assert ack["ok"] is False and ack["error"] == "unavailable"
        held.close()
        assert auth.get("/api/v1/sessions").status_code == 200
    finally:
        held.close()
        db.session.remove()
        one.dispose()  # its connections, before the original pool comes back


# A valid value for each field of a room event's payload; every event is sent with each of its
# integer fields past a row id (2**63): an error ack naming the field, never silence.
ROOM_EVENT_FIELDS: dict[str, Any] = {
    "id": "c-1", "text": "hi", "user_id": None, "what": "chat", "locked": True, "seq": 1,
    "emoji": "👍", "mood": 3, "craving": 2, "word": "", "last_seq": 0, "sdp": "v=0 offer",
    "type": "offer", "profile": "standard",
}


def test_room_events_with_numbers_past_a_row_id_get_an_error_ack(app, world, make_auth,
                                                                 monkeypatch):
    from companion.core.extensions import socketio
    from companion.rooms import connections

    # Some forty events in a row: the socket's rate limit has its own test (test_rooms.py).
    monkeypatch.setattr(connections.Connection, "take_token", lambda self: True)

    counselor = world.user(Role.COUNSELOR)
    session = world.session(world.group(counselor, []))
    auth = make_auth(counselor)
    sio = socketio.test_client(app, flask_test_client=auth.client)
    assert _emit(sio, "join_session", {"session_id": session.id})["ok"]
    from companion.rooms.payloads import PAYLOADS

    registered = {event for event in socketio.server.handlers["/"]}
    assert set(PAYLOADS) == registered - {"connect", "disconnect", "heartbeat"}
    for event, model in sorted(PAYLOADS.items()):
        valid = {"session_id": session.id} | {
            name: (counselor.id if name == "user_id" else ROOM_EVENT_FIELDS[name])
            for name in model.model_fields if name != "session_id"}
        properties = model.model_json_schema()["properties"]
        numbers = [name for name, schema in properties.items() if '"integer"' in str(schema)
                   or "'integer'" in str(schema)]
        assert "session_id" in numbers, event
        for name in numbers:
            ack = _emit(sio, event, valid | {name: 2**63})
            assert isinstance(ack, dict), f"{event} with {name}=2**63: no ack"
            assert (ack["ok"], ack["error"], ack.get("field")) == (False, "invalid", name), (
                event, name, ack)
    assert sio.is_connected()


def _emit(sio: Any, event: str, payload: Any) -> Any:
    """Emit in a fresh app context, as a server runs each event (tests/rooms/test_rooms.py)."""
    from companion.core.extensions import db

    db.session.commit()  # SQLite: the test's session lets go of the write lock
    with sio.app.app_context():
        return sio.emit(event, payload, callback=True)
