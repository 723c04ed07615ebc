"""Reminders and alerts outside the app (issue 16): by web push to a push service on loopback
that checks the VAPID token and decrypts the payload, and by mail to aiosmtpd on loopback."""

from __future__ import annotations

import logging
import os
import re
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from companion.accounts.models import Role, User
from companion.alerts import escalation
from companion.alerts.models import Alert, AlertKind
from companion.clinic import occurrences
from companion.core import clock
from companion.core.extensions import db
from companion.dialin import pins
from companion.measures.models import MeasureSchedule
from companion.notifications import delivery, dispatch, planning, webpush
from companion.notifications.models import (
    Notification,
    NotificationDelivery,
    NotificationPreference,
    PushSubscription,
)
from companion.rooms import connections
from tests import selfcare_factories
from tests.dialin_factories import NUMBER, dial_in_on
from tests.notification_servers import BrowserKeys, b64url, unb64url

FCM = "https://fcm.googleapis.com/fcm/send/"
SESSION_BODY = re.compile(r"^Starts at \d{1,2}:\d{2} [AP]M C[SD]T\. Open Companion to join\.$")


def subscribe(auth: Any, push: Any, token: str | None = None) -> tuple[str, int]:
    endpoint, keys = push.new_browser(token)
    response = auth.post("/api/v1/push-subscriptions", json=keys.subscription(endpoint))
    assert response.status_code == 201, response.get_json()
    return endpoint, response.get_json()["id"]


def passes(n: int = 1) -> delivery.Outcome:
    outcome = delivery.Outcome()
    for _ in range(n):
        outcome = dispatch.run_pass()
    return outcome


def deliveries() -> list[tuple[str, str, str]]:
    rows = db.session.execute(select(Notification.kind, NotificationDelivery.channel,
                                     NotificationDelivery.status)
                              .join(Notification)).all()
    return sorted((k.value, c.value, s.value) for k, c, s in rows)


def _people(world: Any) -> tuple[User, User, Any]:
    counselor = world.user(Role.COUNSELOR, name="Dana Counselor")
    client = world.user(name="Riley Quinn")
    group = world.group(counselor, [client], name="Tuesday Relapse Prevention")
    return counselor, client, group


def _local_hhmm(user: User, delta: timedelta) -> str:
    from zoneinfo import ZoneInfo

    return (clock.now() + delta).astimezone(ZoneInfo(user.timezone)).strftime("%H:%M")


# --- the server's key --------------------------------------------------------------------------


def test_vapid_public_key_is_an_uncompressed_p256_point_kept_in_the_instance(app, world,
                                                                             make_auth):
    auth = make_auth(world.user())
    key = auth.get("/api/v1/push/vapid-public-key").get_json()["public_key"]
    raw = unb64url(key)
    assert len(raw) == 65 and raw[0] == 4 and "=" not in key
    assert auth.get("/api/v1/push/vapid-public-key").get_json()["public_key"] == key
    path = Path(app.config["INSTANCE_PATH"]) / webpush.KEY_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")


def test_a_configured_vapid_key_is_used(app, world, make_auth):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    app.config["VAPID_PRIVATE_KEY"] = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    expected = b64url(key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))
    auth = make_auth(world.user())
    assert auth.get("/api/v1/push/vapid-public-key").get_json()["public_key"] == expected
    assert not (Path(app.config["INSTANCE_PATH"]) / webpush.KEY_FILE).exists()


# --- a session reminder, exactly once ---------------------------------------------------------


