"""Web Push by the standards: VAPID (RFC 8292, ES256) and the payload encrypted with the
subscription's keys (RFC 8291, aes128gcm), both by web-push-libs (pywebpush, py-vapid); the
request goes out through core/outbound.py, to push services only.

Endpoints are accepted only on the known push services (Google's, Mozilla's, Apple's,
Microsoft's) and on hosts an operator lists in ``COMPANION_PUSH_ENDPOINT_HOSTS``: a
subscription must never make the server call an address of someone's choosing (SSRF).
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app
from py_vapid import Vapid02
from pywebpush import WebPusher

from companion.core import outbound
from companion.core.config import load_or_create_secret_file

# Hosts of the browsers' push services: Chrome, Edge and Samsung use FCM; Firefox Mozilla's
# autopush; Safari Apple's; the Windows platform WNS. A host ends with one of these suffixes
# (a dot before it) or is it.
KNOWN_PUSH_HOSTS = ("fcm.googleapis.com", "android.googleapis.com",
                    "updates.push.services.mozilla.com", "push.services.mozilla.com",
                    "push.apple.com", "notify.windows.com")
MAX_ENDPOINT_LENGTH = 2048
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}
KEY_FILE = "vapid_private_key.pem"
# A VAPID token's life (RFC 8292 allows up to 24 hours).
TOKEN_HOURS = 12


class EndpointRefused(ValueError):
    """Not an endpoint of a push service this server sends to."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def b64url_decode(text: str) -> bytes:
    """Base64url with or without padding; ValueError when it is not."""
    if not isinstance(text, str) or not text or len(text) > 200:
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None


def _host_listed(host: str, listed: list[str]) -> bool:
    return host in {h.lower().rstrip(".") for h in listed}


def check_endpoint(endpoint: str, listed: list[str]) -> None:
    """Refuse an endpoint not on a known push service (https) nor on a listed host (a loopback
    one of which may use http)."""
    if len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise EndpointRefused("too long")
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        raise EndpointRefused("not a URL") from None
    host = (parts.hostname or "").lower().rstrip(".")
    if not host or parts.username is not None or parts.password is not None or parts.fragment:
        raise EndpointRefused("not a push endpoint")
    if _host_listed(host, listed):
        if parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK_NAMES):
            return
        raise EndpointRefused("https only")
    known = any(host == k or host.endswith("." + k) for k in KNOWN_PUSH_HOSTS)
    if not known:
        raise EndpointRefused("not a known push service")
    if parts.scheme != "https" or port not in (None, 443):
        raise EndpointRefused("https only")


def check_public_key(p256dh: str) -> None:
    """The browser's ECDH key: an uncompressed point on P-256 (RFC 8291)."""
    raw = b64url_decode(p256dh)
    if len(raw) != 65 or raw[0] != 4:
        raise ValueError("not an uncompressed P-256 point")
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)  # ValueError off curve


def check_auth_secret(auth: str) -> None:
    if len(b64url_decode(auth)) != 16:
        raise ValueError("not 16 bytes")


# --- the server's VAPID key -------------------------------------------------------------------


def _new_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@cache
def _load_key(pem: str) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError("COMPANION_VAPID_PRIVATE_KEY must be a P-256 private key (PEM)")
    return key


def private_key_pem() -> str:
    """From configuration, or generated once into the instance folder (every process of this
    installation then signs with the same key, which browsers' subscriptions are bound to)."""
    configured = str(current_app.config.get("VAPID_PRIVATE_KEY") or "")
    if configured:
        return configured.replace("\\n", "\n")
    path = Path(current_app.config["INSTANCE_PATH"]) / KEY_FILE
    return load_or_create_secret_file(path, _new_pem) + "\n"


def public_key() -> str:
    """The application server key a browser subscribes with: base64url, uncompressed P-256."""
    key = _load_key(private_key_pem())
    raw = key.public_key().public_bytes(serialization.Encoding.X962,
                                        serialization.PublicFormat.UncompressedPoint)
    return b64url(raw)


# --- one push ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Push:
    """Everything one push needs, read before the send (which touches no database)."""

    endpoint: str
    p256dh: str
    auth: str
    payload: dict[str, str]
    ttl: int
    urgency: str  # RFC 8030: very-low, low, normal, high


@dataclass(frozen=True)
class Sender:
    """The server's side: its key, its contact, where it may connect, how long it waits."""

    private_key_pem: str
    subject: str
    allowed_hosts: tuple[str, ...]
    timeout: float


def sender() -> Sender:
    config = current_app.config
    subject = config.get("VAPID_SUBJECT") or f"mailto:{config['MAIL_FROM']}"
    return Sender(private_key_pem(), subject, tuple(config["PUSH_ENDPOINT_HOSTS"]),
                  float(config["NOTIFICATION_SEND_TIMEOUT"]))


def request_of(push: Push, by: Sender) -> tuple[bytes, dict[str, str]]:
    """The encrypted body and the headers of the push's POST."""
    subscription = {"endpoint": push.endpoint, "keys": {"p256dh": push.p256dh,
                                                        "auth": push.auth}}
    data = json.dumps(push.payload, separators=(",", ":")).encode()
    body = WebPusher(subscription).encode(data, content_encoding="aes128gcm")["body"]
    parts = urlsplit(push.endpoint)
    audience = f"{parts.scheme}://{parts.netloc}"
    vapid = Vapid02(_load_key(by.private_key_pem))
    claims: dict[str, Any] = {"aud": audience, "sub": by.subject,
                              "exp": int(time.time()) + TOKEN_HOURS * 3600}
    headers = {
        **vapid.sign(claims),
        "TTL": str(push.ttl),
        "Urgency": push.urgency,
        "Content-Encoding": "aes128gcm",
        "Content-Type": "application/octet-stream",
    }
    return body, headers


def send(push: Push, by: Sender) -> int:
    """POST the push; the push service's status (201 accepted, 404/410 gone, 429/5xx later).
    outbound.FetchFailed when it could not be reached in time."""
    check_endpoint(push.endpoint, list(by.allowed_hosts))  # stored before a host was unlisted?
    body, headers = request_of(push, by)
    return outbound.post(push.endpoint, body, timeout=by.timeout, headers=headers,
                         allowed_hosts=by.allowed_hosts)
