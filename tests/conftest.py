"""Fixtures: a migrated database (SQLite by default, PostgreSQL when DATABASE_URL is set),
an app and client per test, factories, and a live server for browser and socket tests."""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, inspect, text

from companion import create_app
from companion.accounts import services as accounts
from companion.accounts.models import Clinic, Role, User
from companion.clinic.models import (
    Enrollment,
    Group,
    GroupMember,
    GroupRole,
    GroupSchedule,
    Program,
    Session,
    SessionKind,
)
from companion.core import clock

PASSWORD = "correct horse battery"
# Every staff member World.user() makes has this second factor (TOTP); Auth.login types its
# current code for them, so tests of other things log staff in as before.
TOTP_SECRET = "TESTSTAFFTOTPSECRETTESTSTAFFTOTP"
AUDIT_KEY = "test-audit-key-test-audit-key-test-audit-key"
# argon2id at full cost is 50-450 ms per login on a busy 2-core box, and the suite logs in
# hundreds of times: tests use the same algorithm with the smallest parameters.
accounts.use_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
_HASH_CACHE: dict[str, str] = {}


# With pytest-xdist (`-n 2`, the Makefile's), each worker has its own PostgreSQL database and
# Redis database number, so two workers never empty each other's tables or share media-room pins.
# Browser tests run in one process of their own (the Makefile's second pytest).
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def _per_worker_redis() -> None:
    url = os.environ.get("REDIS_URL")
    if WORKER and url:
        number = 1 + int(WORKER.removeprefix("gw") or 0)
        os.environ["REDIS_URL"] = f"{url.rsplit('/', 1)[0]}/{number}"


_per_worker_redis()


def _pg_url() -> str | None:
    url = os.environ.get("DATABASE_URL")
    if not url or not url.startswith("postgres"):
        return None
    if not WORKER:
        return url
    import psycopg

    base = url.replace("postgresql+psycopg://", "postgresql://", 1)
    name = f"{base.rsplit('/', 1)[1]}_{WORKER}"
    with psycopg.connect(base, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base.rsplit('/', 1)[0]}/{name}"


