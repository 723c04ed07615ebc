"""Configuration read from the environment, with safe defaults for the embedded mode."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

DEFAULT_CRISIS_RESOURCES: list[dict[str, str]] = [
    {
        "name": "988 Suicide & Crisis Lifeline",
        "detail": "Call or text 988, 24/7",
        "call": "988",
        "text": "988",
        "url": "https://988lifeline.org",
    },
    {
        "name": "SAMHSA National Helpline",
        "detail": "1-800-662-4357, free, 24/7, English and Spanish",
        "call": "18006624357",
        "display": "1-800-662-4357",
    },
    {
        "name": "Crisis Text Line",
        "detail": "Text HOME to 741741",
        "text": "741741",
        "text_body": "HOME",
    },
    {
        "name": "Emergency",
        "detail": "Call 911 if you are in immediate danger",
        "call": "911",
    },
    {
        "name": "FindTreatment.gov",
        "detail": "Find treatment near you",
        "url": "https://findtreatment.gov",
    },
]


def _normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given in the usual short form."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class ConfigError(RuntimeError):
    """The environment does not describe a configuration Companion can run with."""


def instance_path_from_env(env: Mapping[str, str] | None = None) -> Path:
    """The instance folder (``COMPANION_INSTANCE_PATH``, default ``instance/``)."""
    env = os.environ if env is None else env
    return Path(env.get("COMPANION_INSTANCE_PATH", "instance")).resolve()


def load_or_create_secret_file(path: Path,
                               make: Callable[[], str] = lambda: secrets.token_urlsafe(48)
                               ) -> str:
    """A secret kept in a file of the instance folder: generated the first time (by ``make``),
    readable by its owner only, and the same for every process of this installation from then
    on."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under a temporary name (mkstemp makes it 0600), then linked into
        # place: a process starting at the same moment reads a complete secret or makes none.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "w") as out:
                out.write(make())
            with contextlib.suppress(FileExistsError):  # another process was first: use theirs
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    value = path.read_text().strip()
    if not value:
        raise ConfigError(f"{path} is empty; restore it from a backup (or remove it if nothing "
                          "depends on it yet)")
    return value


def _load_or_create_secret(instance_path: Path) -> str:
    """Keep a generated secret in the instance folder so sessions survive restarts."""
    return load_or_create_secret_file(instance_path / "secret_key")


# An HMAC key of fewer characters than this is too easy to guess.
# The browser client: its shell, assets and service worker (served by core/web.py).
WEBUI_PATH = Path(__file__).resolve().parents[2] / "webui"

MIN_KEY_LENGTH = 32


# A telephone number as people read it: digits, an optional leading +, spaces, dots, dashes and
# brackets. It is shown to clients and never dialled by the server.
_PHONE_NUMBER = re.compile(r"^\+?[0-9][0-9 ().-]{2,28}[0-9]$")


