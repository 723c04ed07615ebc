"""The one error a domain service raises when it refuses what it was asked.

A service says what went wrong in the person's terms: the HTTP-like status, the field at fault
and a sentence about what they did. The API turns it into a problem+json answer in one place
(``companion.core.http.handle_app_errors``), so views do not translate errors; a CLI command
prints the sentence.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Refused: ``status`` (422 bad input, 404 no such record, 409 conflict...), the ``field``
    at fault, a ``message`` a person reads, and optionally a ``code`` a client acts on."""

    def __init__(self, status: int, field: str, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.message = message
        self.code = code
