"""Errors as application/problem+json (RFC 9457), naming the field at fault."""

from __future__ import annotations

from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from flask import Response, json
from pydantic import BaseModel, Field, ValidationError

PROBLEM_TYPE = "application/problem+json"


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldError] = []
    code: str | None = Field(
        None, description="A machine-readable reason where a client acts on it, e.g. "
        "otp_required (a staff login needs the authenticator code)"
    )


class ApiProblem(Exception):
    """Raised anywhere under /api/v1 to answer with a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}
        self.code = code


def field_problem(field: str, message: str, status: int = 422) -> ApiProblem:
    return ApiProblem(status, "Invalid request", message, [{"field": field, "message": message}])


def problem_response(
    status: int,
    title: str,
    detail: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    code: str | None = None,
) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    if code:
        body["code"] = code  # an extension member (RFC 9457 section 3.2)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_TYPE)
    response.headers.update(headers or {})
    return response


def validation_errors(error: ValidationError, model: Any = None,
                      prefix: str = "") -> list[dict[str, str]]:
    """Pydantic's errors as [{field, message}]: the field as a dotted path, the message a sentence
    a person can act on ("Sleep hours must be 24 or less."), one per field."""
    chosen: dict[tuple[Any, ...], tuple[tuple[bool, int], list[Any], Any]] = {}
    for item in error.errors(include_url=False):
        loc, union_at = _field_path(model, item["loc"])
        # A value of a union type fails every member: say what the closest member wanted (one
        # whose bounds it broke rather than its type; else the one it went deepest into).
        rank = (item["type"] not in _TYPE_ERRORS, len(loc))
        key = tuple(loc[:union_at])
        if key not in chosen or rank > chosen[key][0]:
            chosen[key] = (rank, loc, item)
    return [{"field": f"{prefix}{'.'.join(str(p) for p in loc)}" or "body",
             "message": sentence(item, loc)} for _, loc, item in chosen.values()]


def summary(errors: list[dict[str, str]]) -> str:
    """A problem's detail: the sentence itself for one error, the first few of several."""
    if len(errors) == 1:
        return errors[0]["message"]
    shown = " ".join(e["message"] for e in errors[:3])
    more = f" And {len(errors) - 3} more." if len(errors) > 3 else ""
    return f"{len(errors)} answers need a change. {shown}{more}"


# Patterns a field must match, and the sentence that says how (schemas register theirs).
_PATTERN_SENTENCES: dict[str, str] = {}


def pattern_sentence(pattern: str, text: str) -> str:
    """Declare what a person is told when a value does not match ``pattern``; returns it."""
    _PATTERN_SENTENCES[pattern] = text
    return pattern


# How fields are called in sentences, where their name in the API does not read well.
FIELD_NAMES = {
    "attended_on": "The day you went",
    "body": "The request",
    "client_id": "The client",
    "conference_phone": "The dial-in number",
    "conference_url": "The join link",
    "cursor": "The page link",
    "display_name": "Name",
    "duration_minutes": "The length in minutes",
    "duration_seconds": "The length in seconds",
    "email": "Email address",
    "every_weeks": "How many weeks apart",
    "family_link_id": "The family member",
    "from": "From",
    "group_id": "The group",
    "id": "The entry's id",
    "limit": "The number of results",
    "medication_taken": "Medication",
    "meeting_id": "The meeting",
    "need_to_talk": "\u201cI need to talk to someone\u201d",
    "occurred_at": "The time of the entry",
    "otp": "The 6-digit code",
    "phone": "Phone number",
    "program_id": "The program",
    "q": "Search words",
    "radius_km": "The distance",
    "time": "Start time",
    "trigger_other": "Another trigger",
    "tz": "Time zone",
    "timezone": "Time zone",
    "url": "The feed URL",
    "user_ids": "The staff list",
    "version": "The plan's version",
    "where": "Where you were",
    "with_whom": "Who you were with",
}

# Errors that mean "not this kind of value" rather than "this kind, but out of bounds".
_TYPE_ERRORS = frozenset({
    "bool_parsing", "bool_type", "date_from_datetime_parsing", "date_parsing", "date_type",
    "datetime_from_date_parsing", "datetime_parsing", "datetime_type", "dict_type",
    "float_parsing", "float_type", "int_from_float", "int_parsing", "int_type", "list_type",
    "model_attributes_type", "model_type", "string_type", "uuid_parsing", "uuid_type",
})

