"""A push subscription never makes the server call an address of someone's choosing (SSRF):
endpoints are checked when stored and again when sent, and the request goes to the address
checked (core/outbound.py), so a push service's name that resolves inward reaches nothing."""

from __future__ import annotations

import socket
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from companion.accounts.models import Role
from companion.core import outbound
from companion.core.extensions import db
from companion.notifications import dispatch
from companion.notifications.models import NotificationDelivery, PushSubscription
from tests.notification_servers import BrowserKeys


def _loopback_for(monkeypatch: Any, host: str, port: int) -> None:
    """``host`` resolves to this machine (a poisoned resolver, a hostile DNS answer)."""
    real = socket.getaddrinfo

    def fake(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == host:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(name, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


def test_post_refuses_an_internal_address_and_sends_nothing(monkeypatch, push_service):
    _loopback_for(monkeypatch, "fcm.googleapis.com", push_service.port)
    with pytest.raises(outbound.FetchFailed) as refused:
        outbound.post(f"https://fcm.googleapis.com/push/{'x' * 8}", b"body", timeout=2,
                      headers={})
    assert refused.value.reason.startswith("refused")
    assert push_service.requests == {}


def test_a_push_service_name_resolving_inward_reaches_nothing(app, world, make_auth, outside,
                                                               monkeypatch):
    push, _ = outside
    client = world.user()
    group = world.group(world.user(Role.COUNSELOR), [client])
    auth = make_auth(client)
    _, keys = push.new_browser("inward")
    made = auth.post("/api/v1/push-subscriptions",
                     json=keys.subscription("https://fcm.googleapis.com/fcm/send/inward"))
    assert made.status_code == 201
    _loopback_for(monkeypatch, "fcm.googleapis.com", push.port)
    world.session(group, starts_in=timedelta(minutes=9))
    dispatch.run_pass()
    assert push.requests == {}
    error = db.session.scalar(select(NotificationDelivery.last_error).where(
        NotificationDelivery.target.like("push:%")))
    assert error is not None and error.startswith("refused")


def test_an_endpoint_stored_before_its_host_was_unlisted_is_never_called(app, world, make_auth,
                                                                        outside):
    push, _ = outside
    client = world.user()
    group = world.group(world.user(Role.COUNSELOR), [client])
    endpoint, keys = push.new_browser("unlisted")
    make_auth(client).post("/api/v1/push-subscriptions", json=keys.subscription(endpoint))
    app.config["PUSH_ENDPOINT_HOSTS"] = []
    world.session(group, starts_in=timedelta(minutes=9))
    dispatch.run_pass()
    assert push.requests == {}
    status = db.session.scalar(select(NotificationDelivery.status).where(
        NotificationDelivery.target.like("push:%")))
    assert status.value == "failed"  # for good: it is not retried


def test_a_person_keeps_at_most_ten_devices(world, make_auth):
    auth = make_auth(world.user())
    for n in range(12):
        assert auth.post("/api/v1/push-subscriptions", json=BrowserKeys().subscription(
            f"https://fcm.googleapis.com/fcm/send/{n}")).status_code == 201
    kept = db.session.scalars(select(PushSubscription.endpoint)).all()
    assert len(kept) == 10 and "https://fcm.googleapis.com/fcm/send/11" in kept
    assert "https://fcm.googleapis.com/fcm/send/0" not in kept
