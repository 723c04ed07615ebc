"""An admin invites people; the invitee sets a password and lands logged in."""

from __future__ import annotations

import logging
from datetime import timedelta

from companion.accounts.models import Invitation, Role, User
from companion.clinic.models import Enrollment
from companion.core import clock
from tests.conftest import invitation_code


def _token(url: str) -> str:
    return url.split("#token=", 1)[1]


def test_admin_invites_a_client_who_accepts_and_is_enrolled(client, world, auth, app, caplog):
    admin = world.user(Role.ADMIN, name="Dana")
    auth.login(admin)
    with caplog.at_level(logging.WARNING, logger="companion"):
        response = auth.post("/api/v1/invitations", json={
            "email": "New.Client@Example.test", "role": "client",
            "program_id": world.program.id, "display_name": "Jo",
        })
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["email"] == "new.client@example.test"
    assert body["state"] == "pending" and body["emailed"] is False
    assert "/invite#token=" in body["url"]
    # No mail server: the link is printed in the server log, without the address.
    assert body["url"] in caplog.text
    assert "new.client" not in caplog.text
    token = _token(body["url"])

    newcomer = app.test_client()
    preview = newcomer.post("/api/v1/invitations/preview", json={"token": token})
    assert preview.get_json() == {
        "email": "new.client@example.test", "role": "client", "display_name": "Jo",
        "clinic": "Test Clinic", "invited_by": "Dana",
    }
    accepted = newcomer.post("/api/v1/invitations/accept", json={
        "token": token, "password": "my own long passphrase", "display_name": "Jo",
    })
    assert accepted.status_code == 201
    assert accepted.get_json()["user"]["role"] == "client"
    assert newcomer.get("/api/v1/me").get_json()["display_name"] == "Jo"

    user = world.db.session.query(User).filter_by(email="new.client@example.test").one()
    enrollment = world.db.session.query(Enrollment).filter_by(client_id=user.id).one()
    assert enrollment.weekly_hours_target == 9
    # A link works once.
    again = app.test_client().post("/api/v1/invitations/accept", json={
        "token": token, "password": "another long passphrase",
    })
    assert again.status_code == 404


def test_adolescent_client_gets_a_six_hour_target(world, auth, app):
    auth.login(world.user(Role.ADMIN))
    body = auth.post("/api/v1/invitations", json={
        "email": "teen@example.test", "role": "client", "program_id": world.program.id,
        "adolescent": True,
    }).get_json()
    app.test_client().post("/api/v1/invitations/accept", json={
        "token": _token(body["url"]), "password": "a teen's passphrase", "display_name": "T",
    })
    user = world.db.session.query(User).filter_by(email="teen@example.test").one()
    assert world.db.session.query(Enrollment).filter_by(client_id=user.id).one() \
        .weekly_hours_target == 6


def test_staff_invitation_lands_with_their_role(world, auth, app):
    auth.login(world.user(Role.ADMIN))
    for role in ("counselor", "peer_supporter", "admin"):
        body = auth.post("/api/v1/invitations", json={
            "email": f"{role}@example.test", "role": role,
        }).get_json()
        newcomer = app.test_client()
        token = _token(body["url"])
        response = newcomer.post("/api/v1/invitations/accept", json={
            "token": token, "password": "staff passphrase here",
            "display_name": role, "otp": invitation_code(newcomer, token),  # staff enrol MFA
        })
        assert response.get_json()["user"]["role"] == role


def test_only_admins_invite(world, make_auth):
    for role in (Role.CLIENT, Role.COUNSELOR, Role.PEER_SUPPORTER):
        a = make_auth(world.user(role))
        response = a.post("/api/v1/invitations", json={"email": "x@example.test",
                                                       "role": "client",
                                                       "program_id": world.program.id})
        assert response.status_code == 403
        assert a.get("/api/v1/invitations").status_code == 403
    assert world.db.session.query(Invitation).count() == 0


def test_bad_invitations_change_nothing(world, auth):
    existing = world.user()
    auth.login(world.user(Role.ADMIN))
    cases = [
        ({"email": "not-an-address", "role": "client", "program_id": world.program.id}, "email"),
        ({"email": "a@example.test", "role": "wizard"}, "role"),
        ({"email": "a@example.test", "role": "client"}, "program_id"),
        ({"email": "a@example.test", "role": "client", "program_id": 999999}, "program_id"),
        ({"email": existing.email, "role": "client", "program_id": world.program.id}, "email"),
    ]
    for body, bad_field in cases:
        response = auth.post("/api/v1/invitations", json=body)
        assert response.status_code in (409, 422), body
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["errors"][0]["field"] == bad_field
    assert world.db.session.query(Invitation).count() == 0