def test_a_session_nine_minutes_ahead_gives_one_push_and_one_mail_once(world, make_auth,
                                                                       outside):
    push, mail = outside
    counselor, client, group = _people(world)
    auth = make_auth(client)
    endpoint, _ = subscribe(auth, push)
    session = world.session(group, starts_in=timedelta(minutes=9))

    passes(2)  # a second pass (a retried job, another process's turn) sends nothing more

    assert push.refused == []
    [received] = push.pushes_to(endpoint)
    assert set(received.payload) == {"title", "body", "url"}
    assert received.payload["title"] == "Companion: a reminder"
    assert SESSION_BODY.match(received.payload["body"]), received.payload["body"]
    assert received.payload["url"] == f"/sessions/{session.id}"  # straight to the waiting room
    assert received.headers["urgency"] == "high"
    # Kept by the push service no longer than the session lasts.
    assert 0 < int(received.headers["ttl"]) <= int(timedelta(hours=2, minutes=9).total_seconds())
    assert received.claims["sub"] == "mailto:companion@localhost"
    [message] = mail.to(client.email)
    assert message["Subject"] == "Companion: a reminder"
    assert message["From"] == "Companion <companion@localhost>"
    text = message.get_payload(decode=True).decode()
    assert f"https://companion.example.org/sessions/{session.id}" in text
    assert len(mail.messages) == 1  # the counselor is not reminded
    items = auth.get("/api/v1/notifications").get_json()["items"]
    assert [(i["kind"], i["title"], i["read_at"]) for i in items] == [
        ("session_reminder", "Companion: a reminder", None)]
    assert sorted((d["channel"], d["status"]) for d in items[0]["deliveries"]) == [
        ("email", "sent"), ("push", "sent")]
    assert all(d["sent_at"] for d in items[0]["deliveries"])


def test_a_session_reminder_gives_the_dial_in_number_but_never_the_pin(world, make_auth,
                                                                         outside):
    """A client of a program with dial-in learns from the reminder how to join with no data;
    the PIN, a credential, stays in the app (its home screen keeps it offline)."""
    push, mail = outside
    counselor, client, group = _people(world)
    dial_in_on(world.program)
    pin = pins.my_dial_in(client).pin
    auth = make_auth(client)
    endpoint, _ = subscribe(auth, push)
    world.session(group, starts_in=timedelta(minutes=9))
    passes()
    [received] = push.pushes_to(endpoint)
    assert received.payload["body"].endswith(f"No data? Call {NUMBER} and key your PIN.")
    text = mail.to(client.email)[0].get_payload(decode=True).decode()
    assert NUMBER in text
    for shown in (received.payload["body"], text):
        assert pin not in shown.replace(" ", "")


def test_a_session_reminds_an_hour_and_ten_minutes_before(world, make_auth, outside):
    push, mail = outside
    _, client, group = _people(world)
    endpoint, _ = subscribe(make_auth(client), push)
    world.session(group, starts_in=timedelta(minutes=50))
    passes()
    assert len(push.pushes_to(endpoint)) == 1  # the hour's reminder, at once
    clock.advance(timedelta(minutes=35))
    passes()
    assert len(push.pushes_to(endpoint)) == 1  # 15 minutes to go: not yet
    clock.advance(timedelta(minutes=6))
    passes(2)
    assert len(push.pushes_to(endpoint)) == 2
    assert len(mail.to(client.email)) == 2


def test_a_reminder_due_while_the_server_was_down_goes_out_if_still_useful(world, make_auth,
                                                                           outside):
    push, _ = outside
    _, client, group = _people(world)
    endpoint, _ = subscribe(make_auth(client), push)
    under_way = world.session(group, starts_in=timedelta(minutes=-20), length=timedelta(hours=3))
    world.session(group, starts_in=timedelta(hours=-4), length=timedelta(hours=3))  # over
    passes()
    [received] = push.pushes_to(endpoint)
    assert received.payload["url"] == f"/sessions/{under_way.id}"


def test_cancelled_and_ended_sessions_remind_nobody(world, make_auth, outside):
    push, _ = outside
    _, client, group = _people(world)
    endpoint, _ = subscribe(make_auth(client), push)
    cancelled = world.session(group, starts_in=timedelta(minutes=5))
    cancelled.cancelled_at = clock.now() - timedelta(days=3)  # told about long ago
    ended = world.session(group, starts_in=timedelta(minutes=-5))
    ended.ended_at = clock.now()
    db.session.commit()
    passes()
    assert push.pushes_to(endpoint) == []


# --- quiet hours, opting out --------------------------------------------------------------------


