"""Logging in and out, and who am I."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, g, request, session
from flask_login import current_user

from companion.accounts import mfa
from companion.accounts import services as accounts
from companion.accounts.models import User
from companion.core.extensions import limiter
from companion.core.http import api
from companion.core.problems import ApiProblem, Problem
from companion.core.schemas import LoginBody, LoginOut, MeOut, ProfileBody
from companion.core.spec import registry

BAD_LOGIN = "That email and password do not match an account. Check both and try again."
OTP_REQUIRED = "Enter the 6-digit code from your authenticator app."
OTP_INVALID = (
    "That code did not work. Codes change every 30 seconds and each works once: enter the one "
    "your app shows now."
)
MFA_ENROLMENT_REQUIRED = (
    "Your sign-in code was reset. Open the link your program admin sent you to set up your "
    "authenticator app again."
)


def _login_email() -> str:
    data = request.get_json(silent=True) or {}
    email = data.get("email") if isinstance(data, dict) else None
    return accounts.normalise_email(str(email or ""))


def _password_failed(response: Any) -> bool:
    # Set by the view on a wrong password or code only: asking a staff member for their code
    # is a step of the login, and a refused body guessed nothing.
    return bool(g.get("password_failed"))


def password_attempts(account: Callable[[], str]) -> Callable[[Any], Any]:
    """The limits on guessing a password, shared by every route that checks one (the login,
    the second-factor reset link): failures per (account, address), so an attacker elsewhere
    cannot lock a client out, and per address (a clinic's shared NAT stays well under it).

    No limit counts an account's failures from every address: that would be a lockout tool
    (docs/security.md). Addresses are the client's own behind COMPANION_PROXY_HOPS trusted
    proxies (companion.create_app), so a proxy's users do not share one count.
    """
    per_account = limiter.shared_limit(
        lambda: current_app.config["LOGIN_LIMITS"], scope="password",
        key_func=lambda: f"{account()}|{request.remote_addr}", deduct_when=_password_failed)
    per_address = limiter.shared_limit(
        "100 per 5 minutes", scope="password-address", key_func=lambda: request.remote_addr or "",
        deduct_when=_password_failed)

    def decorate(view: Any) -> Any:
        return per_account(per_address(view))

    return decorate


def _login_email_key() -> str:
    return f"otp|{_login_email()}"


def _otp_failed(response: Any) -> bool:
    return bool(response.status_code == 401 and g.get("otp_failed"))


@registry.route(
    api, "/auth/login", "POST", summary="Log in", tag="auth", auth=False, body=LoginBody,
    responses={200: LoginOut, 401: Problem, 429: Problem},
)
@password_attempts(_login_email)
# Wrong codes per account from any address: whoever guesses codes already has the password.
@limiter.limit(lambda: current_app.config["OTP_LIMITS"], key_func=_login_email_key,
               deduct_when=_otp_failed)
def login(body: LoginBody) -> tuple[dict[str, Any], int]:
    user = accounts.authenticate(body.email, body.password)
    if user is None:
        g.password_failed = True
        raise ApiProblem(401, "Login failed", BAD_LOGIN)
    if mfa.required_for(user.role):
        _second_factor(user, body.otp)
    login_session = accounts.start_login_session(user)
    session.clear()  # a new session at every login
    session["login"] = login_session.id
    session.permanent = False
    return login_json(user, login_session.csrf_token), 200


def _second_factor(user: User, otp: str | None) -> None:
    """Staff: the password was right; now their authenticator's code (docs/security.md)."""
    if mfa.unseal(user.totp_secret) is None:
        raise ApiProblem(401, "Second factor needed", MFA_ENROLMENT_REQUIRED,
                         code="mfa_enrolment_required")
    if not otp:
        raise ApiProblem(401, "Code needed", OTP_REQUIRED,
                         [{"field": "otp", "message": OTP_REQUIRED}], code="otp_required")
    if not mfa.use_login_code(user, otp):
        g.otp_failed = g.password_failed = True  # a wrong code counts as a failed login
        raise ApiProblem(401, "Login failed", OTP_INVALID,
                         [{"field": "otp", "message": OTP_INVALID}], code="otp_invalid")


@registry.route(
    api, "/auth/logout", "POST", summary="Log out (ends the session on the server)",
    tag="auth", responses={204: None},
)
def logout() -> tuple[str, int, dict[str, str]]:
    accounts.end_login_session(g.login_session, "logout")
    session.clear()
    # Wipes the offline queue and caches of this origin in the browser (docs/security.md).
    return "", 204, {"Clear-Site-Data": '"cache", "storage"'}


@registry.route(api, "/me", "GET", summary="The logged-in user", tag="auth",
                responses={200: MeOut})
def me() -> dict[str, Any]:
    return me_json(current_user, g.login_session.csrf_token)


@registry.route(api, "/me", "PATCH", summary="Change my display name or time zone", tag="auth",
                body=ProfileBody, responses={200: MeOut})
def update_me(body: ProfileBody) -> dict[str, Any]:
    user = accounts.update_profile(current_user, display_name=body.display_name,
                                   timezone=body.timezone)
    return me_json(user, g.login_session.csrf_token)


def me_json(user: User, csrf_token: str) -> dict[str, Any]:
    return {
        **accounts.user_json(user),
        "timezone": user.timezone,
        "clinic": _clinic_name(user),
        "idle_timeout_minutes": current_app.config["IDLE_TIMEOUT_MINUTES"],
        "csrf_token": csrf_token,
    }


def login_json(user: User, csrf_token: str) -> dict[str, Any]:
    """What a fresh login answers: the user, the CSRF token, and the full profile (so the
    client needs no second round trip before drawing the home page)."""
    return {"user": accounts.user_json(user), "csrf_token": csrf_token,
            "me": me_json(user, csrf_token)}


def _clinic_name(user: User) -> str:
    from companion.accounts.models import Clinic
    from companion.core.extensions import db

    clinic = db.session.get(Clinic, user.clinic_id)
    return clinic.name if clinic else ""

