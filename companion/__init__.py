"""Companion: a telehealth companion for Intensive Outpatient Programs."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

from flask import Flask

from companion.core.config import WEBUI_PATH, load_config

# Each domain's HTTP routes and Socket.IO handlers register themselves when imported; the app
# imports them all here, and nothing else needs to know the list.
DOMAIN_ENTRY_POINTS = (
    "companion.core.health_views",
    "companion.accounts.views",
    "companion.clinic.caseload_views",
    "companion.clinic.invitation_views",
    "companion.clinic.program_views",
    "companion.clinic.group_views",
    "companion.clinic.enrollment_views",
    "companion.clinic.session_views",
    "companion.rooms.attendance_views",
    "companion.rooms.sockets",
    "companion.rooms.signaling",
    "companion.rooms.subscribers",
    "companion.alerts.views",
    "companion.measures.views",
    "companion.notes.views",
    "companion.selfcare.views",
    # In this order: routes sharing a path (GET and POST /meetings) keep their order in the
    # OpenAPI document.
    "companion.meetings.directory_views",
    "companion.meetings.source_views",
    "companion.meetings.client_meeting_views",
    "companion.meetings.calendar_feed_views",
    "companion.careteam.views",
    "companion.overview.views",
    "companion.notifications.views",
    "companion.notifications.subscribers",
    "companion.dialin.views",
    "companion.dialin.subscribers",
)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app: configuration, extensions, blueprints. Nothing else happens here."""
    from companion.core.transport import (
        SocketAwareFlask,
        SocketAwareSessionInterface,
        without_websocket_compression,
    )

    settings = load_config(config)
    app = SocketAwareFlask(
        __name__,
        instance_path=settings["INSTANCE_PATH"],
        static_folder=None,
        template_folder=str(WEBUI_PATH),
    )
    app.config.update(settings)
    from companion.core.inputs import RequestJSONProvider

    app.json = RequestJSONProvider(app)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=settings["DATABASE_URL"],
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings["DATABASE_URL"], settings["ASYNC_MODE"]),
        SESSION_COOKIE_NAME="companion_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings["HTTPS"],
        REMEMBER_COOKIE_DURATION=0,
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=1024 * 1024,
        RATELIMIT_STORAGE_URI=settings["REDIS_URL"] or "memory://",
        RATELIMIT_HEADERS_ENABLED=True,
        # Redis down must not lock everyone out (login is rate-limited): each process counts
        # in memory until it is back (per process, so the limits are looser meanwhile), and a
        # cut-off Redis answers within 2 s rather than hanging the request.
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_STORAGE_OPTIONS={"socket_connect_timeout": 2, "socket_timeout": 2}
        if settings["REDIS_URL"] else {},
        # The shell and its assets are compressed for rural links (about a third of their
        # size). API JSON is not: responses that carry secrets (the CSRF token) and echo user
        # input must not be compressed together (BREACH).
        COMPRESS_MIMETYPES=["text/html", "text/css", "text/javascript", "application/javascript",
                            "image/svg+xml", "application/manifest+json"],
        COMPRESS_ALGORITHM=["gzip"],
        COMPRESS_LEVEL=9,
    )
    logging.getLogger("companion").setLevel(logging.INFO)

    from companion.accounts import security
    from companion.core import database
    from companion.core.extensions import compress, db, limiter, migrate, socketio
    from companion.core.http import api as api_blueprint
    from companion.core.web import web

    db.init_app(app)
    database.configure_engine_events(app)
    migrate.init_app(
        app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"),
        render_as_batch=True,
    )
    limiter.init_app(app)
    compress.init_app(app)
    security.init_app(app)
    # Flask-SocketIO keeps options from an earlier init_app (a message queue's client manager
    # among them); an app without REDIS_URL must not inherit one from another app made in the
    # same process (tests, CLI commands).
    importlib.import_module("companion.all_models")  # every table in one metadata (Alembic)
    # Before socketio.init_app: an event handler a module registers while a server exists goes
    # to that server alone, and an app built later in the same process (tests, CLI commands)
    # would lack it. Registered before any server, it is in the list every init_app applies.
    for entry_point in DOMAIN_ENTRY_POINTS:
        importlib.import_module(entry_point)
    socketio.server_options.pop("client_manager", None)
    queue: dict[str, Any] = {}
    if settings["REDIS_URL"]:
        from companion.rooms.message_queue import MessageQueue, queue_channel

        # Says when Redis is cut off and makes the rooms catch up when it is back; on the
        # channel Flask-SocketIO's own Redis queue uses, so processes of any release agree.
        queue["client_manager"] = MessageQueue(settings["REDIS_URL"], app,
                                               channel=queue_channel(settings["REDIS_URL"]))
    socketio.init_app(
        app,
        **queue,
        async_mode=settings["ASYNC_MODE"],
        message_queue=settings["REDIS_URL"],
        cors_allowed_origins=settings["ALLOWED_ORIGINS"] or None,
        logger=False,
        engineio_logger=False,
        # Each socket's events run in its own reader, in the order sent, instead of a new
        # greenlet per event: a client's messages are stored in its order, and the spawn was
        # a twentieth of the server's CPU at the clinic peak (docs/benchmarks.md).
        async_handlers=False,
    )
    app.session_interface = SocketAwareSessionInterface()
    if not settings["WEBSOCKET_COMPRESSION"]:
        app.wsgi_app = without_websocket_compression(app.wsgi_app)  # type: ignore[method-assign,assignment]
    if settings["PROXY_HOPS"] > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Outermost, so that rate limits, audit rows and Socket.IO all see the client's own
        # address (and scheme), taken only from the hops this deployment trusts.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings["PROXY_HOPS"], x_proto=settings["PROXY_HOPS"])
    from companion.core.http import handle_app_errors, health
    from companion.core.spec import RecordIdConverter

    app.url_map.converters["int"] = RecordIdConverter
    app.register_blueprint(api_blueprint)
    app.register_blueprint(health)
    app.register_blueprint(web)
    app.register_error_handler(Exception, handle_app_errors)
    return app


def _engine_options(url: str, async_mode: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # Writers wait for each other instead of failing at once.
        options: dict[str, Any] = {"connect_args": {"timeout": 30, "check_same_thread": False}}
        if async_mode == "gevent":
            # One connection for the process. Every SQLite transaction takes the write lock
            # (BEGIN IMMEDIATE, db_setup.py), and a second connection waiting for it waits
            # inside SQLite's C busy handler, which stops gevent's hub: if the holder is a
            # greenlet that yielded mid-transaction (network I/O, the chat group commit), it
            # can never resume, and the process freezes for the busy timeout. Waiting for the
            # pool's only connection instead is a cooperative wait: the holder runs and
            # finishes. Under gevent the process ran one statement at a time anyway.
            options |= {"pool_size": 1, "max_overflow": 0, "pool_timeout": 30}
        return options
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}
