"""Engine behaviour that must hold on every database Companion runs on."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine


def configure_engine_events(app: Flask) -> None:
    """On SQLite: WAL, foreign keys, and write transactions that take the lock up front."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from companion.core.extensions import db

    with app.app_context():
        engine = db.engine
    _configure_sqlite(engine)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # With WAL, NORMAL syncs at checkpoints rather than at every commit: a crash of the
        # process loses nothing; a power cut may lose the last moments of commits. One fsync
        # per chat message was most of a busy room's cost (docs/benchmarks.md). Deployments
        # that need every commit on disk run PostgreSQL.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # BEGIN IMMEDIATE: two writers never both read then fail to upgrade their lock;
        # the audit chain and idempotent inserts rely on writes being serialised.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