def test_quiet_hours_hold_a_reminder_until_they_end(world, make_auth, outside):
    push, mail = outside
    counselor, client, _ = _people(world)
    auth = make_auth(client)
    endpoint, _ = subscribe(auth, push)
    quiet = {"start": _local_hhmm(client, -timedelta(hours=1)),
             "end": _local_hhmm(client, timedelta(hours=1))}
    assert auth.put("/api/v1/me/notification-preferences",
                    json={"quiet_hours": quiet}).status_code == 200
    db.session.add(MeasureSchedule(client_id=client.id, kind="phq9", every_weeks=2,
                                   next_due=clock.now() - timedelta(minutes=1),
                                   set_by_id=counselor.id))
    db.session.commit()
    passes()
    assert push.pushes_to(endpoint) == [] and mail.messages == []
    assert deliveries() == [("measure_due", "email", "pending"), ("measure_due", "push", "pending")]
    clock.advance(timedelta(minutes=30))
    passes()
    assert push.pushes_to(endpoint) == []
    clock.advance(timedelta(minutes=31))
    passes(2)
    assert len(push.pushes_to(endpoint)) == 1 and len(mail.to(client.email)) == 1
    assert deliveries() == [("measure_due", "email", "sent"), ("measure_due", "push", "sent")]


def test_a_session_reminder_held_past_the_session_is_dropped(world, make_auth, outside):
    push, mail = outside
    _, client, group = _people(world)
    auth = make_auth(client)
    endpoint, _ = subscribe(auth, push)
    quiet = {"start": _local_hhmm(client, -timedelta(minutes=1)),
             "end": _local_hhmm(client, timedelta(hours=3))}
    auth.put("/api/v1/me/notification-preferences", json={"quiet_hours": quiet})
    world.session(group, starts_in=timedelta(minutes=9), length=timedelta(hours=1))
    passes()
    clock.advance(timedelta(hours=3, minutes=2))
    passes()
    assert push.pushes_to(endpoint) == [] and mail.messages == []
    assert {s for _, _, s in deliveries()} == {"skipped"}


def test_turning_a_kind_off_stops_it_and_a_channel_off_keeps_the_other(world, make_auth,
                                                                        outside):
    push, mail = outside
    _, client, group = _people(world)
    auth = make_auth(client)
    endpoint, _ = subscribe(auth, push)
    auth.put("/api/v1/me/notification-preferences",
             json={"kinds": {"session_reminder": False}})
    world.session(group, starts_in=timedelta(minutes=9))
    passes()
    assert push.pushes_to(endpoint) == [] and mail.messages == []
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0

    auth.put("/api/v1/me/notification-preferences",
             json={"channels": {"push": True, "email": False}})
    passes()  # on again: the reminder still due goes out, by push only
    assert len(push.pushes_to(endpoint)) == 1 and mail.messages == []


def test_a_channel_turned_off_while_held_is_not_used(world, make_auth, outside):
    push, mail = outside
    counselor, client, _ = _people(world)
    auth = make_auth(client)
    endpoint, _ = subscribe(auth, push)
    quiet = {"start": _local_hhmm(client, -timedelta(hours=1)),
             "end": _local_hhmm(client, timedelta(minutes=30))}
    auth.put("/api/v1/me/notification-preferences", json={"quiet_hours": quiet})
    selfcare_assignment(client, counselor)
    passes()
    auth.put("/api/v1/me/notification-preferences",
             json={"channels": {"push": True, "email": False}})
    clock.advance(timedelta(minutes=31))
    passes()
    assert len(push.pushes_to(endpoint)) == 1 and mail.messages == []


def selfcare_assignment(client: User, counselor: User) -> Any:
    from tests.care_factories import assignment

    return assignment(client, counselor)


# --- push services' answers ---------------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 410])
def test_a_subscription_the_push_service_calls_gone_is_deleted(world, make_auth, outside,
                                                               status):
    push, mail = outside
    _, client, group = _people(world)
    endpoint, subscription_id = subscribe(make_auth(client), push, token="gone")
    push.answer["gone"] = status
    world.session(group, starts_in=timedelta(minutes=9))
    passes()
    assert db.session.get(PushSubscription, subscription_id) is None
    assert deliveries() == [("session_reminder", "email", "sent"),
                            ("session_reminder", "push", "gone")]
    world.session(group, starts_in=timedelta(minutes=5))
    passes()
    assert push.requests["gone"] == 1  # never tried again
    assert len(mail.to(client.email)) == 2


