"""Logging in and out, timeouts, rate limits, cookies and CSRF."""

from __future__ import annotations

from datetime import timedelta

import pytest

from companion.accounts import services as accounts
from companion.accounts.models import LoginSession, Role, User
from companion.core import clock
from tests.conftest import PASSWORD


def test_login_returns_user_and_csrf_and_sets_a_safe_cookie(client, world, auth):
    user = world.user(Role.COUNSELOR, name="Chris")
    response = auth.login(user)
    assert response.status_code == 200
    body = response.get_json()
    assert body["user"] == {
        "id": user.id, "email": user.email, "display_name": "Chris", "role": "counselor",
    }
    assert len(body["csrf_token"]) >= 32
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Expires" not in cookie  # no long-lived remember-me
    assert client.get("/api/v1/me").get_json()["email"] == user.email


def test_secure_cookie_behind_https(database_url, tmp_path):
    from companion import create_app
    from tests.conftest import _test_config

    config = _test_config(database_url, tmp_path) | {"HTTPS": True}
    app = create_app(config)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    with app.app_context():
        response = app.test_client().get("/healthz")
        assert "max-age" in response.headers["Strict-Transport-Security"]
        from companion.core.extensions import db

        db.session.remove()
        db.engine.dispose()


def test_wrong_password_and_unknown_address_get_the_same_answer(client, world, auth):
    user = world.user()
    wrong = auth.login(user, "not the password")
    unknown = auth.login("nobody@example.test", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.mimetype == unknown.mimetype == "application/problem+json"
    assert wrong.get_json() == unknown.get_json()
    assert "do not match" in wrong.get_json()["detail"]


def test_email_is_matched_without_case_or_spaces(world, auth):
    user = world.user()
    assert auth.login(f"  {user.email.upper()} ", PASSWORD).status_code == 200


def test_me_needs_a_session(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_logout_ends_the_session_on_the_server(client, world, auth):
    user = world.user()
    auth.login(user)
    old_cookie = client.get_cookie("companion_session").value
    response = auth.post("/api/v1/auth/logout")
    assert response.status_code == 204
    assert "storage" in response.headers["Clear-Site-Data"]
    # Replaying the old cookie does not bring the session back.
    client.set_cookie("companion_session", old_cookie)
    assert client.get("/api/v1/me").status_code == 401
    login = world.db.session.query(LoginSession).one()
    assert login.end_reason == "logout"


def test_each_login_gets_a_new_session_id(client, world, auth):
    user = world.user()
    auth.login(user)
    first = client.get_cookie("companion_session").value
    auth.login(user)
    assert client.get_cookie("companion_session").value != first
    assert world.db.session.query(LoginSession).count() == 2


def test_idle_timeout_logs_out(client, world, auth, app):
    auth.login(world.user())
    clock.advance(timedelta(minutes=app.config["IDLE_TIMEOUT_MINUTES"] - 1))
    assert client.get("/api/v1/me").status_code == 200  # activity keeps it alive
    clock.advance(timedelta(minutes=app.config["IDLE_TIMEOUT_MINUTES"] + 1))
    assert client.get("/api/v1/me").status_code == 401
    assert world.db.session.query(LoginSession).one().end_reason == "idle"


def test_absolute_timeout_even_when_active(client, world, auth, app):
    auth.login(world.user())
    for _ in range(app.config["ABSOLUTE_TIMEOUT_HOURS"] * 3 + 1):
        clock.advance(timedelta(minutes=20))
        client.get("/api/v1/me")
    assert client.get("/api/v1/me").status_code == 401
    assert world.db.session.query(LoginSession).one().end_reason == "expired"


def test_eleventh_rapid_failure_is_refused_with_429(world, auth):
    user = world.user()
    for _ in range(10):
        assert auth.login(user, "wrong password").status_code == 401
    response = auth.login(user, "wrong password")
    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    # Even the right password waits: the limit is on the attempts, not on the result.
    assert auth.login(user).status_code == 429


def test_successful_logins_do_not_count_against_the_limit(world, auth):
    user = world.user()
    for _ in range(15):
        assert auth.login(user).status_code == 200


def test_state_changing_request_without_csrf_is_refused(client, world, auth):
    auth.login(world.user())
    response = client.post("/api/v1/auth/logout")
    assert response.status_code == 403
    assert response.get_json()["errors"][0]["field"] == "X-CSRF-Token"
    assert client.get("/api/v1/me").status_code == 200  # still logged in: nothing changed


def test_login_body_must_be_json(client, world):
    user = world.user()
    response = client.post("/api/v1/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 415


def test_login_validation_names_the_field(client):
    response = client.post("/api/v1/auth/login", json={"email": "a@b.test"})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "password"
    response = client.post("/api/v1/auth/login", json={"email": "a@b.test", "password": "x",
                                                       "admin": True})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "admin"


def test_passwords_are_stored_as_argon2id(world):
    user = world.user()
    assert user.password_hash.startswith("$argon2id$")


def test_deactivated_user_cannot_log_in_and_is_logged_out(client, world, auth):
    user = world.user()
    auth.login(user)
    user.active = False
    world.db.session.commit()
    assert client.get("/api/v1/me").status_code == 401
    assert auth.login(user).status_code == 401


def test_password_rules():
    import pytest

    for bad, words in [("short", "at least"), ("password123", "too common"), ("x" * 200, "most")]:
        with pytest.raises(accounts.AccountError) as err:
            accounts.check_password_rules(bad)
        assert words in err.value.message
    accounts.check_password_rules("a long passphrase of my own")


def test_login_is_audited(world, auth):
    from companion.core.models import AuditEvent

    user = world.user()
    auth.login(user)
    row = world.db.session.query(AuditEvent).one()
    assert (row.actor_id, row.action, row.record_type) == (user.id, "login", "user")
    assert isinstance(world.db.session.get(User, user.id), User)


# --- brute force: per (account, address) and per address, behind trusted proxies only -------

ATTACKER, VICTIM, PROXY = "203.0.113.9", "198.51.100.7", "10.0.0.2"


def _attempt(client, user, password, remote=None, forwarded=None):
    environ = {"REMOTE_ADDR": remote} if remote else {}
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post("/api/v1/auth/login", json={"email": user.email, "password": password},
                       environ_base=environ, headers=headers)


@pytest.fixture
def behind_one_proxy(app, database_url, tmp_path):
    """The same server behind one reverse proxy it trusts (COMPANION_PROXY_HOPS=1)."""
    from companion import create_app
    from tests.conftest import RequestContextClient, _test_config

    proxied = create_app(_test_config(database_url, tmp_path / "proxied") | {"PROXY_HOPS": 1})
    proxied.test_client_class = RequestContextClient
    yield proxied
    with proxied.app_context():
        from companion.core.extensions import db

        db.session.remove()
        db.engine.dispose()


def test_failures_from_one_address_do_not_lock_the_client_out_elsewhere(client, world):
    user = world.user()
    for _ in range(10):
        assert _attempt(client, user, "wrong password", ATTACKER).status_code == 401
    assert _attempt(client, user, PASSWORD, ATTACKER).status_code == 429
    assert _attempt(client, user, PASSWORD, VICTIM).status_code == 200


def test_behind_a_trusted_proxy_each_client_address_counts_on_its_own(world, behind_one_proxy):
    user = world.user()
    proxied = behind_one_proxy.test_client()
    # Every request comes from the proxy; X-Forwarded-For carries the client's address. The
    # attacker also sends a forged one naming the victim: the proxy appends the real one.
    for _ in range(10):
        assert _attempt(proxied, user, "wrong password", PROXY,
                        f"{VICTIM}, {ATTACKER}").status_code == 401
    assert _attempt(proxied, user, PASSWORD, PROXY, ATTACKER).status_code == 429
    assert _attempt(proxied, user, PASSWORD, PROXY, VICTIM).status_code == 200


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(client, world):
    user = world.user()
    # A new forged address each time buys no new attempts from the real one.
    for i in range(10):
        assert _attempt(client, user, "wrong password", ATTACKER,
                        f"192.0.2.{i}").status_code == 401
    assert _attempt(client, user, PASSWORD, ATTACKER, "192.0.2.99").status_code == 429
    # Nor does naming the victim's address lock the victim out.
    assert _attempt(client, user, PASSWORD, VICTIM).status_code == 200


def test_proxy_hops_come_from_the_environment(monkeypatch):
    from companion.core.config import load_config

    assert load_config({"SECRET_KEY": "k", "DATABASE_URL": "sqlite://"})["PROXY_HOPS"] == 0
    monkeypatch.setenv("COMPANION_PROXY_HOPS", "2")
    assert load_config({"SECRET_KEY": "k", "DATABASE_URL": "sqlite://"})["PROXY_HOPS"] == 2
