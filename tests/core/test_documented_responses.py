"""Under test every JSON answer is held to the response model its route documents
(companion/core/spec.py): so the OpenAPI document is what the server returns, for every
response any test gets, not only the fuzzer's. These check the check itself, on a route of
their own."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Blueprint, Flask
from pydantic import BaseModel

from companion.core.spec import Registry


class Inner(BaseModel):
    name: str


class Answer(BaseModel):
    id: int
    items: list[Inner]


def _app_answering(result: Any, check: bool = True) -> Flask:
    app = Flask(__name__)
    app.config.update(TESTING=True, CHECK_RESPONSES=check)
    blueprint = Blueprint("probe", __name__, url_prefix="/probe")
    Registry().route(blueprint, "/thing", "GET", summary="A probe", tag="probe", auth=False,
                     responses={200: Answer})(lambda: result)
    app.register_blueprint(blueprint)
    return app


def test_an_answer_that_is_its_model_goes_out():
    app = _app_answering({"id": 1, "items": [{"name": "a"}]})
    assert app.test_client().get("/probe/thing").get_json() == {"id": 1, "items": [{"name": "a"}]}


@pytest.mark.parametrize("result, complaint", [
    ({"id": "one", "items": []}, "is not its Answer"),
    ({"items": []}, "is not its Answer"),
    ({"id": 1, "items": [], "secret": "x"}, "does not document: secret"),
    ({"id": 1, "items": [{"name": "a", "email": "x"}]}, "does not document: items.email"),
    (({"id": 1, "items": []}, 201), "answered 201, which it does not document"),
])
def test_an_answer_the_document_does_not_describe_fails_the_test(result, complaint):
    app = _app_answering(result)
    with pytest.raises(AssertionError, match=complaint):
        app.test_client().get("/probe/thing")


def test_without_the_setting_nothing_is_checked():
    app = _app_answering({"id": 1, "items": [], "extra": True}, check=False)
    assert app.test_client().get("/probe/thing").status_code == 200
