"""Sessions (group meetings and 1:1s) the caller takes part in."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field

from companion import clock
from companion.api import api
from companion.api.guards import me
from companion.api.pagination import PageQuery, page_of_list
from companion.api.schemas import SessionPage
from companion.api.spec import registry
from companion.services import schedule


class SessionQuery(PageQuery):
    from_: date | None = Field(None, alias="from",
                               description="First day (in your time zone); includes ended ones")
    to: date | None = Field(None, description="Last day (in your time zone), inclusive")


@registry.route(
    api, "/sessions", "GET", query=SessionQuery, responses={200: SessionPage}, tag="sessions",
    summary="Sessions I may join: upcoming and in progress, or all of a date range",
)
def list_sessions(query: SessionQuery) -> dict[str, Any]:
    now = clock.now()
    window = None
    if query.from_ is not None or query.to is not None:
        zone = ZoneInfo(me().timezone)
        first = query.from_ or (query.to or now.date()) - timedelta(days=7)
        last = query.to or first + timedelta(days=7)
        window = (datetime.combine(first, time(0), tzinfo=zone),
                  datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone))
    joinable = schedule.joinable_sessions(me(), now, window)
    return page_of_list(joinable, query, lambda item: {
        "id": item.session.id,
        "kind": item.session.kind.value,
        "title": item.session.title,
        "starts_at": item.session.starts_at.isoformat(),
        "ends_at": item.session.ends_at.isoformat(),
        "state": item.session.state(now),
        "counselor": item.session.counselor.display_name,
        "role": item.role,
    })
