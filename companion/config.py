"""Configuration read from the environment, with safe defaults for the embedded mode."""

from __future__ import annotations

import os
import secrets
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


def _load_or_create_secret(instance_path: Path) -> str:
    """Keep a generated secret in the instance folder so sessions survive restarts."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


class ConfigError(RuntimeError):
    """The environment does not describe a configuration Companion can run with."""


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the app configuration from the environment, then apply ``overrides``."""
    env = os.environ
    overrides = dict(overrides or {})
    production = (overrides.get("ENV") or env.get("COMPANION_ENV", "development")) == "production"
    instance_path = Path(
        overrides.get("INSTANCE_PATH") or env.get("COMPANION_INSTANCE_PATH", "instance")
    ).resolve()

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

    redis_url = overrides.get("REDIS_URL", env.get("REDIS_URL") or None)
    config: dict[str, Any] = {
        "ENV": "production" if production else "development",
        "INSTANCE_PATH": str(instance_path),
        "SECRET_KEY": secret_key,
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
        # Wrong second-factor codes per staff account, from any address (SECURITY.md).
        "OTP_LIMITS": env.get("COMPANION_OTP_LIMITS", "20 per hour"),
        # Encrypts staff's TOTP secrets at rest; derived from SECRET_KEY when not set.
        "MFA_KEY": env.get("COMPANION_MFA_KEY", ""),
        "ALLOWED_ORIGINS": [
            o for o in env.get("COMPANION_ALLOWED_ORIGINS", "").split(",") if o.strip()
        ],
        "CRISIS_RESOURCES": DEFAULT_CRISIS_RESOURCES,
        # gevent measured best for Socket.IO fan-out (docs/benchmarks.md); tests use threading.
        "ASYNC_MODE": env.get("COMPANION_ASYNC_MODE", "gevent"),
        # Per-message deflate on Socket.IO's WebSocket: off, see companion/realtime/transport.py.
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
    }
    config.update(overrides)
    config["DATABASE_URL"] = _normalise_database_url(config["DATABASE_URL"])
    return config
