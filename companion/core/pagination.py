"""Lists answer {"items": [...], "next": <URL of the next page or null>}."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel, Field
from sqlalchemy import Select

from companion.core.extensions import db
from companion.core.schemas import MAX_ID

T = TypeVar("T")


class PageQuery(BaseModel):
    limit: int = Field(50, ge=1, le=200, description="Items per page")
    # Bounded: an offset past 64 bits overflows the database driver.
    cursor: int = Field(0, ge=0, le=MAX_ID, description="Opaque position given in `next`")


def page(
    stmt: Select[Any], query: PageQuery, render: Callable[[Any], dict[str, Any]]
) -> dict[str, Any]:
    """Run ``stmt`` (already ordered) for one page and render its rows."""
    rows: Sequence[Any] = db.session.scalars(
        stmt.offset(query.cursor).limit(query.limit + 1)
    ).all()
    items = [render(row) for row in rows[: query.limit]]
    return {"items": items, "next": _next_url(query) if len(rows) > query.limit else None}


def page_of_list(items: list[T], query: PageQuery, render: Callable[[T], Any]) -> dict[str, Any]:
    chunk = items[query.cursor : query.cursor + query.limit + 1]
    return {
        "items": [render(i) for i in chunk[: query.limit]],
        "next": _next_url(query) if len(chunk) > query.limit else None,
    }


def _next_url(query: PageQuery) -> str:
    args = request.args.to_dict(flat=False)
    args["cursor"] = [str(query.cursor + query.limit)]
    args["limit"] = [str(query.limit)]
    from urllib.parse import urlencode

    return f"{request.path}?{urlencode(args, doseq=True)}"
