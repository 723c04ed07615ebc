"""The OpenAPI document is valid 3.1 and lists exactly the routes the server has."""

from __future__ import annotations

import re

from openapi_spec_validator import validate


def test_document_is_public_and_valid_openapi_3_1(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_document_matches_the_routes(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    documented = {
        (path, method.upper()) for path, ops in doc["paths"].items() for method in ops
    }
    served = set()
    for rule in app.url_map.iter_rules():
        if not (rule.rule.startswith("/api/v1/") or rule.rule == "/healthz"):
            continue
        if rule.rule == "/api/v1/openapi.json":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            served.add((path, method))
    assert documented == served


def test_documented_login_errors_match_behaviour(client, world):
    doc = client.get("/api/v1/openapi.json").get_json()
    login = doc["paths"]["/api/v1/auth/login"]["post"]
    assert {"200", "401", "422", "429"} <= set(login["responses"])
    schema = doc["components"]["schemas"]["LoginBody"]
    assert set(schema["required"]) == {"email", "password"}
    response = client.post("/api/v1/auth/login", json={"email": "x@y.test", "password": "nope"})
    assert str(response.status_code) in login["responses"]