def test_weak_password_on_accept_names_the_field_and_creates_nobody(world, auth, app):
    auth.login(world.user(Role.ADMIN))
    body = auth.post("/api/v1/invitations", json={
        "email": "weak@example.test", "role": "counselor"}).get_json()
    response = app.test_client().post("/api/v1/invitations/accept", json={
        "token": _token(body["url"]), "password": "password123", "display_name": "W"})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "password"
    assert world.db.session.query(User).filter_by(email="weak@example.test").count() == 0


def test_expired_invitation_is_refused(world, auth, app):
    auth.login(world.user(Role.ADMIN))
    body = auth.post("/api/v1/invitations", json={
        "email": "late@example.test", "role": "counselor"}).get_json()
    clock.advance(timedelta(days=app.config["INVITATION_DAYS"], minutes=1))
    response = app.test_client().post("/api/v1/invitations/preview",
                                      json={"token": _token(body["url"])})
    assert response.status_code == 404
    listed = auth.get("/api/v1/invitations")
    assert listed.status_code == 401  # the admin's own session timed out meanwhile


def test_mail_setting_sends_the_link(world, auth, app, monkeypatch):
    sent = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            sent.append(("connect", host, port))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def login(self, user, password):
            sent.append(("login", user))

        def send_message(self, message):
            sent.append(("send", message["To"], message.get_content()))

    import smtplib

    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    app.config["MAIL_URL"] = "smtp://mailer:secret@mail.example.test:2525"
    auth.login(world.user(Role.ADMIN))
    body = auth.post("/api/v1/invitations", json={
        "email": "mailed@example.test", "role": "counselor"}).get_json()
    assert body["emailed"] is True
    assert sent[0] == ("connect", "mail.example.test", 2525)
    assert sent[1] == ("login", "mailer")
    assert sent[2][1] == "mailed@example.test" and body["url"] in sent[2][2]


def test_family_invitations_are_listed_and_previewed_as_documented(world, auth, make_auth, app):
    # The documented role left out "family" (found by tests/core/test_api_fuzz.py): a client's
    # family invitation is listed to the admin and previewed with role "family".
    from companion.core.schemas import InvitationPage, InvitationPreviewOut

    invited = make_auth(world.user(Role.CLIENT, name="Robin")).post("/api/v1/family", json={
        "email": "mom@example.test", "display_name": "Mom", "relationship": "mother"})
    assert invited.status_code == 201
    auth.login(world.user(Role.ADMIN))
    listed = InvitationPage.model_validate(auth.get("/api/v1/invitations").get_json())
    assert [i.role for i in listed.items] == ["family"]
    preview = app.test_client().post("/api/v1/invitations/preview",
                                     json={"token": _token(invited.get_json()["url"])})
    shown = InvitationPreviewOut.model_validate(preview.get_json())
    # The invitation page says who invited them (the token holder alone sees it).
    assert (shown.role, shown.invited_by) == ("family", "Robin")


# --- nobody learns from an invitation whether an address has an account -------------------


def _same_shape(body: dict) -> dict:
    """An invitation's answer without what differs between any two invitations (its id, the
    address, the moment, the token in the link), keeping whether there is a link."""
    kept = {k: v for k, v in body.items()
            if k not in {"id", "email", "url", "created_at", "expires_at"}}
    return kept | {"has_link": body.get("url") is not None}


class _Outbox:
    """A fake SMTP server: the messages Companion sent, as (to, subject, text)."""

    def __init__(self, monkeypatch, app) -> None:
        import smtplib

        self.sent: list[tuple[str, str, str]] = []
        outbox = self

        class FakeSMTP:
            def __init__(self, host, port, timeout):
                pass

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def send_message(self, message):
                outbox.sent.append((message["To"], message["Subject"], message.get_content()))

        monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
        app.config["MAIL_URL"] = "smtp://mail.example.test:2525"


def _invite_family(auth, email: str):
    return auth.post("/api/v1/family", json={
        "email": email, "display_name": "Sam", "relationship": "brother"})


