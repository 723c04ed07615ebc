"""Seed a fresh product database with the bench clinic (run with the product's venv).

ROOMS group sessions in progress, CLIENTS clients spread over them, every client already
admitted to its room (a RoomParticipant row), so the bench measures chat, not the waiting room.
Writes the users file the load generator reads: [{email, session_id, user_id, cookie?}].

The password is hashed ONCE and that hash is given to every bench user: argon2 per user would
take minutes. Users from index --http-logins on get a login minted here: a login session opened
through the product's own service and the cookie signed with the app's own session serializer
(the cookie POST /api/v1/auth/login sets). login.js logs the others in over HTTP: each HTTP login
costs one argon2 check on the server (0.1-0.3 s of CPU, one at a time under gevent), so 600 of
them take 2 to 7 minutes on a shared 2-core box.

Usage: seed.py OUT.json --clients 600 --rooms 50 [--http-logins N] [--reset-postgres]
       DATABASE_URL=... seed.py - --drop-postgres
Configuration comes from the environment like `companion serve` (DATABASE_URL,
COMPANION_INSTANCE_PATH).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BENCH_PASSWORD = "bench-realtime-password"  # noqa: S105 - a throwaway bench database
BENCH_DB = "bench_realtime"


def reset_postgres(url: str, create: bool = True) -> None:
    """Drop (and create) the bench's own database on the server DATABASE_URL names."""
    import psycopg

    parts = urlsplit(url)
    if parts.path.strip("/") != BENCH_DB:
        sys.exit(f"refusing: the bench only resets its own database {BENCH_DB!r}")
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        if create:
            conn.execute(f"CREATE DATABASE {BENCH_DB}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--clients", type=int, default=600)
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--http-logins", type=int, default=None,
                        help="log in only the first N users over HTTP (default: all)")
    parser.add_argument("--reset-postgres", action="store_true")
    parser.add_argument("--drop-postgres", action="store_true", help="drop it and stop")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if args.reset_postgres or args.drop_postgres:
        reset_postgres(url, create=not args.drop_postgres)
    if args.drop_postgres:
        return

    from flask_migrate import upgrade

    from companion import create_app
    from companion.accounts import services as accounts
    from companion.accounts.models import Clinic, Role, User
    from companion.clinic.models import Group, GroupMember, GroupRole, Program, Session, SessionKind
    from companion.core import clock
    from companion.core.extensions import db
    from companion.rooms.models import ParticipantState, RoomParticipant

    app = create_app()
    with app.app_context():
        upgrade()
        if db.session.scalar(db.select(Clinic.id).limit(1)) is not None:
            sys.exit("refusing: the bench database is not empty")
        now = clock.now().replace(microsecond=0)
        clinic = Clinic(name="Bench Clinic")
        program = Program(clinic=clinic, name="Bench IOP", timezone="America/Chicago")
        db.session.add_all([clinic, program])
        db.session.flush()
        password_hash = accounts.hash_password(BENCH_PASSWORD)

        def user(email: str, name: str, role: Role) -> User:
            return User(clinic_id=clinic.id, email=email, display_name=name, role=role,
                        password_hash=password_hash, timezone=program.timezone)

        counselor = user("counselor@bench.test", "Bench counselor", Role.COUNSELOR)
        clients = [user(f"client{i}@bench.test", f"Client {i}", Role.CLIENT)
                   for i in range(args.clients)]
        db.session.add_all([counselor, *clients])
        db.session.flush()

        sessions = []
        for r in range(args.rooms):
            group = Group(program_id=program.id, name=f"Bench group {r}",
                          counselor_id=counselor.id)
            db.session.add(group)
            db.session.flush()
            sessions.append(Session(
                program_id=program.id, kind=SessionKind.GROUP, group_id=group.id,
                counselor_id=counselor.id, title=group.name,
                starts_at=now - timedelta(minutes=5), ends_at=now + timedelta(hours=3),
            ))
        db.session.add_all(sessions)
        db.session.flush()

        rows = []
        for i, client in enumerate(clients):
            room = sessions[i % args.rooms]
            assert room.group_id is not None
            db.session.add(GroupMember(group_id=room.group_id, user_id=client.id,
                                       role=GroupRole.CLIENT))
            db.session.add(RoomParticipant(session_id=room.id, user_id=client.id,
                                           state=ParticipantState.ADMITTED, knocked_at=now,
                                           admitted_at=now))
            rows.append({"email": client.email, "session_id": room.id, "user_id": client.id})
        db.session.commit()

        minted = 0
        if args.http_logins is not None:
            serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
            assert serializer is not None
            for row, client in list(zip(rows, clients, strict=True))[args.http_logins:]:
                minted += 1
                login = accounts.start_login_session(client, "127.0.0.1")
                cookie = serializer.dumps({"login": login.id})
                row["cookie"] = f"{app.config['SESSION_COOKIE_NAME']}={cookie}"

    args.out.write_text(json.dumps({"password": BENCH_PASSWORD, "users": rows}))
    print(f"seeded {len(clients)} clients in {len(sessions)} rooms ({minted} logins minted)",
          file=sys.stderr)


if __name__ == "__main__":
    main()
