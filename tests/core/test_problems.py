"""Error messages a person reads: every pydantic error the API can produce becomes a sentence about
what they typed, naming the field by its human name (companion/core/problems.py)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

import pytest
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from pydantic import StringConstraints as Text

from companion.accounts.models import Role
from companion.core import clock
from companion.core.problems import _SENTENCES, _TYPE_ERRORS, sentence, summary, validation_errors
from companion.core.spec import registry

# What pydantic says, and what a person must never read.
RAW_WORDING = re.compile(
    r"Input should|String should|List should|Dictionary should|Field required|Value error"
    r"|not permitted|valid integer|valid string|\^|\$|\\s|after validation|unable to"
)
A_SENTENCE = re.compile(r"^[A-Z\u201c].*[.]$", re.S)
# Types translated outside the template table (by the bounds or words they carry).
SPECIAL_TYPES = {"string_too_short", "too_short", "too_long", "value_error", "assertion_error"}
KNOWN_TYPES = set(_SENTENCES) | SPECIAL_TYPES


class Everything(BaseModel):
    """One field per kind of constraint the API's schemas use."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Text(min_length=1, max_length=5)] = "a"
    token: str = Field("0123456789", min_length=10)
    sleep_hours: float = Field(1, ge=0, le=24)
    limit: int = Field(1, gt=0, lt=100)
    used: Literal["yes", "no"] = "no"
    need_to_talk: bool = False
    id: UUID = UUID(int=1)
    occurred_at: AwareDatetime | None = None
    attended_on: Any = None
    warning_signs: list[Annotated[str, Text(max_length=3)]] = Field(
        default_factory=list, max_length=2)
    categories: list[str] = Field(default_factory=lambda: ["x"], min_length=1)
    responses: dict[str, Annotated[str, Text(max_length=3)] | int | bool] = Field(
        default_factory=dict)
    client_id: int = Field(1, ge=1, le=2**31 - 1)
    time: int = 1  # named like a type: still a field
    day: int | list[int] = 1
    required_field: str


class Dated(BaseModel):
    attended_on: __import__("datetime").date


def messages(model: type[BaseModel], data: dict[str, Any]) -> dict[str, str]:
    try:
        model.model_validate(data)
    except ValidationError as error:
        return {e["field"]: e["message"] for e in validation_errors(error, model)}
    raise AssertionError("valid")