def test_a_failing_push_service_is_retried_with_backoff_and_never_holds_the_others(
        app, world, make_auth, outside):
    push, _ = outside
    app.config["NOTIFICATION_SEND_TIMEOUT"] = 1
    _, client, group = _people(world)
    auth = make_auth(client)
    failing, _ = subscribe(auth, push, token="failing")
    slow, _ = subscribe(auth, push, token="slow")
    working, _ = subscribe(auth, push, token="working")
    push.answer["failing"] = 503
    push.delay["slow"] = 3  # past the timeout
    world.session(group, starts_in=timedelta(minutes=9))
    outcome = passes()
    assert len(push.pushes_to(working)) == 1
    assert outcome.retried == 2 and outcome.sent == 2  # the working push and the mail
    errors = dict(db.session.execute(select(NotificationDelivery.target,
                                            NotificationDelivery.last_error)).all())
    assert errors["push:1"] == "HTTP 503" and errors["push:2"].startswith("no answer within")
    passes()  # backoff: not tried again at once
    assert push.requests["failing"] == 1
    del push.answer["failing"], push.delay["slow"]
    clock.advance(timedelta(seconds=31))
    passes()
    assert len(push.pushes_to(failing)) == 1 and len(push.pushes_to(slow)) == 1
    assert len(push.pushes_to(working)) == 1
    assert {s for _, _, s in deliveries()} == {"sent"}


def test_backoff_grows_and_a_delivery_gives_up_when_no_longer_useful():
    assert [delivery.backoff(n).total_seconds() for n in (1, 2, 3, 4, 5, 9)] == [
        30, 120, 480, 1920, 3600, 3600]


# --- what a subscription may be -----------------------------------------------------------------


@pytest.mark.parametrize("endpoint", [
    "https://push.example.org/send/abc",  # not a push service
    "https://fcm.googleapis.com.attacker.example/fcm/send/abc",  # a suffix is not the host
    "https://notfcm.googleapis.com/fcm/send/abc",
    "http://fcm.googleapis.com/fcm/send/abc",  # push services are https
    "https://fcm.googleapis.com:8443/fcm/send/abc",
    "https://user@fcm.googleapis.com/fcm/send/abc",
    "http://127.0.0.1:8080/push/abc",  # loopback, not listed
    "https://169.254.169.254/latest/meta-data",
    "ftp://fcm.googleapis.com/x",
    "not a url",
])
def test_an_endpoint_off_the_push_services_is_refused(world, make_auth, endpoint):
    auth = make_auth(world.user())
    response = auth.post("/api/v1/push-subscriptions",
                         json=BrowserKeys().subscription(endpoint))
    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["endpoint"]
    assert db.session.scalar(select(func.count()).select_from(PushSubscription)) == 0


@pytest.mark.parametrize("endpoint", [
    FCM + "abc", "https://updates.push.services.mozilla.com/wpush/v2/abc",
    "https://web.push.apple.com/QGx", "https://wns2-by3p.notify.windows.com/w/?token=abc",
])
def test_endpoints_of_the_known_push_services_are_accepted(world, make_auth, endpoint):
    auth = make_auth(world.user())
    response = auth.post("/api/v1/push-subscriptions", json=BrowserKeys().subscription(endpoint))
    assert response.status_code == 201, response.get_json()


def test_a_listed_host_must_be_https_unless_loopback(app, world, make_auth):
    app.config["PUSH_ENDPOINT_HOSTS"] = ["push.clinic.example", "127.0.0.1"]
    auth = make_auth(world.user())
    for endpoint, status in [("http://push.clinic.example/p/1", 422),
                             ("https://push.clinic.example:8443/p/1", 201),
                             ("http://127.0.0.1:9/p/1", 201)]:
        response = auth.post("/api/v1/push-subscriptions",
                             json=BrowserKeys().subscription(endpoint))
        assert response.status_code == status, endpoint


