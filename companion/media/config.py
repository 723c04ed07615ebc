"""Media-plane configuration, read from the environment (no Flask needed: workers read it too).

* ``COMPANION_ICE_SERVERS`` — JSON list of ``{"urls": ..., "username": ..., "credential": ...}``
  (STUN/TURN); empty by default, so no outside server learns who is in session. The same list
  is what the web process gives browsers.
* ``COMPANION_MEDIA_HOST_ADDRESSES`` — comma-separated addresses the workers offer as host
  candidates; default: every IPv4 address of the host plus 127.0.0.1.
* ``COMPANION_MEDIA_MDNS`` — ``ignore`` (default: browsers' ``.local`` candidates are dropped and
  the browser is found as a peer-reflexive candidate when its checks arrive) or ``resolve``
  (aioice asks the LAN by multicast DNS; only useful when the server shares the clients' LAN).
* ``COMPANION_MEDIA_OPUS_BITRATE`` (default 32000), ``COMPANION_MEDIA_OPUS_COMPLEXITY`` (0–10,
  default 4 like Janus AudioBridge) — the mixes the workers encode.
* ``COMPANION_MEDIA_CONNECT_TIMEOUT`` — seconds a new connection may take (default 30).
* ``COMPANION_MEDIA_SECRET`` — the channel secret (at least 32 characters): a web process
  proves it holds it before a worker answers anything (handshake.py). Not set: the web process
  and the workers on its machine share one generated into ``media_secret`` in the instance
  folder, and a worker refuses to listen beyond loopback (:func:`worker_secret`).
* ``COMPANION_MEDIA_HOST`` / ``COMPANION_MEDIA_PORT`` — where a worker listens (127.0.0.1:7990).
* ``COMPANION_TURN_URLS``, ``COMPANION_TURN_SECRET``, ``COMPANION_TURN_TTL`` — a TURN relay
  (coturn ``use-auth-secret``) for which the web process mints time-limited credentials per user
  and per session (:func:`turn_credentials`), given to browsers by ``rtc_config`` only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from companion.core.config import ConfigError, instance_path_from_env, load_or_create_secret_file

DEFAULT_CHANNEL_HOST = "127.0.0.1"
DEFAULT_CHANNEL_PORT = 7990
SECRET_FILE = "media_secret"
MIN_SECRET_LENGTH = 32


class MediaConfigError(ValueError):
    """The media configuration in the environment is not usable."""


def parse_ice_servers(raw: str | None) -> list[dict[str, Any]]:
    """Validate ``COMPANION_ICE_SERVERS``: a JSON list of RTCIceServer-like objects."""
    if not raw or not raw.strip():
        return []
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise MediaConfigError(f"COMPANION_ICE_SERVERS is not JSON: {exc}") from exc
    if not isinstance(value, list):
        raise MediaConfigError("COMPANION_ICE_SERVERS must be a JSON list")
    servers = []
    for item in value:
        if not isinstance(item, dict) or "urls" not in item:
            raise MediaConfigError("each ICE server needs 'urls'")
        urls = item["urls"]
        if isinstance(urls, str):
            urls = [urls]
        if not urls or not all(
            isinstance(u, str) and u.split(":", 1)[0] in ("stun", "stuns", "turn", "turns")
            for u in urls
        ):
            raise MediaConfigError("ICE server urls must be stun:, stuns:, turn: or turns: URLs")
        server: dict[str, Any] = {"urls": urls}
        for key in ("username", "credential"):
            if item.get(key) is not None:
                server[key] = str(item[key])
        servers.append(server)
    return servers


def default_host_addresses() -> list[str]:
    """Every IPv4 address of this host, then loopback (browsers never pair with loopback
    alone, aiortc clients on the same machine do)."""
    import ifaddr

    addresses: list[str] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and ip.ip != "127.0.0.1" and ip.ip not in addresses:
                addresses.append(ip.ip)
    addresses.append("127.0.0.1")
    return addresses


@dataclass
class MediaConfig:
    ice_servers: list[dict[str, Any]] = field(default_factory=list)
    host_addresses: list[str] | None = None  # None: default_host_addresses()
    mdns: str = "ignore"
    opus_bitrate: int = 32000
    opus_complexity: int = 4
    connect_timeout: float = 30.0
    secret: str | None = field(default=None, repr=False)  # a logged config never shows it
    channel_host: str = DEFAULT_CHANNEL_HOST
    channel_port: int = DEFAULT_CHANNEL_PORT

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MediaConfig:
        env = os.environ if env is None else env
        hosts = env.get("COMPANION_MEDIA_HOST_ADDRESSES", "").strip()
        mdns = env.get("COMPANION_MEDIA_MDNS", "ignore").strip().lower()
        if mdns not in ("ignore", "resolve"):
            raise MediaConfigError("COMPANION_MEDIA_MDNS must be 'ignore' or 'resolve'")
        try:
            return cls(
                ice_servers=parse_ice_servers(env.get("COMPANION_ICE_SERVERS")),
                host_addresses=[h.strip() for h in hosts.split(",") if h.strip()] or None,
                mdns=mdns,
                opus_bitrate=int(env.get("COMPANION_MEDIA_OPUS_BITRATE", "32000")),
                opus_complexity=int(env.get("COMPANION_MEDIA_OPUS_COMPLEXITY", "4")),
                connect_timeout=float(env.get("COMPANION_MEDIA_CONNECT_TIMEOUT", "30")),
                secret=_checked_secret(env.get("COMPANION_MEDIA_SECRET") or None),
                channel_host=env.get("COMPANION_MEDIA_HOST", DEFAULT_CHANNEL_HOST),
                channel_port=int(env.get("COMPANION_MEDIA_PORT", str(DEFAULT_CHANNEL_PORT))),
            )
        except ValueError as exc:
            if isinstance(exc, MediaConfigError):
                raise
            raise MediaConfigError(f"bad media setting: {exc}") from exc


def _checked_secret(secret: str | None) -> str | None:
    if secret is not None and len(secret) < MIN_SECRET_LENGTH:
        raise MediaConfigError(f"COMPANION_MEDIA_SECRET must be at least {MIN_SECRET_LENGTH} "
                               "characters")
    return secret


def is_loopback(host: str) -> bool:
    """Whether listening on ``host`` keeps the channel on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name (or "" / 0.0.0.0: every interface)


