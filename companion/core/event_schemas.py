"""What each Socket.IO event the server sends carries: one payload model per event name.

The domains that send events declare their payloads (``rooms/event_payloads.py``,
``alerts/event_payloads.py``) and register them here, so the core knows every event without
importing a domain. ``core/events.py`` checks each payload against its model while the app
runs in debug or testing mode (a payload that drifted from its model fails the test that sent
it); ``json_schemas()`` gives the same models as JSON Schema for clients.

A payload is checked as its JSON, strictly: what a client gets is the JSON, and a value that
only looks right in Python (a datetime object, a number in a string) is caught.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError


class EventPayload(BaseModel):
    """A payload a server event carries: no field beyond those declared (a leak is an error)."""

    model_config = ConfigDict(extra="forbid", strict=True)


Model = TypeVar("Model", bound=type[EventPayload])

# event name -> its payload's model
_SCHEMAS: dict[str, type[EventPayload]] = {}


class EventPayloadError(ValueError):
    """An event with no registered payload model, or a payload its model refuses."""


def payload_of(*names: str) -> Callable[[Model], Model]:
    """Register the decorated model as the payload of each named event (once per name)."""

    def register(model: Model) -> Model:
        for name in names:
            if _SCHEMAS.get(name, model) is not model:
                raise EventPayloadError(f"event {name!r} already has a payload model")
            _SCHEMAS[name] = model
        return model

    return register


def event_names() -> frozenset[str]:
    return frozenset(_SCHEMAS)


def schema_of(name: str) -> type[EventPayload]:
    try:
        return _SCHEMAS[name]
    except KeyError:
        raise EventPayloadError(f"event {name!r} has no payload model (core/event_schemas.py)"
                                ) from None


def validate(name: str, payload: dict[str, Any]) -> None:
    """Refuse a payload its event's model does not accept (EventPayloadError)."""
    model = schema_of(name)
    try:
        model.model_validate_json(json.dumps(payload))
    except (TypeError, ValueError) as err:  # ValidationError is a ValueError; TypeError: not JSON
        detail = str(err) if isinstance(err, ValidationError) else f"not JSON: {err}"
        raise EventPayloadError(f"event {name!r}: {detail}") from err


def json_schemas() -> dict[str, dict[str, Any]]:
    """Every event's payload as JSON Schema, by event name."""
    return {name: _SCHEMAS[name].model_json_schema(by_alias=True) for name in sorted(_SCHEMAS)}
