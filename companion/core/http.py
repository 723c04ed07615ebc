"""The JSON API under /api/v1 (and /healthz), described by /api/v1/openapi.json.

The blueprints and the one error handler live here; each domain's views register their routes
on these blueprints when ``create_app`` imports them (``companion.DOMAIN_VIEWS``)."""

from __future__ import annotations

import logging
import traceback

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from companion.core.errors import ServiceError
from companion.core.extensions import db
from companion.core.problems import ApiProblem, problem_response
from companion.core.spec import UndocumentedAnswer, registry

log = logging.getLogger(__name__)

api = Blueprint("api", __name__, url_prefix="/api/v1")
health = Blueprint("health", __name__)


# A refusal's title by its status; its detail is the service's own sentence.
_TITLES = {403: "Not allowed", 404: "Not found", 409: "Conflict", 429: "Too many attempts"}


def _api_problem(error: ApiProblem) -> Response:
    return problem_response(
        error.status, error.title, error.detail, error.errors, error.headers, code=error.code
    )


@api.get("/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI 3.1 document (public)."""
    response = jsonify(
        registry.document(
            {
                "title": "Companion API",
                "version": "1",
                "description": "Telehealth companion for Intensive Outpatient Programs.",
            }
        )
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


def handle_app_errors(error: Exception) -> Response | HTTPException:
    """Anything under /api or /healthz answers problem+json, whatever went wrong."""
    if not (request.path.startswith("/api/") or request.path == "/healthz"):
        if isinstance(error, HTTPException):
            return error
        raise error
    db.session.rollback()
    if isinstance(error, UndocumentedAnswer):
        raise error  # a test's failure, not a user's problem: loud, never a polite 500
    if isinstance(error, ApiProblem):
        return _api_problem(error)
    if isinstance(error, ServiceError):
        return problem_response(
            error.status, _TITLES.get(error.status, "Invalid request"), error.message,
            [{"field": error.field, "message": error.message}], code=error.code,
        )
    if isinstance(error, OperationalError | PoolTimeout):
        # A pool timeout: every connection busy past its wait, as unavailable as a cut one.
        reason = error.orig if isinstance(error, OperationalError) else error
        log.error("database unavailable: %s", type(reason).__name__)
        return problem_response(503, "Service unavailable", "The database cannot be reached.")
    if isinstance(error, HTTPException):
        headers = {}
        if error.code == 429:
            retry = error.get_response().headers.get("Retry-After")
            if retry:
                headers["Retry-After"] = retry
            # A limit may say what was too many (searches); otherwise it was attempts (logins).
            limit = getattr(error, "limit", None)
            detail = (error.description if limit is not None and limit.error_message
                      else "Too many attempts. Wait a few minutes and try again.")
            return problem_response(429, "Too many attempts", detail, headers=headers)
        if error.code == 413:
            # The body was never read, so the field at fault is the body itself.
            limit_kb = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // 1024
            return problem_response(
                413, "Request too large",
                f"The request is larger than {limit_kb} KB. Shorten the text and try again.",
                [{"field": "body", "message": f"larger than {limit_kb} KB"}],
            )
        return problem_response(error.code or 500, error.name, error.description)
    # The traceback's frames, not the exception's message: messages can quote submitted values.
    log.error(
        "unhandled %s on %s %s\n%s", type(error).__name__, request.method, request.url_rule,
        "".join(traceback.format_tb(error.__traceback__)),
    )
    return problem_response(500, "Internal error", "Something went wrong on our side.")