def instance_secret(instance_path: Path) -> str:
    """The channel secret generated into the instance folder (owner-only), made if missing."""
    try:
        return load_or_create_secret_file(instance_path / SECRET_FILE)
    except (OSError, ConfigError) as exc:
        raise MediaConfigError(f"cannot read or create {instance_path / SECRET_FILE}: "
                               f"{exc}") from exc


def web_secret(instance_path: Path, worker_hosts: list[str],
               env: Mapping[str, str] | None = None) -> str:
    """The secret a web process presents to its workers: ``COMPANION_MEDIA_SECRET``, else the
    instance folder's, which only workers on this same machine can read."""
    secret = MediaConfig.from_env(env).secret
    if secret:
        return secret
    remote = [h for h in worker_hosts if not is_loopback(h)]
    if remote:
        raise MediaConfigError(f"COMPANION_MEDIA_WORKERS lists {remote[0]}, which is not on "
                               "this machine: set COMPANION_MEDIA_SECRET (at least "
                               f"{MIN_SECRET_LENGTH} characters, the same on its workers)")
    return instance_secret(instance_path)


def worker_secret(config: MediaConfig, host: str) -> str:
    """The secret a worker listening on ``host`` requires: ``COMPANION_MEDIA_SECRET``, else,
    on loopback only, the instance folder's (shared with the web process of this machine). A
    worker that would listen beyond loopback without a configured secret does not start."""
    if config.secret:
        return config.secret
    if not is_loopback(host):
        raise MediaConfigError(f"it would listen on {host or 'every interface'} without a "
                               "channel secret; set COMPANION_MEDIA_SECRET (at least "
                               f"{MIN_SECRET_LENGTH} characters, the same on every web "
                               "process), or listen on 127.0.0.1")
    return instance_secret(instance_path_from_env())


