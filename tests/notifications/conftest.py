"""A push service and a mail server on loopback, and the app pointed at both."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.notification_servers import MailServer, PushService


@pytest.fixture
def push_service() -> Iterator[PushService]:
    service = PushService()
    yield service
    service.close()


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    server = MailServer()
    yield server
    server.close()


@pytest.fixture
def outside(app: Flask, push_service: PushService, mail_server: MailServer) -> Any:
    """The app sends pushes to the loopback push service (a listed host, so http) and mail to
    the loopback mail server; the push service knows the server's VAPID key."""
    from companion.notifications import webpush

    app.config.update(PUSH_ENDPOINT_HOSTS=["127.0.0.1"], MAIL_URL=mail_server.url,
                      PUBLIC_URL="https://companion.example.org", NOTIFICATION_SEND_TIMEOUT=5)
    push_service.server_key = webpush.public_key()
    return push_service, mail_server