@pytest.mark.parametrize(("data", "field", "expected"), [
    ({"zz": 1}, "zz", "This request has no field called zz."),
    ({"name": ""}, "name", "Name cannot be empty."),
    ({"name": "abcdefgh"}, "name", "Name must be 5 characters or fewer."),
    ({"name": 3}, "name", "Name must be text."),
    ({"token": "short"}, "token", "Token must be at least 10 characters."),
    ({"sleep_hours": 25}, "sleep_hours", "Sleep hours must be 24 or less."),
    ({"sleep_hours": -0.5}, "sleep_hours", "Sleep hours must be 0 or more."),
    ({"sleep_hours": "lots"}, "sleep_hours", "Sleep hours must be a number."),
    ({"sleep_hours": []}, "sleep_hours", "Sleep hours must be a number."),
    ({"limit": 0}, "limit", "The number of results must be more than 0."),
    ({"limit": 100}, "limit", "The number of results must be less than 100."),
    ({"limit": 1.5}, "limit", "The number of results must be a whole number."),
    ({"limit": "x"}, "limit", "The number of results must be a whole number."),
    ({"limit": []}, "limit", "The number of results must be a whole number."),
    ({"used": "maybe"}, "used", "Used must be one of: yes or no."),
    ({"need_to_talk": "perhaps"}, "need_to_talk",
     "\u201cI need to talk to someone\u201d must be yes or no (true or false)."),
    ({"need_to_talk": []}, "need_to_talk",
     "\u201cI need to talk to someone\u201d must be yes or no (true or false)."),
    ({"id": "nope"}, "id", "The entry's id must be an id made by the app (a UUID)."),
    ({"id": 5}, "id", "The entry's id must be an id made by the app (a UUID)."),
    ({"occurred_at": "2026-11-22T18:05:00"}, "occurred_at",
     "The time of the entry must say its offset from UTC, like 2026-11-22T18:05:00-06:00."),
    ({"occurred_at": "soon"}, "occurred_at",
     "The time of the entry must be a date and time, like 2026-11-22T18:05:00-06:00."),
    ({"occurred_at": []}, "occurred_at",
     "The time of the entry must be a date and time, like 2026-11-22T18:05:00-06:00."),
    ({"warning_signs": ["abcdef"]}, "warning_signs.0",
     "Item 1 of warning signs must be 3 characters or fewer."),
    ({"warning_signs": ["a", "b", "c"]}, "warning_signs",
     "Warning signs must have at most 2 items."),
    ({"warning_signs": "a"}, "warning_signs", "Warning signs must be a list."),
    ({"categories": []}, "categories", "Categories must have at least 1 item."),
    ({"responses": []}, "responses", "Responses must be a set of named values."),
    # A union (text, number or yes/no): the branch the value was closest to speaks.
    ({"responses": {"situation": "abcdef"}}, "responses.situation",
     "Situation must be 3 characters or fewer."),
    ({"day": "x"}, "day", "Day must be a whole number."),
    ({"day": ["x"]}, "day.0", "Item 1 of day must be a whole number."),
    ({"time": "x"}, "time", "Start time must be a whole number."),
    ({"client_id": 0}, "client_id", "The client is not one that exists."),
    ({"client_id": 2**40}, "client_id", "The client is not one that exists."),
])
def test_each_error_is_a_sentence_about_the_field(data, field, expected):
    got = messages(Everything, {"required_field": "x", **data})
    assert got == {field: expected}


def test_missing_fields_are_required():
    assert messages(Everything, {}) == {"required_field": "Required field is required."}


@pytest.mark.parametrize(("value", "expected"), [
    ("yesterday", "The day you went must be a date, like 2026-11-22."),
    ([], "The day you went must be a date, like 2026-11-22."),
    ("2026-11-22T10:30:00", "The day you went must be a date without a time, like 2026-11-22."),
    ("2026-11-22T", "The day you went must be a date, like 2026-11-22."),
])
def test_dates(value, expected):
    assert messages(Dated, {"attended_on": value}) == {"attended_on": expected}


def test_a_validators_own_words_become_a_sentence():
    item = {"type": "value_error", "loc": ("occurred_at",), "msg": "Value error, is in the future",
            "ctx": {"error": ValueError("is in the future")}}
    assert sentence(item) == "The time of the entry is in the future."
    item["ctx"] = {"error": ValueError("not a time zone name such as America/Chicago")}
    item["loc"] = ("timezone",)
    assert sentence(item) == "Time zone is not a time zone name such as America/Chicago."
    item["ctx"] = {"error": ValueError("Pick a day from the list.")}
    assert sentence(item) == "Pick a day from the list."


def test_the_detail_says_it_all():
    one = [{"field": "sleep_hours", "message": "Sleep hours must be 24 or less."}]
    assert summary(one) == "Sleep hours must be 24 or less."
    many = [{"field": f"f{i}", "message": f"Field {i} is required."} for i in range(5)]
    assert summary(many) == ("5 answers need a change. Field 0 is required. Field 1 is required. "
                             "Field 2 is required. And 2 more.")


BAD_VALUES: list[Any] = [
    None, "", "x", "a" * 10001, -1, 0, 10**10, 2**40, 1.5, True, [], ["x"], [1] * 40, {},
    {"k": "a" * 5000}, [{"name": ""}], [{"name": "a", "phone": "abc"}], [{"x": 1}], [None],
    ["a" * 400], "2999-01-01T00:00:00+00:00", "2020-01-01T00:00:00", "2020-01-01",
    "2026-11-22T10:30:00+00:00", "2020-01-01T00:00:00+15:00", "12:99", "zzz/zzz", "ftp://x",
    {str(i): i for i in range(25)}, {"good_job": "x"},
]


