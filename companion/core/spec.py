"""Routes that describe themselves: each operation is registered with its schemas, and the
OpenAPI 3.1 document is built from that registry, so the document is what the server does."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, current_app, g, request
from flask_login import current_user
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema
from werkzeug.routing import IntegerConverter

from companion.core.inputs import MAX_JSON_DEPTH, NestedTooDeep, loads_request_json, nul_path
from companion.core.problems import ApiProblem, Problem, summary, validation_errors
from companion.core.schemas import MAX_ID

_REF = "#/components/schemas/{model}"
_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    204: "No content",
    400: "Bad request",
    401: "Not logged in",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    503: "Unavailable",
}


@dataclass
class Operation:
    path: str
    method: str
    summary: str
    tag: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    responses: dict[int, type[BaseModel] | None]
    auth: bool
    operation_id: str
    path_params: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


class Registry:
    def __init__(self) -> None:
        self.operations: list[Operation] = []

    def route(
        self,
        blueprint: Blueprint,
        rule: str,
        method: str,
        *,
        summary: str,
        tag: str,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        responses: dict[int, type[BaseModel] | None] | None = None,
        auth: bool = True,
        content_type: str = "application/json",
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a view: Flask route, input parsing, login and CSRF checks, OpenAPI entry."""

        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            path, params = _openapi_path(blueprint.url_prefix or "", rule)
            all_responses = dict(responses or {200: None})
            if body is not None or query is not None:
                all_responses.setdefault(422, Problem)
            if auth:
                all_responses.setdefault(401, Problem)
            self.operations.append(
                Operation(
                    path=path,
                    method=method.lower(),
                    summary=summary,
                    tag=tag,
                    body=body,
                    query=query,
                    responses=all_responses,
                    auth=auth,
                    operation_id=view.__name__,
                    path_params=params,
                    content_type=content_type,
                )
            )

            @functools.wraps(view)
            def wrapper(**kwargs: Any) -> Any:
                if auth and not current_user.is_authenticated:
                    raise ApiProblem(401, "Not logged in", "Log in to continue.")
                if body is not None:
                    kwargs["body"] = _parse_body(body)
                if query is not None:
                    kwargs["query"] = _parse_query(query)
                result = view(**kwargs)
                if current_app.config.get("CHECK_RESPONSES"):
                    _check_documented(view.__name__, result, all_responses)
                return result

            # A route open to anyone (login, invitation acceptance) needs no CSRF token: it
            # starts a new session rather than riding on one, and takes JSON only.
            wrapper.csrf_exempt = not auth  # type: ignore[attr-defined]
            blueprint.add_url_rule(rule, view.__name__, wrapper, methods=[method])
            return wrapper

        return decorator

    def document(self, info: dict[str, Any]) -> dict[str, Any]:
        """The OpenAPI 3.1 document for every registered operation."""
        models: set[type[BaseModel]] = {Problem}
        for op in self.operations:
            models.update(m for m in (op.body, op.query) if m is not None)
            models.update(m for m in op.responses.values() if m is not None)
        ordered = sorted(models, key=lambda m: m.__name__)
        _, defs = models_json_schema(
            [(m, "validation") for m in ordered], ref_template=_REF
        )
        schemas = defs.get("$defs", {})
        paths: dict[str, dict[str, Any]] = {}
        for op in self.operations:
            paths.setdefault(op.path, {})[op.method] = _operation_doc(op)
        return {
            "openapi": "3.1.0",
            "info": info,
            "servers": [{"url": "/"}],
            "paths": dict(sorted(paths.items())),
            "components": {
                "schemas": schemas,
                "securitySchemes": {
                    "session": {"type": "apiKey", "in": "cookie", "name": "companion_session"},
                    "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
                },
            },
        }


