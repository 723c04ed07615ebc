"""Invitations: an admin invites staff and clients; the invitee sets a password."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request, session
from sqlalchemy import select

from companion.accounts import services as accounts
from companion.accounts.models import Clinic, Invitation, Role, User
from companion.accounts.views import login_json, password_attempts
from companion.clinic import admissions, policy
from companion.clinic.guards import authorize, me, per_inviter_limit
from companion.core import clock
from companion.core.extensions import db, limiter
from companion.core.http import api
from companion.core.pagination import PageQuery, page
from companion.core.problems import ApiProblem, Problem
from companion.core.schemas import (
    AcceptBody,
    InvitationBody,
    InvitationPage,
    InvitationPreviewOut,
    IssuedInvitationOut,
    LoginOut,
    TokenBody,
)
from companion.core.spec import registry


def invitation_json(invitation: Invitation) -> dict[str, Any]:
    return {
        "id": invitation.id,
        "email": invitation.email,
        "role": invitation.role.value,
        "display_name": invitation.display_name,
        "program_id": invitation.program_id,
        "state": invitation.state(clock.now()),
        "created_at": invitation.created_at.isoformat(),
        "expires_at": invitation.expires_at.isoformat(),
        "purpose": invitation.purpose,
    }


@registry.route(
    api, "/invitations", "POST", summary="Invite someone by email (admin)", tag="invitations",
    body=InvitationBody,
    responses={201: IssuedInvitationOut, 403: Problem, 409: Problem, 429: Problem},
)
@per_inviter_limit
def create_invitation(body: InvitationBody) -> tuple[dict[str, Any], int]:
    authorize(policy.Action.INVITE)
    base_url = request.host_url if not _public_url() else _public_url()
    issued = admissions.invite(
        me(), str(body.email), Role(body.role), base_url,
        display_name=body.display_name, program_id=body.program_id,
        adolescent=body.adolescent,
        # An admin lists their clinic's accounts anyway; other clinics' stay unknown.
        sees_clinic_accounts=policy.can(me(), policy.Action.MANAGE_USERS),
    )
    return {
        **invitation_json(issued.invitation), "url": issued.url, "emailed": issued.emailed,
    }, 201


def _public_url() -> str:

    return str(current_app.config["PUBLIC_URL"])


@registry.route(
    api, "/invitations", "GET", summary="Invitations of my clinic (admin)", tag="invitations",
    query=PageQuery, responses={200: InvitationPage, 403: Problem},
)
def list_invitations(query: PageQuery) -> dict[str, Any]:
    authorize(policy.Action.INVITE)
    stmt = (
        select(Invitation)
        .where(Invitation.clinic_id == me().clinic_id)
        .order_by(Invitation.id.desc())
    )
    return page(stmt, query, invitation_json)


# The token is sent in a body, never in a URL, so it stays out of access logs.
@registry.route(
    api, "/invitations/preview", "POST", summary="What an invitation link is for",
    tag="invitations", auth=False, body=TokenBody,
    responses={200: InvitationPreviewOut, 404: Problem},
)
@limiter.limit("30 per minute")
def preview_invitation(body: TokenBody) -> dict[str, Any]:
    invitation = accounts.find_invitation(body.token)
    clinic = db.session.get(Clinic, invitation.clinic_id)
    inviter = db.session.get(User, invitation.invited_by_id) if invitation.invited_by_id else None
    preview: dict[str, Any] = {
        "email": invitation.email,
        "role": invitation.role.value,
        "display_name": invitation.display_name,
        "clinic": clinic.name if clinic else "",
        "invited_by": inviter.display_name if inviter else None,
    }
    if invitation.purpose != "join":
        preview["purpose"] = invitation.purpose
    enrolment = accounts.invitation_enrolment(invitation)
    if enrolment is not None:
        # The token is the credential here; once enrolled, the secret is never shown again.
        preview["mfa"] = enrolment.as_json()
    return preview


def _invited_email() -> str:
    """The address an invitation token is for: a second-factor reset link checks that
    account's password, and its failures count with the login's (auth.password_attempts)."""
    data = request.get_json(silent=True)
    token = data.get("token") if isinstance(data, dict) else None
    return accounts.invited_email(token) if isinstance(token, str) else ""


@registry.route(
    api, "/invitations/accept", "POST", summary="Accept an invitation: set a password, log in",
    tag="invitations", auth=False, body=AcceptBody,
    responses={201: LoginOut, 404: Problem, 409: Problem, 429: Problem},
)
@limiter.limit("30 per minute")
@password_attempts(_invited_email)
def accept_invitation(body: AcceptBody) -> tuple[dict[str, Any], int]:
    try:
        user = admissions.accept(
            body.token, body.password, body.display_name, otp=body.otp
        )
    except accounts.WrongPassword:
        g.password_failed = True  # a guess: it counts with the login's failures
        raise
    login_session = accounts.start_login_session(user)
    session.clear()
    session["login"] = login_session.id
    return login_json(user, login_session.csrf_token), 201


@registry.route(
    api, "/users/<int:user_id>/mfa-reset", "POST",
    summary="Reset a staff member's second factor (admin): logs them out, issues a link to "
    "enrol a new one", tag="invitations",
    responses={201: IssuedInvitationOut, 403: Problem, 404: Problem, 409: Problem, 429: Problem},
)
@per_inviter_limit
def reset_second_factor(user_id: int) -> tuple[dict[str, Any], int]:
    authorize(policy.Action.MANAGE_USERS)
    target = db.session.get(User, user_id)
    if target is None or target.clinic_id != me().clinic_id:
        raise ApiProblem(404, "Not found", "No such person in your clinic.")
    base_url = request.host_url if not _public_url() else _public_url()
    issued = accounts.reset_second_factor(me(), target, base_url)
    return {
        **invitation_json(issued.invitation), "url": issued.url, "emailed": issued.emailed,
    }, 201
