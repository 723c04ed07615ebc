"""The audit log: a chain of keyed MACs the database will not let anyone edit, with signed
checkpoints of its head kept outside the database, so that neither an edited row, nor a chain
recomputed without the key, nor a cut tail verifies."""

from __future__ import annotations

import contextlib
import hashlib
import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from companion.accounts.models import Role
from companion.core import audit
from companion.core.models import AuditEvent
from tests.conftest import AUDIT_KEY


def _rows(world):
    return world.db.session.query(AuditEvent).order_by(AuditEvent.id).all()


@contextlib.contextmanager
def _raw_access(session) -> Iterator[None]:
    """What someone with raw database access does first: get past the append-only triggers.
    They are put back afterwards, so later tests find them."""
    session.commit()
    postgres = session.get_bind().dialect.name == "postgresql"
    triggers = []
    if postgres:
        session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_change"))
    else:
        triggers = session.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
            "AND tbl_name = 'audit_event'")).all()
        for name, _ in triggers:
            session.execute(text(f'DROP TRIGGER "{name}"'))
    try:
        yield
        session.commit()
    finally:
        session.rollback()
        if postgres:
            session.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_change"))
        else:
            for _, sql in triggers:
                session.execute(text(sql))
        session.commit()


def _unkeyed_hash(prev: str, row: AuditEvent) -> str:
    """The chain as it was: SHA-256 without a key, which anyone can recompute."""
    fields = {"at": row.at.isoformat(), "actor_id": row.actor_id, "action": row.action,
              "record_type": row.record_type, "record_id": row.record_id,
              "subject_id": row.subject_id, "channel": row.channel, "ip": row.ip}
    payload = prev + json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def _cli_env(app) -> dict[str, str]:
    """The command line on the same database, instance folder and key as the test's app."""
    return {"DATABASE_URL": app.config["DATABASE_URL"],
            "COMPANION_INSTANCE_PATH": app.config["INSTANCE_PATH"],
            "COMPANION_AUDIT_KEY": AUDIT_KEY, "SECRET_KEY": "test-secret",
            "COMPANION_ASYNC_MODE": "threading"}


def _cli(app, *args: str, env: dict[str, str] | None = None):
    from companion.cli import main
    from companion.core.extensions import db

    db.session.commit()  # the test's session holds no lock while the command runs
    app_env = _cli_env(app) | (env or {})
    return CliRunner().invoke(main, ["audit", *args], env=app_env)


def _log_with_rows(world, auth, logins: int = 4) -> list[AuditEvent]:
    user = world.user()
    for _ in range(logins):
        auth.login(user)
    world.db.session.commit()
    return _rows(world)


# --- the chain -------------------------------------------------------------------------------


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
    # The MAC is keyed: the plain SHA-256 of the row is not it.
    assert rows[0].hash != _unkeyed_hash(audit.GENESIS_HASH, rows[0])
    result = audit.verify()
    assert result.intact and result.rows == 2 and result.problem is None


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
    assert audit.verify().intact


def test_verification_finds_a_tampered_row(world, auth):
    rows = _log_with_rows(world, auth, 3)
    assert audit.verify().intact
    with _raw_access(world.db.session):
        world.db.session.execute(
            text(f"UPDATE audit_event SET record_id = '999' WHERE id = {rows[1].id}"))
    result = audit.verify()
    assert not result.intact and result.bad_id == rows[1].id
    assert f"Row {rows[1].id}" in result.problem


def test_concurrent_appends_keep_one_chain(app, world):
    import threading

    users = [world.user() for _ in range(4)]
    errors = []

    def worker(user_id):
        try:
            with app.app_context():
                from companion.accounts.models import User
                from companion.core.extensions import db

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
    assert audit.verify().intact


# --- `companion audit verify` -----------------------------------------------------------------


def test_an_intact_log_verifies_and_records_a_checkpoint(app, world, auth):
    rows = _log_with_rows(world, auth)
    result = _cli(app, "verify")
    assert result.exit_code == 0, result.output
    assert "intact" in result.output and f"{len(rows)} rows" in result.output
    checkpoints = Path(app.config["INSTANCE_PATH"]) / "audit_checkpoints"
    assert stat.S_IMODE(checkpoints.stat().st_mode) == 0o600
    assert f"rows={len(rows)} mac={rows[-1].hash}" in checkpoints.read_text()
    again = _cli(app, "verify")
    assert again.exit_code == 0 and "1 checkpoint" in again.output