def _bad_keys() -> list[tuple[dict[str, str], str]]:
    good = BrowserKeys().subscription(FCM + "x")["keys"]
    off_curve = b64url(b"\x04" + b"\x01" * 64)
    return [({**good, "p256dh": "abc"}, "keys.p256dh"),
            ({**good, "p256dh": off_curve}, "keys.p256dh"),
            ({**good, "p256dh": b64url(b"\x02" + b"\x01" * 32)}, "keys.p256dh"),
            ({**good, "p256dh": "!!not base64!!"}, "keys.p256dh"),
            ({**good, "auth": b64url(b"short")}, "keys.auth"),
            ({"p256dh": good["p256dh"]}, "keys.auth")]


@pytest.mark.parametrize("keys,field", _bad_keys())
def test_a_malformed_key_is_refused_naming_it(world, make_auth, keys, field):
    auth = make_auth(world.user())
    response = auth.post("/api/v1/push-subscriptions",
                         json={"endpoint": FCM + "x", "keys": keys})
    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == [field]
    assert db.session.scalar(select(func.count()).select_from(PushSubscription)) == 0


def test_subscriptions_are_their_owners_and_audited(world, make_auth):
    from companion.core.models import AuditEvent

    alex, sam = world.user(), world.user()
    alex_auth, sam_auth = make_auth(alex), make_auth(sam)
    made = alex_auth.post("/api/v1/push-subscriptions",
                          json=BrowserKeys().subscription(FCM + "a")).get_json()
    assert sam_auth.client.delete(f"/api/v1/push-subscriptions/{made['id']}",
                                  headers=sam_auth.headers()).status_code == 404
    assert alex_auth.client.delete(f"/api/v1/push-subscriptions/{made['id']}",
                                   headers=alex_auth.headers()).status_code == 204
    actions = db.session.execute(select(AuditEvent.action, AuditEvent.actor_id).where(
        AuditEvent.record_type == "push_subscription")).all()
    assert sorted(actions) == [("create", alex.id), ("delete", alex.id)]


def test_the_same_browser_signed_into_by_someone_else_becomes_theirs(world, make_auth, outside):
    push, _ = outside
    counselor, first, group = _people(world)
    second = world.user(name="Morgan")
    endpoint, keys = push.new_browser("shared")
    make_auth(first).post("/api/v1/push-subscriptions", json=keys.subscription(endpoint))
    made = make_auth(second).post("/api/v1/push-subscriptions",
                                  json=keys.subscription(endpoint))
    assert made.status_code == 201
    world.session(group, starts_in=timedelta(minutes=9))  # the first person's session
    passes()
    assert push.pushes_to(endpoint) == []
    assert db.session.scalar(select(PushSubscription.user_id)) == second.id


def test_logging_out_removes_that_logins_devices_a_timeout_does_not(app, world, make_auth):
    client = world.user()
    auth = make_auth(client)
    auth.post("/api/v1/push-subscriptions", json=BrowserKeys().subscription(FCM + "kept"))
    other = make_auth(client)
    other.post("/api/v1/push-subscriptions", json=BrowserKeys().subscription(FCM + "gone"))
    assert other.post("/api/v1/auth/logout").status_code == 204
    assert db.session.scalars(select(PushSubscription.endpoint)).all() == [FCM + "kept"]
    clock.advance(timedelta(minutes=app.config["IDLE_TIMEOUT_MINUTES"] + 1))
    assert auth.get("/api/v1/me").status_code == 401  # timed out
    assert db.session.scalars(select(PushSubscription.endpoint)).all() == [FCM + "kept"]


# --- preferences --------------------------------------------------------------------------------