def test_a_family_invitation_answers_the_same_whether_the_address_has_an_account(
        world, make_auth, app):
    from companion.accounts.models import Clinic

    elsewhere = Clinic(name="Elsewhere")
    world.db.session.add(elsewhere)
    world.db.session.commit()
    patient_elsewhere = world.user(Role.CLIENT, clinic_id=elsewhere.id)
    patient_here = world.user(Role.CLIENT)
    inviter = make_auth(world.user(Role.CLIENT))
    new = _invite_family(inviter, "nobody-yet@example.test")
    for existing in (patient_elsewhere.email, patient_here.email.upper()):
        answer = _invite_family(inviter, existing)
        assert (answer.status_code, answer.mimetype) == (new.status_code, new.mimetype) == (
            201, "application/json")
        assert _same_shape(answer.get_json()) == _same_shape(new.get_json())
    # The list says the same of each: invited, pending.
    listed = inviter.get("/api/v1/family").get_json()["items"]
    assert [i["state"] for i in listed] == ["pending"] * 3


def test_with_mail_the_existing_account_gets_a_notice_and_the_inviter_no_link(
        world, make_auth, app, monkeypatch):
    outbox = _Outbox(monkeypatch, app)
    existing = world.user(Role.CLIENT)
    inviter = make_auth(world.user(Role.CLIENT))
    new = _invite_family(inviter, "sister@example.test").get_json()
    known = _invite_family(inviter, existing.email).get_json()
    assert _same_shape(known) == _same_shape(new)
    assert new["emailed"] is known["emailed"] is True
    # The link is mailed, never handed to the inviter: opening it themselves would tell them.
    assert new["url"] is None and known["url"] is None
    (to_new, _, invitation), (to_known, _, notice) = outbox.sent
    assert to_new == "sister@example.test" and "/invite#token=" in invitation
    assert to_known == existing.email
    assert "already has" in notice and "/invite#token=" not in notice
    # Nothing changed on the existing account.
    world.db.session.refresh(existing)
    assert existing.role == Role.CLIENT and existing.active


def test_accepting_an_invitation_to_an_address_with_an_account_creates_nothing(
        world, make_auth, app):
    existing = world.user(Role.CLIENT)
    url = _invite_family(make_auth(world.user(Role.CLIENT)), existing.email).get_json()["url"]
    response = app.test_client().post("/api/v1/invitations/accept", json={
        "token": _token(url), "password": "my own long passphrase", "display_name": "Sam"})
    assert response.status_code == 409
    assert response.get_json()["errors"][0]["field"] == "email"
    assert "already has a Companion account" in response.get_json()["detail"]
    assert world.db.session.query(User).filter_by(email=existing.email).count() == 1


def test_an_admin_learns_nothing_about_addresses_of_another_clinic(world, auth):
    from companion.accounts.models import Clinic

    elsewhere = Clinic(name="Elsewhere")
    world.db.session.add(elsewhere)
    world.db.session.commit()
    theirs = world.user(Role.CLIENT, clinic_id=elsewhere.id)
    auth.login(world.user(Role.ADMIN))
    invite = {"role": "client", "program_id": world.program.id, "display_name": "Jo"}
    new = auth.post("/api/v1/invitations", json={**invite, "email": "fresh@example.test"})
    known = auth.post("/api/v1/invitations", json={**invite, "email": theirs.email})
    assert new.status_code == known.status_code == 201
    assert _same_shape(known.get_json()) == _same_shape(new.get_json())


def test_invitations_are_limited_per_inviter_from_any_address(world, make_auth, app):
    app.config["INVITATION_LIMITS"] = "3 per hour"
    inviter = make_auth(world.user(Role.CLIENT))
    for i in range(3):
        response = inviter.post("/api/v1/family", environ_base={"REMOTE_ADDR": f"203.0.113.{i}"},
                                json={"email": f"f{i}@example.test", "display_name": "F",
                                      "relationship": "friend"})
        assert response.status_code == 201
    refused = inviter.post("/api/v1/family", environ_base={"REMOTE_ADDR": "198.51.100.9"},
                           json={"email": "f9@example.test", "display_name": "F",
                                 "relationship": "friend"})
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    assert world.db.session.query(Invitation).count() == 3
    # Another inviter is not held back by the first one's count.
    other = make_auth(world.user(Role.CLIENT))
    assert _invite_family(other, "g@example.test").status_code == 201
    # An admin's invitations share the rule.
    admin = make_auth(world.user(Role.ADMIN))
    for i in range(3):
        assert admin.post("/api/v1/invitations", json={
            "email": f"c{i}@example.test", "role": "counselor"}).status_code == 201
    assert admin.post("/api/v1/invitations", json={
        "email": "c9@example.test", "role": "counselor"}).status_code == 429
