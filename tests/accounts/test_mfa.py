"""Staff's second factor (docs/security.md, passwords: "TOTP second factor for staff"; MFA flow):
enrolment through the invitation, login with a code, replays, the lock, an admin's reset."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, select

from companion.accounts import mfa
from companion.accounts.models import Clinic, Invitation, LoginSession, Role, User
from companion.core import clock
from companion.core.models import AuditEvent
from tests.conftest import AUDIT_KEY, PASSWORD, TOTP_SECRET, Auth, invitation_code


def _token(url: str) -> str:
    return url.split("#token=", 1)[1]


def _code(secret: str, steps_from_now: int = 0) -> str:
    return mfa.code_for(secret, mfa.step_at(clock.now()) + steps_from_now)


def _login(client, email: str, password: str = PASSWORD, **extra):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password, **extra})


def _audit(world, action: str) -> list[AuditEvent]:
    return list(world.db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _invite(auth: Auth, email: str, role: str = "counselor") -> str:
    response = auth.post("/api/v1/invitations", json={"email": email, "role": role})
    assert response.status_code == 201, response.get_json()
    return _token(response.get_json()["url"])


# --- enrolment --------------------------------------------------------------------------------


def test_staff_enrol_on_the_invitation_page_and_only_with_a_valid_code(world, auth, app):
    auth.login(world.user(Role.ADMIN))
    token = _invite(auth, "new.counselor@example.test")
    newcomer = app.test_client()
    preview = newcomer.post("/api/v1/invitations/preview", json={"token": token}).get_json()
    secret = preview["mfa"]["secret"]
    assert len(secret) == 32
    assert preview["mfa"]["otpauth_uri"].startswith("otpauth://totp/Companion:new.counselor")
    assert f"secret={secret}" in preview["mfa"]["otpauth_uri"]
    assert preview["mfa"]["qr_svg"].startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    # The page shows the same secret until they enrol.
    again = newcomer.post("/api/v1/invitations/preview", json={"token": token}).get_json()
    assert again["mfa"]["secret"] == secret

    body = {"token": token, "password": "a counselor's passphrase", "display_name": "Kim"}
    for bad in ({}, {"otp": ""}, {"otp": "12345"}, {"otp": "abcdef"},
                {"otp": _code(secret, 5)}, {"otp": _code(TOTP_SECRET)}):
        response = newcomer.post("/api/v1/invitations/accept", json={**body, **bad})
        assert response.status_code == 422, bad
        assert response.get_json()["errors"][0]["field"] == "otp"
    assert world.db.session.query(User).filter_by(email="new.counselor@example.test").count() == 0
    assert newcomer.get("/api/v1/me").status_code == 401

    code = _code(secret)
    response = newcomer.post("/api/v1/invitations/accept", json={**body, "otp": code})
    assert response.status_code == 201
    assert response.get_json()["user"]["role"] == "counselor"
    user = world.db.session.query(User).filter_by(email="new.counselor@example.test").one()
    assert mfa.unseal(user.totp_secret) == secret
    assert secret not in (user.totp_secret or "")  # encrypted at rest
    invitation = world.db.session.query(Invitation).filter_by(user_id=user.id).one()
    assert invitation.totp_secret is None  # the only copy left is the user's
    [enrolled] = _audit(world, "mfa_enrol")
    assert (enrolled.actor_id, enrolled.subject_id, enrolled.record_type) == (
        user.id, user.id, "user")
    # The page is gone, and the code typed to enrol does not also log in.
    assert newcomer.post("/api/v1/invitations/preview",
                         json={"token": token}).status_code == 404
    other = app.test_client()
    assert _login(other, user.email, "a counselor's passphrase", otp=code).status_code == 401
    assert _login(other, user.email, "a counselor's passphrase",
                  otp=_code(secret, 1)).status_code == 200


def test_client_and_family_invitations_have_no_second_factor(world, auth, app):
    auth.login(world.user(Role.ADMIN))
    response = auth.post("/api/v1/invitations", json={
        "email": "c@example.test", "role": "client", "program_id": world.program.id})
    token = _token(response.get_json()["url"])
    preview = app.test_client().post("/api/v1/invitations/preview", json={"token": token})
    assert "mfa" not in preview.get_json()
    assert world.db.session.query(Invitation).one().totp_secret is None


# --- login ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.COUNSELOR, Role.PEER_SUPPORTER, Role.ADMIN])
def test_staff_login_without_a_code_is_asked_for_one_and_not_logged_in(client, world, role):
    user = world.user(role)
    for body in ({}, {"otp": None}, {"otp": ""}):
        response = _login(client, user.email, **body)
        assert response.status_code == 401
        assert response.mimetype == "application/problem+json"
        problem = response.get_json()
        assert problem["code"] == "otp_required"
        assert problem["errors"] == [{"field": "otp", "message": problem["detail"]}]
        assert "Set-Cookie" not in response.headers
    assert client.get("/api/v1/me").status_code == 401
    assert world.db.session.query(LoginSession).count() == 0
    assert _audit(world, "login") == []
    # The wrong password is still just the wrong password: the code is not even asked for.
    wrong = _login(client, user.email, "not the password")
    assert wrong.status_code == 401 and "code" not in wrong.get_json()


def test_correct_code_logs_staff_in(client, world):
    user = world.user(Role.COUNSELOR)
    response = _login(client, user.email, otp=_code(TOTP_SECRET))
    assert response.status_code == 200
    assert client.get("/api/v1/me").get_json()["email"] == user.email
    assert len(_audit(world, "login")) == 1
    # Codes as some apps show them, and a phone clock half a minute off, both work.
    for code in (" ".join([_code(TOTP_SECRET, 1)[:3], _code(TOTP_SECRET, 1)[3:]]),):
        assert _login(client, user.email, otp=code).status_code == 200


def test_wrong_code_is_refused_and_counts_toward_the_lock(client, world):
    user = world.user(Role.COUNSELOR)
    # Being asked for the code is not a failure: a dozen of those lock nothing.
    for _ in range(12):
        assert _login(client, user.email).get_json()["code"] == "otp_required"
    for attempt in range(10):
        wrong = f"{(int(_code(TOTP_SECRET)) + 1 + attempt) % 1_000_000:06d}"
        response = _login(client, user.email, otp=wrong)
        assert response.status_code == 401
        assert response.get_json()["code"] == "otp_invalid"
        assert client.get("/api/v1/me").status_code == 401
    locked = _login(client, user.email, otp=_code(TOTP_SECRET))
    assert locked.status_code == 429  # the 11th attempt waits, even with the right code
    assert world.db.session.query(LoginSession).count() == 0


def test_wrong_codes_are_limited_per_account_from_any_address(app, world):
    app.config["OTP_LIMITS"] = "3 per hour"
    app.config["LOGIN_LIMITS"] = "100 per 5 minutes"
    user = world.user(Role.ADMIN)
    for i in range(3):
        response = app.test_client().post(
            "/api/v1/auth/login", json={"email": user.email, "password": PASSWORD,
                                        "otp": "000000" if _code(TOTP_SECRET) != "000000"
                                        else "111111"},
            environ_base={"REMOTE_ADDR": f"203.0.113.{i + 1}"})
        assert response.status_code == 401
    response = app.test_client().post(
        "/api/v1/auth/login", json={"email": user.email, "password": PASSWORD,
                                    "otp": _code(TOTP_SECRET)},
        environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert response.status_code == 429


def test_a_used_code_is_refused_the_second_time(app, world):
    user = world.user(Role.COUNSELOR)
    code = _code(TOTP_SECRET)
    assert _login(app.test_client(), user.email, otp=code).status_code == 200
    replay = _login(app.test_client(), user.email, otp=code)
    assert replay.status_code == 401
    assert replay.get_json()["code"] == "otp_invalid"
    # An older code of the window is refused too once a newer one was used.
    assert _login(app.test_client(), user.email, otp=_code(TOTP_SECRET, -1)).status_code == 401
    # The next step's code still works, once.
    nxt = _code(TOTP_SECRET, 1)
    assert _login(app.test_client(), user.email, otp=nxt).status_code == 200
    assert _login(app.test_client(), user.email, otp=nxt).status_code == 401
    # Two steps later (a minute on), a fresh code works.
    clock.advance(timedelta(seconds=2 * mfa.STEP_SECONDS))
    assert _login(app.test_client(), user.email, otp=_code(TOTP_SECRET)).status_code == 200
    assert world.db.session.query(LoginSession).count() == 3


def test_codes_outside_the_window_are_refused(client, world):
    user = world.user(Role.COUNSELOR)
    for steps in (-3, -2, 2, 3):
        assert _login(client, user.email, otp=_code(TOTP_SECRET, steps)).status_code == 401


def test_clients_and_family_log_in_as_before(client, world):
    for role in (Role.CLIENT, Role.FAMILY):
        user = world.user(role)
        assert user.totp_secret is None
        response = _login(client, user.email)
        assert response.status_code == 200, response.get_json()
        # A code they send anyway changes nothing.
        assert _login(client, user.email, otp="123456").status_code == 200


# --- an admin's reset ---------------------------------------------------------------------


def test_admin_reset_forces_re_enrolment_and_the_old_secret_stops_working(world, make_auth, app):
    admin = make_auth(world.user(Role.ADMIN))
    counselor = world.user(Role.COUNSELOR)
    logged_in = make_auth(counselor)
    assert logged_in.get("/api/v1/me").status_code == 200

    response = admin.post(f"/api/v1/users/{counselor.id}/mfa-reset")
    assert response.status_code == 201
    issued = response.get_json()
    assert issued["purpose"] == "mfa_reset" and issued["email"] == counselor.email
    assert "secret" not in str(issued) and "otpauth" not in str(issued)
    # Logged out everywhere; the old authenticator is useless.
    assert logged_in.get("/api/v1/me").status_code == 401
    assert {s.end_reason for s in world.db.session.query(LoginSession)
            .filter_by(user_id=counselor.id)} == {"mfa_reset"}
    old = _login(app.test_client(), counselor.email, otp=_code(TOTP_SECRET, 1))
    assert old.status_code == 401 and old.get_json()["code"] == "mfa_enrolment_required"
    [reset] = _audit(world, "mfa_reset")
    assert (reset.actor_id, reset.subject_id, reset.record_id) == (
        admin_id := world.db.session.query(User).filter_by(role=Role.ADMIN).one().id,
        counselor.id, str(counselor.id))
    assert admin_id

    token = _token(issued["url"])
    page = app.test_client()
    preview = page.post("/api/v1/invitations/preview", json={"token": token}).get_json()
    assert preview["purpose"] == "mfa_reset"
    new_secret = preview["mfa"]["secret"]
    assert new_secret != TOTP_SECRET
    body = {"token": token, "password": PASSWORD}
    wrong_password = page.post("/api/v1/invitations/accept", json={
        **body, "password": "not my password", "otp": _code(new_secret)})
    assert wrong_password.status_code == 422
    assert wrong_password.get_json()["errors"][0]["field"] == "password"
    old_code = page.post("/api/v1/invitations/accept", json={**body, "otp": _code(TOTP_SECRET)})
    assert old_code.status_code == 422 and old_code.get_json()["errors"][0]["field"] == "otp"
    accepted = page.post("/api/v1/invitations/accept", json={**body, "otp": _code(new_secret)})
    assert accepted.status_code == 201
    assert page.get("/api/v1/me").get_json()["email"] == counselor.email
    assert len(_audit(world, "mfa_enrol")) == 1
    # The link worked once; the old secret never again, the new one does.
    assert page.post("/api/v1/invitations/preview", json={"token": token}).status_code == 404
    assert _login(app.test_client(), counselor.email,
                  otp=_code(TOTP_SECRET, 1)).status_code == 401
    assert _login(app.test_client(), counselor.email,
                  otp=_code(new_secret, 1)).status_code == 200
    assert world.db.session.query(User).filter_by(role=Role.COUNSELOR).count() == 1


def test_a_second_reset_voids_the_first_link(world, make_auth, app):
    admin = make_auth(world.user(Role.ADMIN))
    peer = world.user(Role.PEER_SUPPORTER)
    first = admin.post(f"/api/v1/users/{peer.id}/mfa-reset").get_json()
    admin.post(f"/api/v1/users/{peer.id}/mfa-reset")
    response = app.test_client().post("/api/v1/invitations/preview",
                                      json={"token": _token(first["url"])})
    assert response.status_code == 404


def test_reset_is_for_staff_of_the_admins_clinic(world, make_auth):
    admin = make_auth(world.user(Role.ADMIN))
    client = world.user(Role.CLIENT)
    assert admin.post(f"/api/v1/users/{client.id}/mfa-reset").status_code == 409
    elsewhere = Clinic(name="Elsewhere")
    world.db.session.add(elsewhere)
    world.db.session.commit()
    stranger = world.user(Role.COUNSELOR, clinic_id=elsewhere.id)
    assert admin.post(f"/api/v1/users/{stranger.id}/mfa-reset").status_code == 404
    assert admin.post("/api/v1/users/999999/mfa-reset").status_code == 404
    counselor = make_auth(world.user(Role.COUNSELOR))
    assert counselor.post(f"/api/v1/users/{stranger.id}/mfa-reset").status_code == 403
    assert _audit(world, "mfa_reset") == []


def test_admin_lists_only_staff_for_the_reset_card(world, make_auth):
    admin_user = world.user(Role.ADMIN)
    counselor = world.user(Role.COUNSELOR)
    peer = world.user(Role.PEER_SUPPORTER)
    client = world.user(Role.CLIENT)
    admin = make_auth(admin_user)
    staff_query = "/api/v1/users?role=counselor&role=peer_supporter&role=admin"

    response = admin.get(staff_query)
    assert response.status_code == 200
    assert {u["id"] for u in response.get_json()["items"]} == {
        admin_user.id, counselor.id, peer.id}
    only_clients = admin.get("/api/v1/users?role=client").get_json()["items"]
    assert [u["id"] for u in only_clients] == [client.id]
    everyone = {u["id"] for u in admin.get("/api/v1/users").get_json()["items"]}
    assert client.id in everyone and counselor.id in everyone
    # The next page keeps the filter.
    first = admin.get(f"{staff_query}&limit=2").get_json()
    assert len(first["items"]) == 2 and first["next"].count("role=") == 3
    rest = admin.get(first["next"]).get_json()
    assert {u["id"] for u in first["items"] + rest["items"]} == {
        admin_user.id, counselor.id, peer.id}


@pytest.mark.parametrize("role", [Role.CLIENT, Role.COUNSELOR, Role.PEER_SUPPORTER])
def test_only_an_admin_lists_staff(world, make_auth, role):
    someone = make_auth(world.user(role))
    response = someone.get("/api/v1/users?role=counselor&role=admin")
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("query", ["role=nurse", "role=counselor&role=staff", "role=",
                                   "role=COUNSELOR"])
def test_an_unknown_role_filter_is_a_clear_error(world, make_auth, query):
    admin = make_auth(world.user(Role.ADMIN))
    response = admin.get(f"/api/v1/users?{query}")
    assert response.status_code == 422
    problem = response.get_json()
    assert response.mimetype == "application/problem+json"
    [error] = problem["errors"]
    assert error["field"].startswith("role.") and "counselor" in error["message"]


# --- secrets stay secret -------------------------------------------------------------------


def test_the_secret_is_never_in_logs_or_api_responses_after_enrolment(world, auth, app, caplog):
    caplog.set_level(logging.DEBUG)
    admin = world.user(Role.ADMIN)
    auth.login(admin)
    token = _invite(auth, "kim@example.test")
    newcomer = app.test_client()
    preview = newcomer.post("/api/v1/invitations/preview", json={"token": token}).get_json()
    secret = preview["mfa"]["secret"]
    invitation_row = world.db.session.query(Invitation).one()
    sealed_invitation = invitation_row.totp_secret
    accepted = newcomer.post("/api/v1/invitations/accept", json={
        "token": token, "password": "a counselor's passphrase", "display_name": "Kim",
        "otp": invitation_code(newcomer, token)})
    kim = world.db.session.query(User).filter_by(email="kim@example.test").one()
    sealed = kim.totp_secret
    kim_auth = Auth(app.test_client())
    bodies = [
        accepted.get_data(as_text=True),
        newcomer.get("/api/v1/me").get_data(as_text=True),
        kim_auth.login(kim, "a counselor's passphrase").get_data(as_text=True),
        kim_auth.get("/api/v1/me").get_data(as_text=True),
        kim_auth.get("/api/v1/sessions").get_data(as_text=True),
        auth.get("/api/v1/users").get_data(as_text=True),
        auth.get("/api/v1/invitations").get_data(as_text=True),
        newcomer.post("/api/v1/invitations/preview", json={"token": token}).get_data(as_text=True),
        auth.post(f"/api/v1/users/{kim.id}/mfa-reset").get_data(as_text=True),
    ]
    assert kim_auth.csrf
    logs = "\n".join(r.getMessage() for r in caplog.records)
    for text in [*bodies, logs]:
        for needle in (secret, sealed, sealed_invitation, "otpauth"):
            assert needle and needle not in text
    # And none of the audit rows carry it.
    for row in world.db.session.query(AuditEvent):
        assert secret not in repr(vars(row))


def test_secrets_at_rest_need_the_key(app, world):
    user = world.user(Role.COUNSELOR)
    assert TOTP_SECRET not in user.totp_secret
    assert mfa.unseal(user.totp_secret) == TOTP_SECRET
    app.config["MFA_KEY"] = "another key"
    assert mfa.unseal(user.totp_secret) is None
    response = _login(app.test_client(), user.email, otp=_code(TOTP_SECRET))
    assert response.get_json()["code"] == "mfa_enrolment_required"


# --- the command line and the demo --------------------------------------------------------


def _cli_env(database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "COMPANION_INSTANCE_PATH": str(tmp_path / "inst"),
            "COMPANION_ASYNC_MODE": "threading", "SECRET_KEY": "test-secret", **extra}


def test_create_admin_prints_the_second_factor_once(app, world, database_url, tmp_path):
    from companion.cli import main

    result = CliRunner().invoke(main, ["create-admin", "Boss@Example.test", "--clinic", "New"],
                                env=_cli_env(database_url, tmp_path))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    url = lines[0].split(": ", 1)[1]
    secret = lines[1].rsplit(" ", 1)[1]
    assert lines[2].split(": ", 1)[1].startswith(
        "otpauth://totp/Companion:boss%40example.test?secret=")
    page = app.test_client()
    preview = page.post("/api/v1/invitations/preview", json={"token": _token(url)}).get_json()
    assert preview["role"] == "admin" and preview["mfa"]["secret"] == secret
    accepted = page.post("/api/v1/invitations/accept", json={
        "token": _token(url), "password": "the first admin's passphrase", "display_name": "B",
        "otp": _code(secret)})
    assert accepted.status_code == 201


def test_mfa_reset_command(app, world, database_url, tmp_path):
    from companion.cli import main

    admin = world.user(Role.ADMIN, email="lost.phone@example.test")
    admin_id = admin.id
    world.db.session.commit()  # SQLite: the test's session lets go of the write lock
    result = CliRunner().invoke(main, ["mfa-reset", "lost.phone@example.test"],
                                env=_cli_env(database_url, tmp_path))
    assert result.exit_code == 0, result.output
    url = result.output.rsplit(" ", 1)[1].strip()
    preview = app.test_client().post("/api/v1/invitations/preview",
                                     json={"token": _token(url)}).get_json()
    assert preview["purpose"] == "mfa_reset"
    [row] = _audit(world, "mfa_reset")
    assert (row.actor_id, row.channel, row.subject_id) == (None, "cli", admin_id)
    world.db.session.commit()
    refused = CliRunner().invoke(main, ["mfa-reset", "nobody@example.test"],
                                 env=_cli_env(database_url, tmp_path))
    assert refused.exit_code == 1


def test_demo_code_command_gives_the_demo_staff_code_outside_production(
    app, world, database_url, tmp_path
):
    from companion import demo
    from companion.cli import main

    world.user(Role.COUNSELOR, email="counselor@demo.test",
               totp_secret=mfa.seal(demo.DEMO_TOTP_SECRET))
    world.user(Role.CLIENT, email="client1@demo.test")
    runner = CliRunner()
    env = _cli_env(database_url, tmp_path)
    result = runner.invoke(main, ["demo-code", "counselor@demo.test"], env=env)
    assert result.exit_code == 0, result.output
    code = result.output.split()[0]
    assert code in {_code(demo.DEMO_TOTP_SECRET, d) for d in (-1, 0, 1)}
    assert _login(app.test_client(), "counselor@demo.test", otp=code).status_code == 200
    assert runner.invoke(main, ["demo-code", "client1@demo.test"], env=env).exit_code == 1
    production = runner.invoke(main, ["demo-code", "counselor@demo.test"],
                               env={**env, "COMPANION_ENV": "production",
                                    "COMPANION_AUDIT_KEY": AUDIT_KEY})
    assert production.exit_code == 1
    assert "never given out in production" in production.output
    assert code not in production.output


def test_demo_logins_text_says_how_to_get_a_code():
    from companion import demo

    text = demo.logins_text("http://127.0.0.1:5000/")
    assert "demo-code" in text and demo.DEMO_TOTP_SECRET in text


# --- the contract and the schema ----------------------------------------------------------


def test_login_body_documents_the_code(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    login = doc["components"]["schemas"]["LoginBody"]
    assert set(login["required"]) == {"email", "password"}
    assert "otp_required" in login["properties"]["otp"]["description"]
    assert "code" in doc["components"]["schemas"]["Problem"]["properties"]
    assert "/api/v1/users/{user_id}/mfa-reset" in doc["paths"]


def test_migration_runs_down_and_up(tmp_path):
    from flask_migrate import downgrade, upgrade

    from companion import create_app
    from companion.core.extensions import db
    from tests.browser.conftest import fresh_database
    from tests.conftest import _test_config

    url = fresh_database(tmp_path, "companion_mfa_migration")
    app = create_app(_test_config(url, tmp_path / "instance"))

    def columns(table: str) -> set[str]:
        return {c["name"] for c in inspect(db.engine).get_columns(table)}

    with app.app_context():
        upgrade()
        assert {"totp_secret", "totp_last_step"} <= columns("user_account")
        clinic = Clinic(name="Migrated")
        db.session.add(clinic)
        db.session.flush()
        db.session.add(User(clinic_id=clinic.id, email="m@example.test", display_name="M",
                            role=Role.COUNSELOR, password_hash="x", totp_secret="sealed",
                            totp_last_step=1))
        db.session.commit()
        db.session.remove()
        downgrade(revision="0008_family_sessions")
        assert "totp_secret" not in columns("user_account")
        assert not {"purpose", "totp_secret"} & columns("invitation")
        upgrade()
        assert {"purpose", "totp_secret"} <= columns("invitation")
        assert db.session.query(User).one().totp_secret is None
        db.session.remove()
        db.engine.dispose()


def test_the_reset_link_password_check_counts_with_the_login_failures(world, make_auth, app):
    # The reset link takes the account's password: it must give a guesser no more tries than
    # the login does, from the same address, and share the count with it.
    counselor = world.user(Role.COUNSELOR)
    issued = make_auth(world.user(Role.ADMIN)).post(
        f"/api/v1/users/{counselor.id}/mfa-reset").get_json()
    token = _token(issued["url"])
    page = app.test_client()
    secret = page.post("/api/v1/invitations/preview", json={"token": token}).get_json()["mfa"][
        "secret"]
    for _ in range(5):
        assert _login(page, counselor.email, password="not my password").status_code == 401
    for _ in range(5):
        wrong = page.post("/api/v1/invitations/accept", json={
            "token": token, "password": "not my password", "otp": _code(secret)})
        assert wrong.status_code == 422 and wrong.get_json()["errors"][0]["field"] == "password"
    right = {"token": token, "password": PASSWORD, "otp": _code(secret)}
    assert page.post("/api/v1/invitations/accept", json=right).status_code == 429
    assert _login(page, counselor.email).status_code == 429
    # From another address the link still works: nobody elsewhere can lock them out.
    elsewhere = page.post("/api/v1/invitations/accept", json=right,
                          environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert elsewhere.status_code == 201