class RecordIdConverter(IntegerConverter):
    """``<int:...>`` in a path is a row id: a number past MAX_ID matches no route (404) instead of
    reaching a query and overflowing the database driver (a 500). Installed as the app's "int"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(*args, **kwargs)


def _openapi_path(prefix: str, rule: str) -> tuple[str, dict[str, str]]:
    params: dict[str, str] = {}

    def convert(match: re.Match[str]) -> str:
        converter, name = match.group(1), match.group(2)
        params[name] = "integer" if converter == "int" else "string"
        return "{" + name + "}"

    return re.sub(r"<(?:(\w+):)?(\w+)>", convert, prefix + rule), params


def _operation_doc(op: Operation) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "responses": {},
    }
    parameters: list[dict[str, Any]] = [
        {"name": n, "in": "path", "required": True,
         "schema": {"type": t, "minimum": 0, "maximum": MAX_ID} if t == "integer" else {"type": t}}
        for n, t in op.path_params.items()
    ]
    if op.query is not None:
        schema = op.query.model_json_schema(ref_template=_REF)
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            parameters.append(
                {"name": name, "in": "query", "required": name in required, "schema": prop}
            )
    if parameters:
        doc["parameters"] = parameters
    if op.body is not None:
        schema_ref = {"$ref": _REF.format(model=op.body.__name__)}
        doc["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schema_ref}},
        }
    if op.auth:
        doc["security"] = [{"session": []}] if op.method == "get" else [{"session": [], "csrf": []}]
    else:
        doc["security"] = []
    for status, model in sorted(op.responses.items()):
        entry: dict[str, Any] = {"description": _STATUS_TEXT.get(status, str(status))}
        if model is not None:
            media = "application/problem+json" if model is Problem else op.content_type
            entry["content"] = {media: {"schema": {"$ref": _REF.format(model=model.__name__)}}}
        elif status < 300 and status != 204:
            entry["content"] = {op.content_type: {"schema": {}}}
        doc["responses"][str(status)] = entry
    return doc


def _parse_body(model: type[BaseModel]) -> BaseModel:
    if not request.is_json:
        # JSON only: a cross-site HTML form cannot send it, which also guards the login form.
        raise ApiProblem(415, "Unsupported media type", "Send the body as application/json.")
    try:
        data = loads_request_json(request.get_data())
    except NestedTooDeep:
        message = f"The request is nested deeper than {MAX_JSON_DEPTH} levels."
        raise ApiProblem(422, "Invalid request", message,
                         [{"field": "body", "message": message}]) from None
    except ValueError:
        raise ApiProblem(
            400, "Malformed JSON", "The body is not valid JSON.",
            [{"field": "body", "message": "The request is not valid JSON."}],
        ) from None
    if not isinstance(data, dict):  # null, a list, a number: valid JSON, but not a request
        raise ApiProblem(422, "Invalid request", "The body must be a JSON object.",
                         [{"field": "body", "message": "The request must be a JSON object."}])
    _refuse_nul(data)
    try:
        parsed = model.model_validate(data)
    except ValidationError as error:
        errors = validation_errors(error, model)
        raise ApiProblem(422, "Invalid request", summary(errors), errors) from None
    g.api_body = parsed
    return parsed


class UndocumentedAnswer(AssertionError):
    """A view answered what its route does not document (raised under test only)."""


def _check_documented(name: str, result: Any, responses: dict[int, type[BaseModel] | None]) -> None:
    """What the view returned is what the document says for that status: its model validates
    it and it has no key the model does not name. On under test (``CHECK_RESPONSES``), so every
    response any test gets is held to the OpenAPI document, not only the fuzzer's."""
    data, status = (result if isinstance(result, tuple) else (result, 200))[:2]
    if not isinstance(data, dict):
        return  # a Response the view built itself (CSV, a file, 204)
    model = responses.get(int(status))
    if model is None:
        raise UndocumentedAnswer(f"{name} answered {status}, which it does not document")
    try:
        model.model_validate(data)
    except ValidationError as error:
        raise UndocumentedAnswer(f"{name}'s {status} answer is not its {model.__name__}: "
                             f"{error}") from None
    undocumented = _undocumented_keys(model, data, "")
    if undocumented:
        raise UndocumentedAnswer(f"{name}'s {status} answer has keys {model.__name__} does not "
                             f"document: {', '.join(undocumented)}")


def _undocumented_keys(model: type[BaseModel], data: Any, at: str) -> list[str]:
    if not isinstance(data, dict) or model.model_config.get("extra") == "allow":
        return []
    fields = {(info.alias or name): info for name, info in model.model_fields.items()}
    out: list[str] = []
    for key, value in data.items():
        field_info = fields.get(key)
        if field_info is None:
            out.append(f"{at}{key}")
            continue
        if getattr(field_info.annotation, "__origin__", None) is dict:
            continue  # keys of its own choosing (kinds by name, counts by day)
        for inner in _models_in(field_info.annotation):
            values = value if isinstance(value, list) else [value]
            for item in values:
                if isinstance(item, dict):
                    out += _undocumented_keys(inner, item, f"{at}{key}.")
    return out


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation names (``X``, ``list[X]``, ``X | None``, a Literal: none)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _models_in(arg)]


def _refuse_nul(data: Any) -> None:
    field = nul_path(data)
    if field:
        message = "Text may not contain NUL characters."
        raise ApiProblem(422, "Invalid request", message, [{"field": field, "message": message}])


def _parse_query(model: type[BaseModel]) -> BaseModel:
    data: dict[str, Any] = {}
    for key in request.args:
        values = request.args.getlist(key)
        data[key] = values if len(values) > 1 else values[0]
    _refuse_nul(data)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        # One error per parameter (and repeat), whichever branch of a union refused it
        # (``from``, a date or a moment, is refused by both).
        first_per_field: dict[str, dict[str, str]] = {}
        for item in validation_errors(error, model):
            first_per_field.setdefault(item["field"], item)
        errors = list(first_per_field.values())
        raise ApiProblem(422, "Invalid request", summary(errors), errors) from None


registry = Registry()