def test_a_cut_tail_fails_verification(app, world, auth):
    rows = _log_with_rows(world, auth)
    assert _cli(app, "verify").exit_code == 0  # a checkpoint of 4 rows, outside the database
    with _raw_access(world.db.session):
        world.db.session.execute(text(f"DELETE FROM audit_event WHERE id >= {rows[-2].id}"))
    assert audit.verify(use_checkpoints=False).intact  # the chain alone cannot tell
    result = _cli(app, "verify")
    assert result.exit_code == 1
    assert "2 rows" in result.output and "recorded 4" in result.output
    assert "removed from its end" in result.output
    assert "Traceback" not in result.output


def test_a_chain_recomputed_without_the_key_fails_verification(app, world, auth):
    rows = _log_with_rows(world, auth)
    with _raw_access(world.db.session):
        # Edit a row, then recompute every hash from it onwards, as one could before.
        prev = rows[0].hash
        for i, row in enumerate(rows[1:], start=1):
            if i == 1:
                row.record_id = "999"
            row.prev_hash = prev
            row.hash = prev = _unkeyed_hash(prev, row)
    result = _cli(app, "verify")
    assert result.exit_code == 1
    assert f"Row {rows[1].id}" in result.output and "without the key" in result.output


def test_a_chain_recomputed_with_another_key_fails_verification(app, world, auth):
    _log_with_rows(world, auth)
    other = _cli(app, "verify", env={"COMPANION_AUDIT_KEY": "another-installation-key-" * 2})
    assert other.exit_code == 1 and "Row " in other.output


def test_an_edited_checkpoint_file_fails_verification(app, world, auth):
    rows = _log_with_rows(world, auth)
    assert _cli(app, "verify").exit_code == 0
    checkpoints = Path(app.config["INSTANCE_PATH"]) / "audit_checkpoints"
    # Lowering the recorded count to hide a cut tail breaks the checkpoint's signature.
    checkpoints.write_text(checkpoints.read_text().replace(f"rows={len(rows)}", "rows=2"))
    result = _cli(app, "verify")
    assert result.exit_code == 1 and "Line 1 of" in result.output
    assert "not a checkpoint signed with this installation's audit key" in result.output


# --- `companion audit head` --------------------------------------------------------------------


def test_audit_head_round_trips(app, world, auth):
    rows = _log_with_rows(world, auth)
    printed = _cli(app, "head")
    assert printed.exit_code == 0, printed.output
    head = printed.output.strip()
    assert head.startswith("audit-head/v1 ") and f"rows={len(rows)}" in head
    parsed = audit.parse_head(head)
    assert (parsed.rows, parsed.mac, str(parsed)) == (len(rows), rows[-1].hash, head)
    # The operator keeps it elsewhere; later the log grows, and still holds that head.
    auth.login(world.user())
    world.db.session.commit()
    checked = _cli(app, "verify", "--head", head)
    assert checked.exit_code == 0, checked.output
    assert "the head you gave" in checked.output


def test_a_head_from_before_a_cut_fails_verification_even_without_checkpoints(app, world, auth):
    rows = _log_with_rows(world, auth)
    head = _cli(app, "head").output.strip()
    (Path(app.config["INSTANCE_PATH"]) / "audit_checkpoints").unlink()  # lost with the server
    with _raw_access(world.db.session):
        world.db.session.execute(text(f"DELETE FROM audit_event WHERE id = {rows[-1].id}"))
    result = _cli(app, "verify", "--head", head)
    assert result.exit_code == 1
    assert "the head you gave" in result.output and "removed from its end" in result.output


def test_a_forged_or_mangled_head_is_refused(app, world, auth):
    rows = _log_with_rows(world, auth)
    head = _cli(app, "head").output.strip()
    forged = head.replace(f"rows={len(rows)}", "rows=1")
    result = _cli(app, "verify", "--head", forged)
    assert result.exit_code == 1
    assert "not signed with this installation's audit key" in result.output
    mangled = _cli(app, "verify", "--head", "rows=4 whatever")
    assert mangled.exit_code == 2 and "companion audit head" in mangled.output
    assert "Traceback" not in mangled.output


# --- the key and the periodic checkpoint -------------------------------------------------------


def test_the_key_is_generated_into_the_instance_folder(tmp_path, database_url, monkeypatch):
    from companion.core.config import load_config

    monkeypatch.delenv("COMPANION_AUDIT_KEY", raising=False)

    config = load_config({"DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path),
                          "SECRET_KEY": "s"})
    key_file = tmp_path / "audit_key"
    assert config["AUDIT_KEY"] == key_file.read_text().strip()
    assert len(config["AUDIT_KEY"]) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = load_config({"DATABASE_URL": database_url, "INSTANCE_PATH": str(tmp_path),
                         "SECRET_KEY": "s"})
    assert again["AUDIT_KEY"] == config["AUDIT_KEY"]