def test_preferences_default_and_round_trip(world, make_auth):
    auth = make_auth(world.user())
    defaults = auth.get("/api/v1/me/notification-preferences").get_json()
    assert defaults == {"channels": {"push": True, "email": True}, "quiet_hours": None,
                        "checkin_reminder_at": None,
                        "kinds": dict.fromkeys(["session_reminder", "checkin_reminder",
                                                "measure_due", "module_assigned",
                                                "schedule_change", "risk_alert"], True)}
    chosen = {"channels": {"push": True, "email": False},
              "quiet_hours": {"start": "22:00", "end": "07:00"}, "checkin_reminder_at": "19:30",
              "kinds": {**defaults["kinds"], "measure_due": False}}
    assert auth.put("/api/v1/me/notification-preferences", json=chosen).get_json() == chosen
    assert auth.get("/api/v1/me/notification-preferences").get_json() == chosen


@pytest.mark.parametrize("body,field", [
    ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "quiet_hours.start"),
    ({"quiet_hours": {"start": "22:00", "end": "7:00"}}, "quiet_hours.end"),
    ({"quiet_hours": {"start": "22:00", "end": "22:00"}}, "quiet_hours.end"),
    ({"quiet_hours": {"start": "22:00"}}, "quiet_hours.end"),
    ({"checkin_reminder_at": "7pm"}, "checkin_reminder_at"),
    ({"checkin_reminder_at": "19:60"}, "checkin_reminder_at"),
    ({"kinds": {"crisis_line": False}}, "kinds.crisis_line"),
    ({"kinds": {"risk_alert": "no"}}, "kinds.risk_alert"),
    ({"channels": {"push": 1}}, "channels.push"),
    ({"channels": {"sms": True}}, "channels.sms"),
    ({"sound": True}, "sound"),
])
def test_bad_preferences_are_refused_naming_the_field_and_nothing_is_stored(world, make_auth,
                                                                             body, field):
    from companion.core.models import AuditEvent

    auth = make_auth(world.user())
    before = {"channels": {"push": False, "email": True}, "checkin_reminder_at": "08:15"}
    assert auth.put("/api/v1/me/notification-preferences", json=before).status_code == 200
    stored = auth.get("/api/v1/me/notification-preferences").get_json()
    response = auth.put("/api/v1/me/notification-preferences", json=body)
    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == [field]
    assert auth.get("/api/v1/me/notification-preferences").get_json() == stored
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.record_type == "notification_preference")) == 1


# --- the in-app list ----------------------------------------------------------------------------


def test_the_list_is_my_own_newest_first_and_marks_read(world, make_auth, outside):
    _, client, group = _people(world)
    other = world.user()
    world.group(world.user(Role.COUNSELOR), [other], name="Other")
    auth, other_auth = make_auth(client), make_auth(other)
    world.session(group, starts_in=timedelta(minutes=50))
    passes()
    clock.advance(timedelta(minutes=1))
    selfcare_assignment(client, world.user(Role.COUNSELOR))
    passes()
    items = auth.get("/api/v1/notifications").get_json()["items"]
    assert [i["kind"] for i in items] == ["module_assigned", "session_reminder"]
    assert other_auth.get("/api/v1/notifications").get_json()["items"] == []
    first = items[0]["id"]
    assert other_auth.patch(f"/api/v1/notifications/{first}",
                            json={"read": True}).status_code == 404
    read = auth.patch(f"/api/v1/notifications/{first}", json={"read": True}).get_json()
    assert read["read_at"] is not None
    assert auth.patch(f"/api/v1/notifications/{first}",
                      json={"read": False}).get_json()["read_at"] is None
    assert auth.patch(f"/api/v1/notifications/{first}",
                      json={"read": "yes"}).status_code == 422


# --- the other kinds ----------------------------------------------------------------------------


def test_the_checkin_reminder_comes_at_the_chosen_time_unless_done(world, make_auth, outside):
    push, mail = outside
    _, client, _ = _people(world)
    auth = make_auth(client)
    endpoint, _ = subscribe(auth, push)
    auth.put("/api/v1/me/notification-preferences", json={"checkin_reminder_at": "00:00"})
    passes(2)
    [received] = push.pushes_to(endpoint)
    assert received.payload["url"] == "/checkin"
    assert len(mail.to(client.email)) == 1

    done = world.user(name="Done Today")
    done_auth = make_auth(done)
    done_endpoint, _ = subscribe(done_auth, push)
    done_auth.put("/api/v1/me/notification-preferences", json={"checkin_reminder_at": "00:00"})
    selfcare_factories.checkin(done, occurred_at=clock.now())
    passes()
    assert push.pushes_to(done_endpoint) == []


