"""Self-care records made straight in the database, for tests that need one to exist."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from companion.accounts.models import User
from companion.alerts.models import Alert, AlertKind, AlertUrgency
from companion.core import clock
from companion.core.extensions import db
from companion.selfcare.models import CheckIn, CopingCompletion, Craving, UsedAnswer
from companion.selfcare.services import client_zone


def _common(client: User) -> dict[str, Any]:
    """An hour ago, dated and offset in the client's own time zone, as the app records it."""
    at = clock.now() - timedelta(hours=1)
    local = at.astimezone(client_zone(client))
    offset = local.utcoffset() or timedelta(0)
    return {"id": str(uuid.uuid4()), "client_id": client.id, "occurred_at": at,
            "utc_offset_minutes": int(offset.total_seconds() // 60),
            "local_date": local.date(), "body_hash": "0" * 64}


def checkin(client: User, **kw: Any) -> CheckIn:
    entry = CheckIn(**{**_common(client), "mood": 5, "craving": 3, "used": UsedAnswer.NO, **kw})
    db.session.add(entry)
    db.session.commit()
    return entry


def craving(client: User, **kw: Any) -> Craving:
    entry = Craving(**{**_common(client), "intensity": 4, "triggers": ["boredom"], **kw})
    db.session.add(entry)
    db.session.commit()
    return entry


def completion(client: User, **kw: Any) -> CopingCompletion:
    entry = CopingCompletion(**{**_common(client), "exercise": "box_breathing",
                                "craving_before": 6, "craving_after": 3, **kw})
    db.session.add(entry)
    db.session.commit()
    return entry


def alert(client: User, kind: AlertKind = AlertKind.NEED_TO_TALK) -> Alert:
    made = Alert(client_id=client.id, kind=kind, urgency=AlertUrgency.HIGH,
                 source_type="test", source_id=str(uuid.uuid4()), created_at=clock.now())
    db.session.add(made)
    db.session.commit()
    return made


def matrix_records(made: dict[str, User], others: dict[str, User]) -> tuple[dict[str, Any],
                                                                            dict[str, Any]]:
    """Path values for the authorisation matrix: records of the first client, and of the other."""

    def of(client: User) -> dict[str, Any]:
        return {"checkin": checkin(client).id, "craving": craving(client).id,
                "completion": completion(client).id, "alert": alert(client).id}

    return of(made["client"]), of(others["client"])
