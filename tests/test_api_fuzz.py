"""Fuzzing every operation of the OpenAPI document with schemathesis (SECURITY.md, input).

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

from companion.api.spec import registry
from companion.models import Role
from tests import care_factories, selfcare_factories
from tests.meeting_factories import _source

# CI's budget; FUZZ_MAX_EXAMPLES=200 for a deeper local run (FUZZ_RANDOM=1: a new seed each run).
MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "20"))
DERANDOMIZE = not os.environ.get("FUZZ_RANDOM")
ROLES = (Role.CLIENT, Role.COUNSELOR, Role.ADMIN)
PROBLEM = "application/problem+json"


def _document() -> dict[str, Any]:
    import companion.api  # noqa: F401 - the views register themselves on import

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
        # Path parameters by name: a third of the generated cases use these records.
        self.ids: dict[str, Any] = {
            "alert_id": alert.id, "client_id": client.id, "meeting_id": meeting_id,
            "consent_id": consent.id, "entry_id": checkin.id, "source_id": source_id,
            "program_id": world.program.id, "assignment_id": assignment.id,
            "session_id": session.id, "code": "what_is_sud", "category": "enrollment",
        }
        self.make_auth = make_auth
        self.auths = {role: make_auth(user) for role, user in self.people.items()}

    def relogin(self, role: Role) -> None:
        from companion.extensions import limiter

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
    from companion.services import meetings

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
]
BODY_OPERATIONS = [op for op in OPERATIONS if op.body and op.method.upper() in {"POST", "PUT"}]


def test_bodies_that_are_not_json_objects_get_a_problem(app: Any, world: Any,
                                                        make_auth: Any) -> None:
    from companion.models import AuditEvent

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
            where = f"{operation.label} with {content_type} {data!r}"
            assert response.status_code in expected, f"{where}: {response.status_code}"
            check_response(response.status_code, response.mimetype, response.get_json(silent=True)
                           if response.mimetype == PROBLEM else None, where)
            if response.status_code == 422:
                assert [e["field"] for e in response.get_json()["errors"]] == ["body"], where
    # Nothing half-written: a refused body leaves no trace but the logins' audit rows.
    assert world.db.session.query(AuditEvent).count() == audit_rows
