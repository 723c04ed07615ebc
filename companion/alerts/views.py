"""Risk alerts for the counselors who treat a client (the contract of issue 7, kept stable)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from companion.accounts.models import Role
from companion.alerts import services as alerts
from companion.alerts.models import Alert
from companion.clinic import policy
from companion.clinic.guards import audit_access, authorize, client_record, me
from companion.core.http import api
from companion.core.pagination import PageQuery, page
from companion.core.problems import ApiProblem, Problem
from companion.core.schemas import RecordId, Strict
from companion.core.spec import registry

AlertKindName = Literal[
    "craving_high", "need_to_talk", "use_reported", "phq9_item9", "missed_checkins"
]


class AlertClient(BaseModel):
    id: int
    display_name: str


class AlertOut(BaseModel):
    id: int
    client: AlertClient
    kind: AlertKindName
    urgency: Literal["urgent", "high", "normal"]
    created_at: datetime
    acknowledged_at: datetime | None
    ack_note: str | None


class AlertPage(BaseModel):
    items: list[AlertOut]
    next: str | None


class AlertQuery(PageQuery):
    state: Literal["open", "all"] = Field("open", description="Open alerts only, or all")
    client_id: RecordId | None = Field(None, description="Only this client's alerts")


class AckBody(Strict):
    note: str | None = Field(None, max_length=1000, description="What was done")


def _staff_only() -> None:
    if me().role != Role.COUNSELOR:
        raise ApiProblem(403, "Not allowed", "Only the counselors treating a client see alerts.")


@registry.route(api, "/alerts", "GET", summary="Alerts of the clients I treat (open first)",
                tag="alerts", query=AlertQuery, responses={200: AlertPage, 403: Problem})
def list_alerts(query: AlertQuery) -> dict[str, Any]:
    _staff_only()
    if query.client_id is not None:
        # Only a client one treats: the audit row names them (and must name a real account).
        authorize(policy.Action.READ_CLIENT_RECORD, query.client_id)
    stmt = alerts.alerts_for(me(), query.state, query.client_id)
    audit_access("read", "alert_list", None, subject_id=query.client_id)
    return page(stmt, query, alerts.alert_json)


@registry.route(api, "/alerts/<int:alert_id>/ack", "POST", summary="Acknowledge an alert",
                tag="alerts", body=AckBody,
                responses={200: AlertOut, 403: Problem, 404: Problem})
def ack_alert(alert_id: int, body: AckBody) -> dict[str, Any]:
    _staff_only()
    alert = client_record(Alert, alert_id, policy.Action.ACK_ALERT)
    note = body.note.strip() if body.note else None
    return alerts.alert_json(alerts.acknowledge(me(), alert, note))