DEFAULT_TURN_TTL = 4 * 3600  # covers a 3-hour IOP session that opens 15 minutes early
MAX_TURN_TTL = 24 * 3600


@dataclass(frozen=True)
class TurnConfig:
    """A TURN relay with coturn's REST-API credentials (``use-auth-secret``). ``repr`` hides
    the secret, so a logged or raised config never shows it."""

    urls: list[str]
    secret: str = field(repr=False)
    ttl: int = DEFAULT_TURN_TTL

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TurnConfig | None:
        """None when ``COMPANION_TURN_URLS`` is not set; an error when it is set without a
        secret (or the other way round), or with something that is not a turn(s): URL."""
        env = os.environ if env is None else env
        raw_urls = env.get("COMPANION_TURN_URLS", "").strip()
        secret = env.get("COMPANION_TURN_SECRET", "")
        if not raw_urls:
            if secret:
                raise MediaConfigError("COMPANION_TURN_SECRET is set but COMPANION_TURN_URLS "
                                       "is not")
            return None
        urls = [u.strip() for u in raw_urls.split(",") if u.strip()]
        if not all(u.split(":", 1)[0] in ("turn", "turns") for u in urls):
            raise MediaConfigError("COMPANION_TURN_URLS must be turn: or turns: URLs")
        if len(secret) < 16:
            raise MediaConfigError("COMPANION_TURN_SECRET must be set (at least 16 characters) "
                                   "when COMPANION_TURN_URLS is")
        try:
            ttl = int(env.get("COMPANION_TURN_TTL", str(DEFAULT_TURN_TTL)))
        except ValueError:
            raise MediaConfigError("COMPANION_TURN_TTL must be a number of seconds") from None
        if not 60 <= ttl <= MAX_TURN_TTL:
            raise MediaConfigError(f"COMPANION_TURN_TTL must be 60 to {MAX_TURN_TTL} seconds")
        return cls(urls, secret, ttl)

    def user_ref(self, session_id: int, user_id: int) -> str:
        """An opaque reference to (session, user) for the TURN username: the relay's logs do not
        name anyone, and whoever holds the secret can recompute it to trace an allocation."""
        mac = hmac.new(self.secret.encode(), f"companion-turn-ref:{session_id}:{user_id}".encode(),
                       hashlib.sha256)
        return mac.hexdigest()[:20]

    def credentials(self, session_id: int, user_id: int,
                    now: float | None = None) -> dict[str, Any]:
        """An ``RTCIceServer`` with credentials valid for ``ttl`` seconds (coturn REST API):
        username ``<expiry unix time>:<opaque ref>``, credential
        ``base64(HMAC-SHA1(secret, username))``."""
        expires = int(time.time() if now is None else now) + self.ttl
        username = f"{expires}:{self.user_ref(session_id, user_id)}"
        return {"urls": list(self.urls), "username": username,
                "credential": turn_password(self.secret, username)}


def turn_password(secret: str, username: str) -> str:
    """coturn's ``use-auth-secret`` password: base64(HMAC-SHA1(static-auth-secret, username))."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def ice_servers_for_clients(env: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The static ICE servers the web process hands to browsers (``COMPANION_ICE_SERVERS``)."""
    return parse_ice_servers((os.environ if env is None else env).get("COMPANION_ICE_SERVERS"))


def ice_servers_for_session(session_id: int, user_id: int, env: Mapping[str, str] | None = None,
                            now: float | None = None) -> list[dict[str, Any]]:
    """What ``rtc_config`` gives one admitted person in one session: the static servers, then a
    TURN server with credentials minted for them (when ``COMPANION_TURN_URLS`` is set)."""
    servers = ice_servers_for_clients(env)
    turn = TurnConfig.from_env(env)
    if turn is not None:
        servers.append(turn.credentials(session_id, user_id, now))
    return servers
