"""Checks every input gets, over HTTP and Socket.IO alike, before its schema."""

from __future__ import annotations

import unicodedata
from typing import Any

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