def _sip_number(value: str) -> str:
    number = " ".join(str(value).split())
    if number and not _PHONE_NUMBER.match(number):
        raise ConfigError("COMPANION_SIP_NUMBER must be a telephone number as clients dial it, "
                          "such as +1 555 0100")
    return number


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the app configuration from the environment, then apply ``overrides``."""
    env = os.environ
    overrides = dict(overrides or {})
    production = (overrides.get("ENV") or env.get("COMPANION_ENV", "development")) == "production"
    instance_path = (Path(overrides["INSTANCE_PATH"]).resolve() if overrides.get("INSTANCE_PATH")
                     else instance_path_from_env(env))

    database_url = overrides.get("DATABASE_URL") or env.get("DATABASE_URL")
    if not database_url:
        if production:
            raise ConfigError("DATABASE_URL is required in production")
        instance_path.mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite:///{instance_path / 'companion.db'}"

    secret_key = overrides.get("SECRET_KEY") or env.get("SECRET_KEY")
    if not secret_key:
        if production:
            raise ConfigError("SECRET_KEY is required in production")
        secret_key = _load_or_create_secret(instance_path)

    # Keys the audit log's MAC chain and its checkpoints (companion/core/audit.py); kept out
    # of the database, so that a copy or an editor of the database cannot recompute the chain.
    # Every web process must share it: in production it comes from the environment.
    audit_key = overrides.get("AUDIT_KEY") or env.get("COMPANION_AUDIT_KEY")
    if not audit_key:
        if production:
            raise ConfigError("COMPANION_AUDIT_KEY is required in production (the same on every "
                              "web process)")
        audit_key = load_or_create_secret_file(instance_path / "audit_key")
    elif len(audit_key) < MIN_KEY_LENGTH:
        raise ConfigError(f"COMPANION_AUDIT_KEY must be at least {MIN_KEY_LENGTH} characters")

    redis_url = overrides.get("REDIS_URL", env.get("REDIS_URL") or None)
    sip_number = _sip_number(overrides.get("SIP_NUMBER", env.get("COMPANION_SIP_NUMBER", "")))
    if "SIP_NUMBER" in overrides:
        overrides["SIP_NUMBER"] = sip_number
    config: dict[str, Any] = {
        "ENV": "production" if production else "development",
        "INSTANCE_PATH": str(instance_path),
        "SECRET_KEY": secret_key,
        "AUDIT_KEY": audit_key,
        "DATABASE_URL": _normalise_database_url(database_url),
        "REDIS_URL": redis_url,
        # Behind HTTPS (a proxy that terminates TLS) cookies get the Secure flag and HSTS is sent.
        "HTTPS": env.get("COMPANION_HTTPS", "1" if production else "0") == "1",
        "PUBLIC_URL": env.get("COMPANION_PUBLIC_URL", ""),
        "IDLE_TIMEOUT_MINUTES": int(env.get("COMPANION_IDLE_TIMEOUT_MINUTES", "30")),
        "ABSOLUTE_TIMEOUT_HOURS": int(env.get("COMPANION_ABSOLUTE_TIMEOUT_HOURS", "12")),
        "INVITATION_DAYS": int(env.get("COMPANION_INVITATION_DAYS", "7")),
        # smtp://user:password@host:port ; when empty, invitation links are shown and logged.
        "MAIL_URL": env.get("COMPANION_MAIL_URL", ""),
        "MAIL_FROM": env.get("COMPANION_MAIL_FROM", "companion@localhost"),
        "LOGIN_LIMITS": env.get("COMPANION_LOGIN_LIMITS", "10 per 5 minutes"),
        # Reverse proxies in front that append X-Forwarded-For: the client's address is taken
        # that many hops back (Werkzeug's ProxyFix). 0: the connecting address is the client's
        # and the header is ignored (anyone can send one).
        "PROXY_HOPS": int(env.get("COMPANION_PROXY_HOPS", "0")),
        # Wrong second-factor codes per staff account, from any address (docs/security.md).
        "OTP_LIMITS": env.get("COMPANION_OTP_LIMITS", "20 per hour"),
        # Invitations (and second-factor resets) an inviter may issue, from any address: each
        # one mails someone from the clinic's server.
        "INVITATION_LIMITS": env.get("COMPANION_INVITATION_LIMITS", "20 per hour;100 per day"),
        # Encrypts staff's TOTP secrets at rest; derived from SECRET_KEY when not set.
        "MFA_KEY": env.get("COMPANION_MFA_KEY", ""),
        "ALLOWED_ORIGINS": [
            o for o in env.get("COMPANION_ALLOWED_ORIGINS", "").split(",") if o.strip()
        ],
        "CRISIS_RESOURCES": DEFAULT_CRISIS_RESOURCES,
        # gevent measured best for Socket.IO fan-out (docs/benchmarks.md); tests use threading.
        "ASYNC_MODE": env.get("COMPANION_ASYNC_MODE", "gevent"),
        # Sockets one login may hold open on a web process (tabs, reconnects): docs/realtime.md.
        "SOCKETS_PER_LOGIN": int(env.get("COMPANION_SOCKETS_PER_LOGIN", "8")),
        # Per-message deflate on Socket.IO's WebSocket: off, see companion/core/transport.py.
        "WEBSOCKET_COMPRESSION": env.get("COMPANION_WEBSOCKET_COMPRESSION", "0") == "1",
        # Meeting feeds (docs/meetings.md): fetch limits, and how often `serve` looks for
        # sources due a refresh (0: never; run `companion refresh-meetings` from cron instead).
        "MEETING_FEED_TIMEOUT": float(env.get("COMPANION_MEETING_FEED_TIMEOUT", "20")),
        "MEETING_FEED_MAX_BYTES": int(env.get("COMPANION_MEETING_FEED_MAX_BYTES", str(8 << 20))),
        # Meetings one feed may hold: what a directory search costs grows with it.
        "MEETING_FEED_MAX_ROWS": int(env.get("COMPANION_MEETING_FEED_MAX_ROWS", "10000")),
        # Hosts whose feeds may be on loopback or private addresses (tests, an intranet
        # feed); every other feed URL must resolve to public addresses only (SSRF).
        "MEETING_FEED_ALLOWED_HOSTS": [
            h.strip() for h in env.get("COMPANION_MEETING_FEED_ALLOWED_HOSTS", "").split(",")
            if h.strip()
        ],
        # Directory searches per person (every login of theirs together).
        "MEETING_SEARCH_LIMITS": env.get("COMPANION_MEETING_SEARCH_LIMITS", "30 per minute"),
        "MEETING_REFRESH_CHECK_MINUTES": int(
            env.get("COMPANION_MEETING_REFRESH_CHECK_MINUTES", "15")
        ),
        # Web push (docs/notifications.md): endpoints only on the known push services and on
        # these hosts (a loopback one listed here may use http: tests, a push service of one's
        # own); any other endpoint is refused, so a subscription never picks the server's
        # destination (SSRF).
        "PUSH_ENDPOINT_HOSTS": [
            h.strip().lower() for h in env.get("COMPANION_PUSH_ENDPOINT_HOSTS", "").split(",")
            if h.strip()
        ],
        # The VAPID signing key (RFC 8292): a PEM P-256 private key, the same on every web
        # process. When empty, one is generated into vapid_private_key.pem in the instance
        # folder (shared by the processes of one host).
        "VAPID_PRIVATE_KEY": env.get("COMPANION_VAPID_PRIVATE_KEY", ""),
        # Who push services may contact about this server's pushes (mailto: or https:);
        # mailto:MAIL_FROM when empty.
        "VAPID_SUBJECT": env.get("COMPANION_VAPID_SUBJECT", ""),
        # One push or mail delivery, connecting to the last byte (a slow service waits its
        # turn again later, with backoff).
        "NOTIFICATION_SEND_TIMEOUT": float(env.get("COMPANION_NOTIFICATION_SEND_TIMEOUT", "10")),
        # A client with no check-in for this many whole days raises a missed_checkins alert.
        "MISSED_CHECKIN_DAYS": int(env.get("COMPANION_MISSED_CHECKIN_DAYS", "3")),
        # Phone dial-in (docs/dial-in.md): the number clients call, as they see it; empty: no
        # dial-in at all, whatever the programs say.
        "SIP_NUMBER": sip_number,
        # Whether this server runs the dial-in line (it places counselors' calls to clients).
        "SIP_LINE": bool(env.get("COMPANION_SIP_REGISTRAR", "").strip()),
    }
    config.update(overrides)
    config["DATABASE_URL"] = _normalise_database_url(config["DATABASE_URL"])
    return config