def test_a_checkin_reminder_held_is_dropped_once_checked_in(world, make_auth, outside):
    push, _ = outside
    _, client, _ = _people(world)
    auth = make_auth(client)
    endpoint, _ = subscribe(auth, push)
    quiet = {"start": _local_hhmm(client, -timedelta(minutes=1)),
             "end": _local_hhmm(client, timedelta(minutes=20))}
    auth.put("/api/v1/me/notification-preferences",
             json={"checkin_reminder_at": "00:00", "quiet_hours": quiet})
    passes()
    selfcare_factories.checkin(client, occurred_at=clock.now())
    clock.advance(timedelta(minutes=21))
    passes()
    assert push.pushes_to(endpoint) == []


def test_cancelled_and_moved_sessions_tell_their_clients(world, make_auth, outside):
    push, _ = outside
    counselor, client, group = _people(world)
    endpoint, _ = subscribe(make_auth(client), push)
    soon = world.session(group, starts_in=timedelta(days=2))
    later = world.session(group, starts_in=timedelta(days=3))
    occurrences.cancel(counselor, soon, "Snow", clock.now())
    occurrences.move(counselor, later, clock.now() + timedelta(days=4), 90, clock.now())
    passes(2)
    bodies = sorted(p.payload["body"] for p in push.pushes_to(endpoint))
    assert len(bodies) == 2
    assert bodies[0].startswith("Something on your schedule moved to ")
    assert bodies[1] == ("Something on your schedule was called off. "
                         "Open Companion for the details.")
    assert {p.payload["title"] for p in push.pushes_to(endpoint)} == {"Companion: a change"}


def test_a_risk_alert_reaches_a_counselor_with_no_live_socket_within_a_minute(
        world, make_auth, outside):
    from companion import jobs

    push, mail = outside
    counselor, client, _ = _people(world)
    endpoint, _ = subscribe(make_auth(counselor), push)
    # The job passes every NOTIFY_EVERY seconds; an alert waits out the grace first.
    assert jobs.NOTIFY_EVERY + planning.ALERT_GRACE.total_seconds() < 60
    response = make_auth(client).post("/api/v1/checkins", json={
        "id": "5d0f6b1e-3c1a-4a5e-9d7e-0a1b2c3d4e5f", "occurred_at": clock.now().isoformat(),
        "mood": 3, "craving": 9, "used": "no", "need_to_talk": True})
    assert response.status_code == 201
    passes()
    assert push.pushes_to(endpoint) == []  # within the grace: their page may be reloading
    clock.advance(planning.ALERT_GRACE + timedelta(seconds=1))
    passes(2)
    # One notification per alert (need to talk, craving), each once.
    assert [p.payload for p in push.pushes_to(endpoint)] == [
        {"title": "Companion: something needs your attention", "body": "Please open Companion.",
         "url": "/home"}] * 2
    assert len(mail.to(counselor.email)) == 2
    assert mail.to(client.email) == []


def test_a_counselor_with_a_live_socket_sees_the_alert_in_the_app_only(world, make_auth,
                                                                       outside):
    push, mail = outside
    counselor, client, _ = _people(world)
    endpoint, _ = subscribe(make_auth(counselor), push)
    connections.connections["sid-1"] = connections.Connection(
        sid="sid-1", user_id=counselor.id, login_id="x", checked_at=0.0,
        shown=connections.shown(counselor.display_name, counselor.role))
    selfcare_factories.alert(client)
    clock.advance(timedelta(seconds=15))
    passes()
    assert push.pushes_to(endpoint) == [] and mail.messages == []
    [item] = make_auth(counselor).get("/api/v1/notifications").get_json()["items"]
    assert item["kind"] == "risk_alert" and item["deliveries"] == []


