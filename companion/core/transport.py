"""The Socket.IO transport: three costs Flask-SocketIO leaves to the application.

Per-message compression. Socket.IO frames are small JSON (a chat event is about 200 bytes);
per-message deflate compresses each one again for every receiver, which cost about a tenth of
the server's CPU at the clinic peak (docs/benchmarks.md, "Realtime") and saves a few hundred
bytes a minute per person, next to audio's 3 KB a second. So by default the server declines
the browser's offer of compression; COMPANION_WEBSOCKET_COMPRESSION=1 accepts it again.

The cookie session on every event. Flask-SocketIO runs each event in a request context built
from the socket's handshake, and Flask opens (verifies and decodes) the session cookie for it,
which Flask-SocketIO then replaces by its own copy made at connect. The session interface below
hands that copy over directly: about 5% of the server's CPU at the clinic peak.

URL routing on every event. The same request context also binds and matches the URL map
(about 60 of its 85 microseconds here): an event has no route, so the match only ever ends in
a NotFound nobody reads. Contexts made for events after the connect skip it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from werkzeug.routing import MapAdapter

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def without_websocket_compression(wsgi_app: WSGIApp) -> WSGIApp:
    """Hide the client's extension offer from the WebSocket handshake (no permessage-deflate
    is then negotiated: RFC 7692 lets either side decline it)."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        return wsgi_app(environ, start_response)

    return app


def is_socket_event(request: Request) -> bool:
    """Whether a request context was made by Flask-SocketIO for an event after the connect
    (it keeps the socket's session copy in the handshake's environ: manage_session)."""
    return isinstance(request.environ.get("saved_session"), SessionMixin)


class SocketAwareFlask(Flask):
    """Flask, without URL matching for Socket.IO events (url_for is not used in them)."""

    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        if request is not None and is_socket_event(request):
            return None
        return super().create_url_adapter(request)


class SocketAwareSessionInterface(SecureCookieSessionInterface):
    """Flask's cookie session, except for Socket.IO events after the connect."""

    def open_session(  # type: ignore[override]
        self, app: Flask, request: Request
    ) -> SessionMixin | None:
        if is_socket_event(request):
            return request.environ["saved_session"]
        return super().open_session(app, request)