_SENTENCES = {
    "missing": "{name} is required.",
    "extra_forbidden": "This request has no field called {key}.",
    "string_type": "{name} must be text.",
    "string_too_long": "{name} must be {max_length} characters or fewer.",
    "string_pattern_mismatch": "{name} is not in the expected form.",
    "int_type": "{name} must be a whole number.",
    "int_parsing": "{name} must be a whole number.",
    "int_from_float": "{name} must be a whole number.",
    "float_type": "{name} must be a number.",
    "float_parsing": "{name} must be a number.",
    "bool_type": "{name} must be yes or no (true or false).",
    "bool_parsing": "{name} must be yes or no (true or false).",
    "greater_than": "{name} must be more than {gt}.",
    "greater_than_equal": "{name} must be {ge} or more.",
    "less_than": "{name} must be less than {lt}.",
    "less_than_equal": "{name} must be {le} or less.",
    "literal_error": "{name} must be one of: {expected}.",
    "enum": "{name} must be one of: {expected}.",
    "list_type": "{name} must be a list.",
    "dict_type": "{name} must be a set of named values.",
    "model_type": "{name} must be a set of named values.",
    "model_attributes_type": "{name} must be a set of named values.",
    "uuid_type": "{name} must be an id made by the app (a UUID).",
    "uuid_parsing": "{name} must be an id made by the app (a UUID).",
    "datetime_type": "{name} must be a date and time, like 2026-11-22T18:05:00-06:00.",
    "datetime_parsing": "{name} must be a date and time, like 2026-11-22T18:05:00-06:00.",
    "datetime_from_date_parsing":
        "{name} must be a date and time, like 2026-11-22T18:05:00-06:00.",
    "timezone_aware": "{name} must say its offset from UTC, like 2026-11-22T18:05:00-06:00.",
    "date_type": "{name} must be a date, like 2026-11-22.",
    "date_parsing": "{name} must be a date, like 2026-11-22.",
    "date_from_datetime_parsing": "{name} must be a date, like 2026-11-22.",
    "date_from_datetime_inexact": "{name} must be a date without a time, like 2026-11-22.",
}


def sentence(item: Any, loc: list[Any] | None = None) -> str:
    """One pydantic error as a sentence naming the field by its human name."""
    loc = list(item["loc"]) if loc is None else loc
    kind = item["type"]
    ctx = item.get("ctx") or {}
    name = _human_name(loc)
    if kind == "string_too_short":
        if ctx.get("min_length") == 1:
            return f"{name} cannot be empty."
        return f"{name} must be at least {ctx.get('min_length')} characters."
    if kind in ("too_short", "too_long"):
        count = ctx.get("min_length" if kind == "too_short" else "max_length")
        items = "item" if count == 1 else "items"
        bound = "at least" if kind == "too_short" else "at most"
        return f"{name} must have {bound} {count} {items}."
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in _PATTERN_SENTENCES:
        return _PATTERN_SENTENCES[ctx["pattern"]]
    if kind in ("greater_than_equal", "less_than_equal") and str(loc[-1]).endswith("_id"):
        return f"{name} is not one that exists."  # a record id out of range names no record
    if kind in ("value_error", "assertion_error"):
        return _own_words(name, str(ctx.get("error", item["msg"])))
    template = _SENTENCES.get(kind, "{name} is not valid.")
    values = {key: _number(value) for key, value in ctx.items()}
    values["expected"] = str(ctx.get("expected", "")).replace("'", "")
    values["key"] = str(loc[-1]) if loc else "body"
    return template.format(name=name, **{k: v for k, v in values.items() if k != "name"})


def _own_words(name: str, message: str) -> str:
    """A validator's own message: kept when it is a sentence, else completed into one."""
    message = message.strip()
    if message[:1].isupper() and message.endswith("."):
        return message
    if message.startswith("not "):
        return f"{name} is {message}."
    return f"{name} {message}."


def _human_name(loc: list[Any]) -> str:
    words = [p for p in loc if isinstance(p, str)]
    if not words:
        return FIELD_NAMES["body"]
    name = FIELD_NAMES.get(words[-1]) or words[-1].replace("_", " ").capitalize()
    if len(words) > 1 and not words[-1][:1].isalpha():
        # A key the request chose in an object ("0" in a note's parts) names no field.
        parent = FIELD_NAMES.get(words[-2]) or words[-2].replace("_", " ")
        return f"Entry \u201c{words[-1]}\u201d of {parent[0].lower()}{parent[1:]}"
    if loc and isinstance(loc[-1], int):  # an element of a list: "Item 2 of warning signs"
        return f"Item {loc[-1] + 1} of {name[0].lower()}{name[1:]}"
    return name


def _number(value: Any) -> Any:
    return f"{value:g}" if isinstance(value, float) else value


def _field_path(model: Any, loc: tuple[Any, ...]) -> tuple[list[Any], int]:
    """The error's location without the union members pydantic names in it ("day.list[int].0"
    is "day.0"), found by following it through the model's fields; and how much of it leads to
    the first union (the whole of it when there is none)."""
    path: list[Any] = []
    kind: Any = model
    union_at = None
    branch = False
    for part in loc:
        if part == "__root__":
            continue
        if branch:  # the name of the union member that failed: not part of the field
            branch = False
            continue
        path.append(part)
        kind = _inner(kind, part)
        if _is_union(kind):
            branch, kind = True, None
            union_at = len(path) if union_at is None else union_at
    return path, len(path) if union_at is None else union_at


def _unwrap(kind: Any) -> Any:
    if get_origin(kind) is Annotated:
        kind = get_args(kind)[0]
    if get_origin(kind) in (Union, UnionType):
        members = [a for a in get_args(kind) if a is not type(None)]
        if len(members) == 1:
            return _unwrap(members[0])
    return kind


def _inner(kind: Any, part: Any) -> Any:
    """The type found at ``part`` inside ``kind`` (a model's field, a list's item...)."""
    kind = _unwrap(kind)
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        for name, info in kind.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
        return None
    origin, args = get_origin(kind), get_args(kind)
    if origin in (list, tuple, set, frozenset) and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return None


def _is_union(kind: Any) -> bool:
    kind = _unwrap(kind)
    return get_origin(kind) in (Union, UnionType) and len(
        [a for a in get_args(kind) if a is not type(None)]) > 1
