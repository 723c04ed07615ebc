"""Notifications (issue 16, the contract kept stable for outside clients): the server's push
key, a person's push subscriptions, their preferences, their notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from flask import g
from pydantic import BaseModel, Field, StrictBool

from companion.clinic.guards import me
from companion.core.http import api
from companion.core.pagination import PageQuery, page
from companion.core.problems import Problem
from companion.core.schemas import HHMM, Strict
from companion.core.spec import registry
from companion.notifications import inbox, preferences, subscriptions, webpush

KindName = Literal["session_reminder", "checkin_reminder", "measure_due", "module_assigned",
                   "schedule_change", "risk_alert"]


class VapidKeyOut(BaseModel):
    public_key: str = Field(description="The application server key for "
                            "PushManager.subscribe: base64url, an uncompressed P-256 point")


class PushKeys(Strict):
    p256dh: str = Field(max_length=200, description="The browser's P-256 key, base64url")
    auth: str = Field(max_length=100, description="The 16-byte auth secret, base64url")


class SubscriptionBody(Strict):
    """PushSubscription.toJSON() as the browser gives it."""

    endpoint: str = Field(min_length=1, max_length=2048,
                          description="On a known push service (or a host the operator lists)")
    expirationTime: float | None = Field(None, description="Ignored (the browser's own)")
    keys: PushKeys


class SubscriptionOut(BaseModel):
    id: int
    endpoint: str
    created_at: datetime


class Channels(Strict):
    push: StrictBool = True
    email: StrictBool = True


class QuietHours(Strict):
    start: str = Field(pattern=HHMM, description="Local time, HH:MM")
    end: str = Field(pattern=HHMM, description="Local time, HH:MM; before start: past midnight")


class Kinds(Strict):
    session_reminder: StrictBool = True
    checkin_reminder: StrictBool = True
    measure_due: StrictBool = True
    module_assigned: StrictBool = True
    schedule_change: StrictBool = True
    risk_alert: StrictBool = True


class PreferencesBody(Strict):
    channels: Channels = Field(default_factory=Channels)
    quiet_hours: QuietHours | None = Field(None, description="Nothing goes out between these")
    checkin_reminder_at: str | None = Field(
        None, pattern=HHMM, description="The daily check-in reminder's local time (clients)")
    kinds: Kinds = Field(default_factory=Kinds)


class QuietHoursOut(BaseModel):
    start: str
    end: str


class ChannelsOut(BaseModel):
    push: bool
    email: bool


class PreferencesOut(BaseModel):
    channels: ChannelsOut
    quiet_hours: QuietHoursOut | None
    checkin_reminder_at: str | None
    kinds: dict[KindName, bool]


class DeliveryOut(BaseModel):
    channel: Literal["push", "email"]
    status: Literal["pending", "sent", "failed", "gone", "skipped"]
    sent_at: datetime | None


class NotificationOut(BaseModel):
    id: int
    kind: KindName
    title: str
    body: str
    url: str
    created_at: datetime
    read_at: datetime | None
    deliveries: list[DeliveryOut]


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next: str | None


class ReadBody(Strict):
    read: StrictBool


@registry.route(api, "/push/vapid-public-key", "GET", tag="notifications",
                summary="The key a browser subscribes to this server's pushes with",
                responses={200: VapidKeyOut})
def vapid_public_key() -> dict[str, Any]:
    return {"public_key": webpush.public_key()}


@registry.route(api, "/push-subscriptions", "POST", tag="notifications",
                summary="Receive my notifications on this device (web push)",
                body=SubscriptionBody, responses={201: SubscriptionOut})
def add_push_subscription(body: SubscriptionBody) -> tuple[dict[str, Any], int]:
    login = getattr(g, "login_session", None)
    made = subscriptions.register(me(), body.endpoint, body.keys.p256dh, body.keys.auth,
                                  login.id if login is not None else None)
    return subscriptions.subscription_json(made), 201


@registry.route(api, "/push-subscriptions/<int:subscription_id>", "DELETE",
                tag="notifications", summary="Stop web push on that device",
                responses={204: None, 404: Problem})
def remove_push_subscription(subscription_id: int) -> tuple[str, int]:
    subscriptions.remove(me(), subscription_id)
    return "", 204


@registry.route(api, "/me/notification-preferences", "GET", tag="notifications",
                summary="My notification preferences", responses={200: PreferencesOut})
def get_notification_preferences() -> dict[str, Any]:
    return preferences.preferences_json(preferences.of(me().id))


@registry.route(api, "/me/notification-preferences", "PUT", tag="notifications",
                summary="Set my notification preferences (channels, quiet hours, kinds)",
                body=PreferencesBody, responses={200: PreferencesOut})
def put_notification_preferences(body: PreferencesBody) -> dict[str, Any]:
    return preferences.preferences_json(preferences.update(me(), body))


@registry.route(api, "/notifications", "GET", tag="notifications",
                summary="My notifications, newest first (what was sent, when, how)",
                query=PageQuery, responses={200: NotificationPage})
def list_notifications(query: PageQuery) -> dict[str, Any]:
    return page(inbox.of_person(me()), query, inbox.notification_json)


@registry.route(api, "/notifications/<int:notification_id>", "PATCH", tag="notifications",
                summary="Mark one of my notifications read or unread", body=ReadBody,
                responses={200: NotificationOut, 404: Problem})
def mark_notification(notification_id: int, body: ReadBody) -> dict[str, Any]:
    return inbox.notification_json(inbox.mark(me(), notification_id, body.read))
