"""How stored room events look on the wire, for each kind of viewer.

Check-in values (mood, craving, a word) are clinical: the session's counselors and the client
who posted them see them; other clients and peer supporters see only that a turn was taken.

People carry their account's staff role (``staff``) beside their name: the room shows it as a
badge, so a client who calls themselves "Counselor Dana" does not pass for staff.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from companion.accounts.models import Role, User
from companion.core.extensions import db
from companion.rooms.models import RoomEvent

STAFF_BADGES = {Role.COUNSELOR: "counselor", Role.PEER_SUPPORTER: "peer_supporter"}


class Shown(NamedTuple):
    """How a person appears in room events: their name and, for staff, their role."""

    display_name: str
    staff: str | None = None


def shown(display_name: str, role: Role) -> Shown:
    return Shown(display_name, STAFF_BADGES.get(role))


def person_json(user_id: int, person: Shown) -> dict[str, Any]:
    """{id, display_name, staff?}: ``staff`` for staff only (everyone else's is unchanged)."""
    body: dict[str, Any] = {"id": user_id, "display_name": person.display_name}
    if person.staff:
        body["staff"] = person.staff
    return body

# stored kind -> socket event name
EVENT_NAMES = {
    "chat": "chat",
    "chat_deleted": "chat_deleted",
    "hand_raised": "hand_raised",
    "hand_lowered": "hand_lowered",
    "admitted": "admitted",
    "muted": "muted",
    "unmuted": "unmuted",
    "removed": "removed",
    "room_locked": "room_locked",
    "session_ended": "session_ended",
    "round_started": "checkin_round",
    "round_ended": "checkin_round",
    "checkin": "checkin",
}


def _person(user_id: int | None, names: dict[int, Shown]) -> dict[str, Any] | None:
    if user_id is None:
        return None
    return person_json(user_id, names.get(user_id, Shown("")))


def display_names(events: list[RoomEvent]) -> dict[int, Shown]:
    ids = {e.actor_id for e in events if e.actor_id} | {
        e.payload["user_id"] for e in events if "user_id" in e.payload
    }
    if not ids:
        return {}
    rows = db.session.query(User.id, User.display_name, User.role).filter(User.id.in_(ids))
    return {row.id: shown(row.display_name, row.role) for row in rows}


def render(event: RoomEvent, names: dict[int, Shown], sees_clinical: bool,
           viewer_id: int | None) -> tuple[str, dict[str, Any]]:
    """(event name, payload) of one stored event for one viewer."""
    base: dict[str, Any] = {"session_id": event.session_id, "seq": event.seq}
    p = event.payload
    match event.kind:
        case "chat":
            body = {
                "id": event.client_id,
                "from": _person(event.actor_id, names),
                "text": p.get("text", ""),
                "sent_at": event.created_at.isoformat(),
            }
            if p.get("deleted"):
                body["deleted"] = True
            return "chat", base | body
        case "chat_deleted":
            return "chat_deleted", base | {"deleted_seq": p["seq"]}
        case "hand_raised" | "hand_lowered" | "admitted" | "removed":
            body = {
                "user_id": p["user_id"], "user": _person(p["user_id"], names),
                "by": _person(event.actor_id, names),
            }
            if "reason" in p:  # a family guest whose client's consent ended (by nobody)
                body["reason"] = p["reason"]
            return EVENT_NAMES[event.kind], base | body
        case "muted" | "unmuted":
            return event.kind, base | {"user_id": p["user_id"], "what": p["what"],
                                       "muted": event.kind == "muted"}
        case "room_locked":
            return "room_locked", base | {"locked": p["locked"]}
        case "session_ended":
            return "session_ended", base | {"ended_at": event.created_at.isoformat()}
        case "round_started" | "round_ended":
            return "checkin_round", base | {"open": event.kind == "round_started"}
        case "checkin":
            body = {"user": _person(p["user_id"], names), "passed": p["passed"],
                    "id": event.client_id}
            if sees_clinical or viewer_id == p["user_id"]:
                body |= {k: p[k] for k in ("mood", "craving", "word") if k in p}
            return "checkin", base | body
    return event.kind, base | p
