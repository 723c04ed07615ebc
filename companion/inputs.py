"""Checks every input gets, over HTTP and Socket.IO alike, before its schema."""

from __future__ import annotations

from typing import Any


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
