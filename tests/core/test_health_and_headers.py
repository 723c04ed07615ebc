"""Health check, security headers, problem documents, the crisis lines."""

from __future__ import annotations

import re

from companion import create_app
from tests.conftest import _test_config


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_503_when_the_database_is_down(tmp_path):
    # Nothing listens on port 1: the database is unreachable.
    app = create_app(_test_config("postgresql://nobody@127.0.0.1:1/none", tmp_path))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "unavailable"}


def test_api_answers_503_problem_when_the_database_is_down(tmp_path):
    app = create_app(_test_config("postgresql://nobody@127.0.0.1:1/none", tmp_path))
    response = app.test_client().post(
        "/api/v1/auth/login", json={"email": "a@b.test", "password": "whatever1"})
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"


def test_security_headers_on_pages_and_api(client):
    for path in ("/", "/login", "/api/v1/crisis-resources"):
        h = client.get(path).headers
        csp = h["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["Referrer-Policy"] == "same-origin"
        # Rooms need camera and microphone: they are allowed for this origin.
        assert "camera=(self)" in h["Permissions-Policy"]
    assert client.get("/api/v1/crisis-resources").headers["Cache-Control"] == "no-store"


def test_unknown_api_path_is_a_problem(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_crisis_lines_come_from_configuration(client, app):
    body = client.get("/api/v1/crisis-resources").get_json()
    names = [r["name"] for r in body["items"]]
    assert "988 Suicide & Crisis Lifeline" in names
    page = client.get("/").get_data(as_text=True)
    for expected in ('href="tel:988"', 'href="tel:18006624357"', "741741", 'href="tel:911"',
                     "HOME"):
        assert expected in page
    app.config["CRISIS_RESOURCES"] = [{"name": "Samaritans", "detail": "UK", "call": "116123"}]
    page = client.get("/login").get_data(as_text=True)
    assert 'href="tel:116123"' in page and "tel:988" not in page


def test_shell_and_assets_are_served_locally(client):
    page = client.get("/home").get_data(as_text=True)
    assert "http://" not in page.replace("http://www.w3.org", "")
    assert "https://" not in page.split('id="crisis"')[0]  # nothing loads from elsewhere
    for asset in ("/app/app.js", "/app/app.css", "/sw.js", "/manifest.webmanifest"):
        response = client.get(asset)
        assert response.status_code == 200, asset
        response.close()


def test_service_worker_cache_is_named_by_the_release(client, monkeypatch, tmp_path):
    """A changed client file gives the service worker a new cache name, so browsers drop last
    release's shell instead of running its code once more."""
    from companion.core import web

    (tmp_path / "app").mkdir()
    (tmp_path / "sw.js").write_text((web.WEBUI_PATH / "sw.js").read_text())
    (tmp_path / "app" / "login.js").write_text("export const v = 1;")
    monkeypatch.setattr(web, "WEBUI_PATH", tmp_path)

    def cache_name() -> str:
        web.shell_version.cache_clear()
        body = client.get("/sw.js").get_data(as_text=True)
        match = re.search(r"const CACHE = '(companion-shell-[0-9a-f]{16})'", body)
        assert match, "the served worker names its cache by a digest"
        return match.group(1)

    first = cache_name()
    assert cache_name() == first  # same files, same name
    (tmp_path / "app" / "login.js").write_text("export const v = 2;")
    assert cache_name() != first
    web.shell_version.cache_clear()


def test_nul_characters_are_refused_with_the_field_named(client, world, auth):
    """PostgreSQL cannot store NUL in text: it must be a 422, never a 500 (found by fuzzing)."""
    from companion.accounts.models import Role

    auth.login(world.user(Role.ADMIN))
    response = auth.post("/api/v1/invitations", json={"email": "a@b.test\u0000",
                                                      "role": "counselor"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == [{"field": "email",
                                              "message": "Text may not contain NUL characters."}]
    response = auth.get("/api/v1/invitations?limit=5\u0000")
    assert response.status_code == 422 and response.get_json()["errors"][0]["field"] == "limit"