def _reset_postgres(url: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One migrated database for the session; every test starts with its tables empty."""
    url = _pg_url()
    if url:
        _reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    app = create_app(_test_config(url, tmp_path_factory.mktemp("instance")))
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
        from companion.core.extensions import db

        db.engine.dispose()
    return url


def _test_config(url: str, instance: Path) -> dict[str, Any]:
    return {
        "DATABASE_URL": url,
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": "test-secret",
        # One audit key for every app of the run, so the command line and the test's app agree.
        "AUDIT_KEY": AUDIT_KEY,
        "ASYNC_MODE": "threading",
        "REDIS_URL": None,
        "TESTING": True,
        "CHECK_RESPONSES": True,  # every answer held to the OpenAPI document (core/spec.py)
        # Tests run the socket enforcer's passes themselves (enforcer.enforce_once).
        "REALTIME_ENFORCER": False,
    }


def _empty_tables(app: Flask) -> None:
    from companion.core.extensions import db

    with app.app_context():
        engine = db.engine
        tables = [t for t in reversed(db.metadata.sorted_tables)]
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                # TRUNCATE does not fire the audit log's row triggers; tests need a clean slate.
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                triggers = conn.execute(
                    text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
                ).all()
                for name, _ in triggers:
                    conn.execute(text(f'DROP TRIGGER "{name}"'))
                existing = set(inspect(conn).get_table_names())
                for table in tables:
                    if table.name in existing:
                        conn.execute(table.delete())
                for _, sql in triggers:
                    conn.execute(text(sql))


class RequestContextClient(FlaskClient):
    """Each request runs in its own app context, as in a server: fresh ``g``, its own DB session.

    The test body's session is committed first, so it holds no transaction (and on SQLite no
    write lock) while the request runs; its objects reload afterwards.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        from companion.core.extensions import db

        db.session.commit()
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(autouse=True)
def no_event_lost(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every event a test's code published was sent with its commit or dropped by a rollback:
    none was left in a transaction that ended without either, nor failed to go out
    (core/events.py logs both). Set up first, so it looks after the app's teardown too."""
    yield
    logged = [r.getMessage() for when in ("setup", "call", "teardown")
              for r in caplog.get_records(when)
              if r.name == "companion.core.events" and r.levelno >= logging.ERROR]
    assert logged == [], logged


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(_test_config(database_url, tmp_path / "instance"))
    app.test_client_class = RequestContextClient
    _empty_tables(app)
    from companion.core.extensions import db, limiter
    from companion.rooms import connections

    limiter.reset()
    clock.reset()
    connections.forget_all()
    with app.app_context():
        yield app
        # A room join's replay runs on its own thread, as on a server: let any still running
        # finish before the engine goes, or its connection outlives the pool. The test's own
        # session lets go first: on SQLite its open transaction holds the write lock the
        # replay waits for.
        db.session.remove()
        for thread in threading.enumerate():
            if thread.name.endswith("(_replay)"):
                thread.join(timeout=5)
        db.session.remove()
        db.engine.dispose()
    clock.reset()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class Auth:
    """Logs a test client in and remembers the CSRF token for later writes."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.csrf: str | None = None

    def login(self, user_or_email: User | str, password: str = PASSWORD,
              otp: str | None = None) -> Any:
        email = user_or_email if isinstance(user_or_email, str) else user_or_email.email
        body = {"email": email, "password": password}
        otp = otp if otp is not None else staff_code(email)
        if otp is not None:
            body["otp"] = otp
        response = self.client.post("/api/v1/auth/login", json=body)
        if response.status_code == 200:
            self.csrf = response.get_json()["csrf_token"]
        return response

    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf or ""}

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.post(path, json=json, headers=self.headers(), **kw)

    def put(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.put(path, json=json, headers=self.headers(), **kw)

    def patch(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.patch(path, json=json, headers=self.headers(), **kw)

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, **kw)


def staff_code(email: str) -> str | None:
    """A code that logs this staff member in now (None for clients, family, the unknown).

    The server refuses a code of a step it saw used (replays): this takes the first step of the
    accepted window (the one before now, now, the next) not used yet.
    """
    from sqlalchemy import select, update

    from companion.accounts import mfa
    from companion.core.extensions import db

    email = accounts.normalise_email(email)
    row = db.session.execute(
        select(User.role, User.totp_secret, User.totp_last_step).where(User.email == email)
    ).first()
    secret = mfa.unseal(row.totp_secret) if row is not None else None
    if row is None or secret is None or not mfa.required_for(row.role):
        return None
    now = clock.now().timestamp()
    step = int(now) // mfa.STEP_SECONDS
    # The step before only when the request cannot land two steps later.
    first = step - 1 if now % mfa.STEP_SECONDS < mfa.STEP_SECONDS - 5 else step
    for candidate in range(first, step + mfa.WINDOW + 1):
        if row.totp_last_step is None or candidate > row.totp_last_step:
            return mfa.code_for(secret, candidate)
    # A test that logs one person in more often than that: the replay rule has its own tests.
    db.session.execute(update(User).where(User.email == email).values(totp_last_step=None))
    db.session.commit()
    return mfa.code_for(secret, step)


def invitation_code(client: FlaskClient, token: str) -> str:
    """The code a staff invitee's authenticator app shows now, from the invitation page."""
    from companion.accounts import mfa

    preview = client.post("/api/v1/invitations/preview", json={"token": token}).get_json()
    return mfa.code_for(preview["mfa"]["secret"], mfa.step_at(clock.now()))


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    return Auth(client)


@pytest.fixture
def make_auth(app: Flask) -> Any:
    """A fresh client logged in as ``user`` (several people in one test)."""

    def make(user: User) -> Auth:
        a = Auth(app.test_client())
        assert a.login(user).status_code == 200
        return a

    return make


class World:
    """Factories for the records most tests need."""

    def __init__(self) -> None:
        from companion.core.extensions import db

        self.db = db
        self.clinic = Clinic(name="Test Clinic")
        self.program = Program(clinic=self.clinic, name="Test IOP", timezone="America/Chicago")
        db.session.add_all([self.clinic, self.program])
        db.session.commit()

    def user(self, role: Role | str = Role.CLIENT, name: str | None = None, **kw: Any) -> User:
        role = Role(role)
        if PASSWORD not in _HASH_CACHE:
            _HASH_CACHE[PASSWORD] = accounts.hash_password(PASSWORD)
        email = kw.pop("email", f"{role.value}-{uuid.uuid4().hex[:8]}@example.test")
        clinic_id = kw.pop("clinic_id", self.clinic.id)
        from companion.accounts import mfa

        if mfa.required_for(role):
            kw.setdefault("totp_secret", mfa.seal(TOTP_SECRET))
        user = User(
            clinic_id=clinic_id, email=email, display_name=name or role.value.title(), role=role,
            password_hash=_HASH_CACHE[PASSWORD], timezone=self.program.timezone, **kw,
        )
        self.db.session.add(user)
        self.db.session.flush()
        if role == Role.CLIENT:
            self.db.session.add(
                Enrollment(client_id=user.id, program_id=self.program.id,
                           start_date=clock.now().date())
            )
        self.db.session.commit()
        return user

    def group(self, counselor: User, clients: list[User], peers: list[User] | None = None,
              name: str = "Test Group") -> Group:
        group = Group(program=self.program, name=name, counselor_id=counselor.id)
        group.members.extend(GroupMember(user_id=c.id, role=GroupRole.CLIENT) for c in clients)
        group.members.extend(
            GroupMember(user_id=p.id, role=GroupRole.PEER_SUPPORTER) for p in peers or []
        )
        group.schedule.append(GroupSchedule(weekday=0, start_time=time(18), duration_minutes=180))
        self.db.session.add(group)
        self.db.session.commit()
        return group

    def session(self, group: Group | None = None, counselor: User | None = None,
                client: User | None = None, starts_in: timedelta = timedelta(0),
                length: timedelta = timedelta(hours=2)) -> Session:
        start: datetime = clock.now() + starts_in
        session = Session(
            program_id=self.program.id,
            kind=SessionKind.GROUP if group else SessionKind.INDIVIDUAL,
            group_id=group.id if group else None,
            counselor_id=(counselor or (group.counselor if group else None)).id,  # type: ignore[union-attr]
            client_id=client.id if client else None,
            title=group.name if group else "1:1",
            starts_at=start, ends_at=start + length,
        )
        self.db.session.add(session)
        self.db.session.commit()
        return session


@pytest.fixture
def world(app: Flask) -> World:
    return World()
