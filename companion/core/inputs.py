"""Checks every input gets, over HTTP and Socket.IO alike, before its schema."""

from __future__ import annotations

import json
import unicodedata
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import available_timezones

from flask.json.provider import DefaultJSONProvider
from pydantic import AfterValidator, Field

# Row ids are `integer` columns (PostgreSQL's 32 bits). A larger number names no record, and one
# past 64 bits would overflow the database driver (a 500) if it reached a query.
MAX_ID = 2**31 - 1
RecordId = Annotated[int, Field(ge=1, le=MAX_ID)]


@lru_cache(maxsize=1)
def time_zones() -> frozenset[str]:
    """The IANA zone names this machine knows (America/Chicago, Europe/Madrid, ...)."""
    return frozenset(available_timezones())


def is_time_zone(name: object) -> bool:
    return isinstance(name, str) and name in time_zones()


def _time_zone(value: str) -> str:
    if not is_time_zone(value):
        raise ValueError("not a time zone name such as America/Chicago")
    return value


# A person's, a program's or a meeting's zone: checked where it is declared, the same way
# in every body that has one.
TimeZoneName = Annotated[str, Field(max_length=64), AfterValidator(_time_zone)]

# No request of the API nests deeper than a few levels. A body nested a thousand levels deep
# overflows the parser's (and any recursive check's) stack: refused before anything walks it.
MAX_JSON_DEPTH = 32


class NestedTooDeep(ValueError):
    """A JSON document nested deeper than MAX_JSON_DEPTH."""


def loads_request_json(data: str | bytes) -> Any:
    """``json.loads`` for what a client sent: NestedTooDeep past MAX_JSON_DEPTH levels,
    ValueError for anything that is not JSON."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise NestedTooDeep from None
    if _nested_deeper_than(value, MAX_JSON_DEPTH):
        raise NestedTooDeep
    return value


def _nested_deeper_than(value: Any, limit: int) -> bool:
    # A loop, not recursion: the point is not to need the stack.
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


class RequestJSONProvider(DefaultJSONProvider):
    """The app's JSON: every ``request.get_json()`` (rate-limit keys included) parses through
    ``loads_request_json``, so no code path meets a body nested past MAX_JSON_DEPTH."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads_request_json(s)


# What a display name may not hold. Controls (C0 and C1, tab and newline among them) and the
# line and paragraph separators break a name across lines in lists and chat; the
# bidirectional embeddings, overrides and isolates reorder the text around them, so a name
# can be made to read as something else (or as staff). Marks (LRM, RLM) and joiners (ZWJ in
# emoji, ZWNJ in Persian) are left alone: names in many scripts need them.
_REORDERING = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_BREAKING_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
NAME_REFUSED = ("A name cannot contain line breaks, tabs, control characters or characters "
                "that change the direction of text.")


def name_is_plain(name: str) -> bool:
    """Whether a display name holds none of the characters above."""
    return not any(ch in _REORDERING or unicodedata.category(ch) in _BREAKING_CATEGORIES
                   for ch in name)


def nul_path(value: Any, path: str = "") -> str | None:
    """The dotted path of the first text holding a NUL character, or None.

    PostgreSQL cannot store NUL in text (the insert fails), and no person types one.
    """
    if isinstance(value, str):
        return (path or "body") if "\x00" in value else None
    items: Any = ()
    if isinstance(value, dict):
        items = [(str(k), k) for k in value] + [(str(k), v) for k, v in value.items()]
    elif isinstance(value, list):
        items = [(str(i), v) for i, v in enumerate(value)]
    for key, item in items:
        found = nul_path(item, f"{path}.{key}" if path else key)
        if found:
            return found
    return None