def test_an_alert_nobody_acknowledges_reaches_the_on_call_staff(world, make_auth, outside):
    push, mail = outside
    counselor, client, _ = _people(world)
    on_call = world.user(Role.COUNSELOR, name="Olive On-call")
    world.program.on_call_ids = [on_call.id]
    db.session.commit()
    on_call_endpoint, _ = subscribe(make_auth(on_call), push)
    alert = selfcare_factories.alert(client)
    clock.advance(timedelta(seconds=15))
    passes()
    assert push.pushes_to(on_call_endpoint) == []
    assert len(mail.to(counselor.email)) == 1
    clock.advance(timedelta(minutes=world.program.alert_escalation_minutes))
    assert [a.id for a in escalation.escalate_overdue()] == [alert.id]
    passes(2)
    assert len(push.pushes_to(on_call_endpoint)) == 1
    assert len(mail.to(on_call.email)) == 1
    assert len(mail.to(counselor.email)) == 1


def test_an_acknowledged_alert_is_not_sent(world, make_auth, outside):
    push, mail = outside
    counselor, client, _ = _people(world)
    alert = selfcare_factories.alert(client)
    alert.acknowledged_at = clock.now()
    db.session.commit()
    clock.advance(timedelta(seconds=15))
    passes()
    assert mail.messages == []


def test_missed_checkins_raise_one_alert_per_run_of_days(app, world, monkeypatch):
    from companion.clinic.models import Enrollment
    from companion.core import events
    from companion.selfcare import missed_checkins

    live: list[tuple[list[str], str]] = []
    monkeypatch.setattr(events, "_deliver", lambda rooms, event, payload: live.append(
        (list(rooms), event)))

    app.config["MISSED_CHECKIN_DAYS"] = 3
    counselor, client, _ = _people(world)
    steady = world.user(name="Steady")
    for person in (client, steady):
        enrollment = db.session.scalar(select(Enrollment).where(Enrollment.client_id == person.id))
        enrollment.start_date = (clock.now() - timedelta(days=10)).date()
    db.session.commit()
    selfcare_factories.checkin(client, occurred_at=clock.now() - timedelta(days=5),
                               local_date=(clock.now() - timedelta(days=5)).date())
    selfcare_factories.checkin(steady, occurred_at=clock.now(),
                               local_date=(clock.now().astimezone(
                                   missed_checkins.client_zone(steady))).date())
    raised = missed_checkins.raise_due(clock.now())
    assert [(a.client_id, a.kind) for a in raised] == [(client.id, AlertKind.MISSED_CHECKINS)]
    assert missed_checkins.raise_due(clock.now()) == []
    assert db.session.scalar(select(func.count()).select_from(Alert)) == 1
    # Published live to the counselor with the commit, once.
    assert live == [([events.user_room(counselor.id)], "alert")]


def test_no_mail_server_logs_that_it_skipped_and_never_the_content(app, world, make_auth,
                                                                  outside, caplog):
    push, mail = outside
    app.config["MAIL_URL"] = ""
    _, client, group = _people(world)
    endpoint, _ = subscribe(make_auth(client), push)
    world.session(group, starts_in=timedelta(minutes=9))
    with caplog.at_level(logging.INFO, logger="companion.notifications"):
        passes()
    assert len(push.pushes_to(endpoint)) == 1 and mail.messages == []
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "not emailed" in logged
    for secret in ("reminder", "Starts at", client.email, "Riley"):
        assert secret not in logged


def test_nothing_is_sent_to_a_deactivated_account(world, make_auth, outside):
    push, mail = outside
    _, client, group = _people(world)
    endpoint, _ = subscribe(make_auth(client), push)
    client.active = False
    db.session.commit()
    world.session(group, starts_in=timedelta(minutes=9))
    passes()
    assert push.pushes_to(endpoint) == [] and mail.messages == []


def test_a_notification_row_is_unique_per_person_kind_and_occurrence(world):
    from sqlalchemy.exc import IntegrityError

    client = world.user()
    now = datetime.now(UTC)
    row = {"user_id": client.id, "kind": "risk_alert", "occurrence": "alert:1", "title": "t",
           "body": "b", "url": "/home", "created_at": now, "expires_at": now}
    db.session.add(Notification(**row))
    db.session.commit()
    db.session.add(Notification(**row))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(NotificationPreference, client.id) is None
