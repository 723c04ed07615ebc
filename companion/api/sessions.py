"""Sessions (group meetings and 1:1s) the caller may join."""

from __future__ import annotations

from typing import Any

from companion import clock
from companion.api import api
from companion.api.guards import me
from companion.api.pagination import PageQuery, page_of_list
from companion.api.schemas import SessionPage
from companion.api.spec import registry
from companion.services import schedule


@registry.route(
    api, "/sessions", "GET", summary="Upcoming and in-progress sessions I may join",
    tag="sessions", query=PageQuery, responses={200: SessionPage},
)
def list_sessions(query: PageQuery) -> dict[str, Any]:
    now = clock.now()
    joinable = schedule.joinable_sessions(me(), now)
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
