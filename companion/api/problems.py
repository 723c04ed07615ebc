"""Errors as application/problem+json (RFC 9457), naming the field at fault."""

from __future__ import annotations

from typing import Any

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


def validation_errors(error: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    """Pydantic's errors as [{field, message}], the field as a dotted path."""
    out = []
    for item in error.errors(include_url=False):
        path = ".".join(str(p) for p in item["loc"] if p != "__root__")
        out.append({"field": f"{prefix}{path}" or "body", "message": item["msg"]})
    return out
