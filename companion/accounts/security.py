"""Who is asking (the login session behind the cookie), CSRF, and the headers on every response."""

from __future__ import annotations

import hmac

from flask import Flask, Response, current_app, g, request, session
from flask_login import AnonymousUserMixin

from companion.accounts import services as accounts
from companion.accounts.models import User
from companion.core.extensions import login_manager
from companion.core.problems import problem_response

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob: mediastream:",
        "connect-src 'self'",
        "font-src 'self'",
        "manifest-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.anonymous_user = AnonymousUserMixin
    login_manager.request_loader(_load_user)
    app.before_request(_check_csrf)
    app.after_request(_security_headers)


def _load_user(_request: object) -> User | None:
    """The user of the live login session named by the cookie (None once it has ended)."""
    token = session.get("login")
    if not token:
        return None
    login = accounts.resume_login_session(token)
    if login is None:
        session.clear()
        g.session_expired = True
        return None
    g.login_session = login
    return login.user


def _check_csrf() -> Response | None:
    """Every state-changing API request from a logged-in browser carries the session's token."""
    if request.method not in UNSAFE_METHODS or not request.path.startswith("/api/"):
        return None
    if "login" not in session:
        return None  # no session to ride on; the view decides whether one is needed
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "csrf_exempt", False):
        return None
    from flask_login import current_user

    if not current_user.is_authenticated:
        return None
    sent = request.headers.get("X-CSRF-Token", "")
    if not hmac.compare_digest(sent, g.login_session.csrf_token):
        return problem_response(
            403, "CSRF token missing or wrong", "Send the X-CSRF-Token header you got at login.",
            [{"field": "X-CSRF-Token", "message": "missing or wrong"}],
        )
    return None


def _security_headers(response: Response) -> Response:
    h = response.headers
    h.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    # Rooms need the camera and microphone of this origin; nothing else may ask for them.
    h.setdefault(
        "Permissions-Policy", "camera=(self), microphone=(self), geolocation=(self), payment=()"
    )
    if current_app.config["HTTPS"]:
        h.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    if request.path.startswith("/api/") and request.path != "/api/v1/openapi.json":
        # Records must not linger in shared or browser caches.
        h["Cache-Control"] = "no-store"
    return response