def _models() -> list[type[BaseModel]]:
    found = {m for op in registry.operations for m in (op.body, op.query) if m is not None}
    return sorted(found, key=lambda m: m.__name__)


def test_every_error_the_api_can_produce_reads_as_a_sentence(app):
    """Each body and query schema of the API, fed wrong values field by field: every message is a
    sentence in plain words, and every error type has its own sentence (none falls through)."""
    assert len(_models()) > 30
    seen_types: set[str] = set()
    with app.test_request_context():
        for model in _models():
            tries: list[dict[str, Any]] = [{}, {"not_a_field": 1}]
            for name, info in model.model_fields.items():
                tries += [{info.alias or name: value} for value in BAD_VALUES]
            for data in tries:
                try:
                    model.model_validate(data)
                except ValidationError as error:
                    seen_types |= {e["type"] for e in error.errors()}
                    for item in validation_errors(error, model):
                        where = f"{model.__name__} {data!r:.80}: {item}"
                        assert A_SENTENCE.match(item["message"]), where
                        assert not RAW_WORDING.search(item["message"]), where
                        # Union branches ("int", "list[int]") are not part of the field's name.
                        assert not re.search(r"\.(int|str|bool|date|datetime|list\[)",
                                             item["field"]), where
    assert seen_types <= KNOWN_TYPES, seen_types - KNOWN_TYPES
    # The fuzzing above reached the kinds of errors the schemas have.
    assert {"missing", "extra_forbidden", "string_too_long", "string_pattern_mismatch",
            "less_than_equal", "literal_error", "value_error", "timezone_aware",
            "too_long"} <= seen_types
    assert _TYPE_ERRORS <= KNOWN_TYPES


# Through the API, as the screens see it ---------------------------------------------------------


def test_a_bad_email_gets_an_example_of_a_good_one(world, auth):
    auth.login(world.user(Role.ADMIN))
    response = auth.post("/api/v1/invitations", json={"email": "alex-at-home", "role": "client"})
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["errors"] == [{"field": "email",
                                  "message": "Enter an email address like name@example.com."}]
    assert problem["detail"] == "Enter an email address like name@example.com."


def test_an_empty_login_says_what_is_missing(client):
    response = client.post("/api/v1/auth/login", json={"email": "", "password": ""})
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["errors"] == [
        {"field": "email", "message": "Email address cannot be empty."},
        {"field": "password", "message": "Password cannot be empty."},
    ]
    assert problem["detail"] == ("2 answers need a change. Email address cannot be empty. "
                                 "Password cannot be empty.")


def test_a_check_in_with_too_much_sleep_names_sleep_hours(world, make_auth):
    client = make_auth(world.user(Role.CLIENT))
    response = client.post("/api/v1/checkins", json={
        "id": str(uuid.uuid4()), "occurred_at": (clock.now() - timedelta(minutes=1)).isoformat(),
        "mood": 5, "craving": 1, "used": "no", "sleep_hours": 25})
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"field": "sleep_hours", "message": "Sleep hours must be 24 or less."}]


def test_a_safety_plan_phone_with_letters_is_marked(world, make_auth):
    client = make_auth(world.user(Role.CLIENT))
    response = client.put("/api/v1/safety-plan", json={
        "help_contacts": [{"name": "Ana", "phone": "555-0199"},
                          {"name": "Sam", "phone": "call me"}]})
    assert response.status_code == 422
    assert response.get_json()["errors"] == [{
        "field": "help_contacts.1.phone",
        "message": "Phone number may only have digits, spaces and + - ( ) . # *."}]


def test_a_bad_query_parameter_is_a_sentence_too(world, make_auth):
    client = make_auth(world.user(Role.CLIENT))
    response = client.get("/api/v1/meetings?from=7pm&day=9")
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"field": "day", "message": "Day must be 6 or less."},
        {"field": "from", "message": "Enter the time as hours and minutes on a 24-hour clock, "
                                     "like 18:30."},
    ]
