"""What the notification tests talk to, all on loopback: a browser's push keys (the
``cryptography`` package plays the browser: it decrypts what the server encrypted), a push
service that checks each request's VAPID token and decrypts its payload, and a mail server
(aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


class BrowserKeys:
    """A subscription's key pair and auth secret, as a browser holds them."""

    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.public = self.private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        self.auth = os.urandom(16)

    def subscription(self, endpoint: str) -> dict[str, Any]:
        """PushSubscription.toJSON()."""
        return {"endpoint": endpoint, "expirationTime": None,
                "keys": {"p256dh": b64url(self.public), "auth": b64url(self.auth)}}

    def decrypt(self, body: bytes) -> bytes:
        """RFC 8291 over RFC 8188 (aes128gcm): what the browser does with a push's body."""
        salt, record_size, id_length = body[:16], int.from_bytes(body[16:20], "big"), body[20]
        sender_public = body[21:21 + id_length]
        ciphertext = body[21 + id_length:]
        assert id_length == 65 and sender_public[0] == 4, "keyid is the sender's P-256 key"
        assert len(ciphertext) <= record_size, "one record"
        shared = self.private.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), sender_public))
        ikm = _hkdf(self.auth, shared, b"WebPush: info\x00" + self.public + sender_public, 32)
        key = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
        nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
        plain = AESGCM(key).decrypt(nonce, ciphertext, None)
        padded = plain.rstrip(b"\x00")
        assert padded.endswith(b"\x02"), "the last record's delimiter"
        return padded[:-1]


@dataclass
class ReceivedPush:
    token: str
    headers: dict[str, str]
    payload: dict[str, Any]
    claims: dict[str, Any]


def verify_vapid(authorization: str, audience: str, server_key: str | None) -> dict[str, Any]:
    """RFC 8292: ``vapid t=<JWT>, k=<key>``; the JWT ES256-signed by k, for this audience, not
    expired nor longer than 24 hours, with a contact. Returns the claims."""
    scheme, _, params = authorization.partition(" ")
    assert scheme.lower() == "vapid", authorization
    parts = dict(p.strip().split("=", 1) for p in params.split(","))
    token, key = parts["t"], parts["k"]
    if server_key is not None:
        assert key == server_key, "signed with the server's published key"
    header_b64, claims_b64, signature_b64 = token.split(".")
    header = json.loads(unb64url(header_b64))
    assert header["alg"] == "ES256" and header.get("typ", "JWT") == "JWT", header
    signature = unb64url(signature_b64)
    assert len(signature) == 64
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
    try:
        public.verify(encode_dss_signature(int.from_bytes(signature[:32], "big"),
                                           int.from_bytes(signature[32:], "big")),
                      f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise AssertionError("bad VAPID signature") from None
    claims = json.loads(unb64url(claims_b64))
    assert claims["aud"] == audience, claims
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600, claims
    assert claims["sub"].startswith(("mailto:", "https:")), claims
    return dict(claims)


class PushService:
    """A push service on loopback. POST /push/<token> with a valid VAPID token and an
    aes128gcm body for a subscription it knows (``keys``): 201, and the push is kept;
    ``answer[token]`` makes it answer another status (410, 500...) instead."""

    def __init__(self) -> None:
        self.keys: dict[str, BrowserKeys] = {}
        self.answer: dict[str, int] = {}
        self.delay: dict[str, float] = {}  # seconds to wait before answering (a slow service)
        self.requests: dict[str, int] = {}
        self.received: list[ReceivedPush] = []
        self.refused: list[str] = []
        self.server_key: str | None = None
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                token = self.path.rsplit("/", 1)[-1]
                status = owner.handle(token, dict(self.headers.items()), body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def new_browser(self, token: str | None = None) -> tuple[str, BrowserKeys]:
        """An endpoint on this service and the browser keys behind it."""
        token = token or b64url(os.urandom(12))
        keys = BrowserKeys()
        self.keys[token] = keys
        return f"{self.origin}/push/{token}", keys

    def handle(self, token: str, headers: dict[str, str], body: bytes) -> int:
        lower = {k.lower(): v for k, v in headers.items()}
        with self.lock:
            self.requests[token] = self.requests.get(token, 0) + 1
        if token in self.delay:
            time.sleep(self.delay[token])
        try:
            claims = verify_vapid(lower["authorization"], self.origin, self.server_key)
            assert lower["content-encoding"] == "aes128gcm", lower
            assert int(lower["ttl"]) >= 0, lower
            assert lower["urgency"] in ("very-low", "low", "normal", "high"), lower
            payload = json.loads(self.keys[token].decrypt(body))
        except (AssertionError, KeyError, ValueError) as error:
            with self.lock:
                self.refused.append(f"{type(error).__name__}: {error}")
            return 400
        if token in self.answer:
            return self.answer[token]
        with self.lock:
            self.received.append(ReceivedPush(token, lower, payload, claims))
        return 201

    def pushes_to(self, token_or_endpoint: str) -> list[ReceivedPush]:
        token = token_or_endpoint.rsplit("/", 1)[-1]
        return [p for p in self.received if p.token == token]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@dataclass
class MailServer:
    """aiosmtpd on loopback; ``messages`` holds what it received, parsed."""

    messages: list[Message] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        from aiosmtpd.controller import Controller

        owner = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                owner.messages.append(message_from_bytes(envelope.content))
                owner.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
                return "250 OK"

        with socket.socket() as probe:  # aiosmtpd connects to its port to see it is up: no 0
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)
        self.controller.start()
        self.url = f"smtp://127.0.0.1:{self.controller.port}"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]

    def close(self) -> None:
        self.controller.stop()
