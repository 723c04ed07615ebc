"""Program content for self-care, read from the package's data files (companion/content/).

Triggers, the coping-exercise library and the safety plan's steps are data, not code: clinical
staff can review and change them without touching a Python file.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

CONTENT = Path(__file__).resolve().parent.parent / "content"


@functools.cache
def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CONTENT / name).read_text(encoding="utf-8"))
    return data


def triggers() -> dict[str, Any]:
    return _load("triggers.json")


@functools.cache
def trigger_codes() -> frozenset[str]:
    return frozenset(t["code"] for t in triggers()["triggers"])


def trigger_label(code: str) -> str:
    return next((t["label"] for t in triggers()["triggers"] if t["code"] == code), code)


def coping() -> dict[str, Any]:
    return _load("coping.json")


def exercises() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = coping()["exercises"]
    return items


@functools.cache
def exercise_codes() -> frozenset[str]:
    return frozenset(e["code"] for e in exercises())


def exercise(code: str) -> dict[str, Any] | None:
    return next((e for e in exercises() if e["code"] == code), None)


def exercise_title(code: str) -> str:
    found = exercise(code)
    return str(found["title"]) if found else code


def safety_plan_steps() -> dict[str, Any]:
    return _load("safety_plan.json")