def test_the_key_is_required_in_production_and_must_be_long(tmp_path, monkeypatch):
    from companion.core.config import ConfigError, load_config

    base = {"DATABASE_URL": "sqlite://", "INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "s"}
    monkeypatch.delenv("COMPANION_AUDIT_KEY", raising=False)
    with pytest.raises(ConfigError, match="COMPANION_AUDIT_KEY"):
        load_config({**base, "ENV": "production"})
    monkeypatch.setenv("COMPANION_AUDIT_KEY", "short")
    with pytest.raises(ConfigError, match="at least 32 characters"):
        load_config(base)


def test_the_server_checkpoints_the_head_when_it_moved(app, world, auth):
    from companion import jobs

    rows = _log_with_rows(world, auth)
    checkpoint_job = next(job for _, job in jobs.JOBS if job.__name__ == "_checkpoint_audit")
    checkpoint_job()
    checkpoint_job()  # nothing new: no second line
    lines = (Path(app.config["INSTANCE_PATH"]) / "audit_checkpoints").read_text().splitlines()
    assert len(lines) == 1 and f"rows={len(rows)}" in lines[0]


# --- the migration that keys the chain ---------------------------------------------------------


def _unkeyed_log(db, count: int) -> list[AuditEvent]:
    from datetime import UTC, datetime, timedelta

    prev, rows = audit.GENESIS_HASH, []
    for i in range(count):
        row = AuditEvent(at=datetime(2026, 1, 5, 10, 0, tzinfo=UTC) + timedelta(minutes=i),
                         action="read", record_type="checkin", record_id=str(i),
                         channel="http", ip="127.0.0.1", prev_hash=prev)
        row.hash = prev = _unkeyed_hash(prev, row)
        db.session.add(row)
        rows.append(row)
    db.session.commit()
    return rows


def test_migration_reseals_an_unkeyed_log_and_back(tmp_path):
    from flask_migrate import downgrade, upgrade

    from companion import create_app
    from companion.core.extensions import db
    from tests.browser.conftest import fresh_database
    from tests.conftest import _test_config

    url = fresh_database(tmp_path, "companion_audit_migration")
    app = create_app(_test_config(url, tmp_path / "instance"))
    with app.app_context():
        upgrade(revision="0009_staff_mfa")
        before = [(r.id, r.hash) for r in _unkeyed_log(db, 3)]
        db.session.remove()
        upgrade()
        result = audit.verify()
        assert result.intact and result.rows == 3, result.problem
        after = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [r.id for r in after] == [i for i, _ in before]
        assert all(r.hash != h for r, (_, h) in zip(after, before, strict=True))
        db.session.remove()
        with pytest.raises(DBAPIError, match="append-only"):  # still append-only
            db.session.execute(text("UPDATE audit_event SET action = 'x'"))
        db.session.rollback()
        downgrade(revision="0009_staff_mfa")
        assert [(r.id, r.hash) for r in db.session.scalars(
            db.select(AuditEvent).order_by(AuditEvent.id))] == before
        db.session.remove()
        upgrade()
        db.session.remove()
        db.engine.dispose()


def test_migration_refuses_to_reseal_a_broken_log(tmp_path):
    from alembic import command
    from flask_migrate import upgrade

    from companion import create_app
    from companion.core.extensions import db
    from tests.browser.conftest import fresh_database
    from tests.conftest import _test_config

    url = fresh_database(tmp_path, "companion_audit_migration_broken")
    app = create_app(_test_config(url, tmp_path / "instance"))
    with app.app_context():
        upgrade(revision="0009_staff_mfa")
        ids = [r.id for r in _unkeyed_log(db, 3)]
        with _raw_access(db.session):
            db.session.execute(
                text(f"UPDATE audit_event SET record_id = '999' WHERE id = {ids[1]}"))
        db.session.remove()
        config = app.extensions["migrate"].migrate.get_config()
        with pytest.raises(RuntimeError, match=f"chain is already broken at row {ids[1]}"):
            command.upgrade(config, "head")  # what `companion db upgrade` runs
        db.session.remove()
        version = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert version == "0009_staff_mfa"
        db.session.remove()
        db.engine.dispose()
