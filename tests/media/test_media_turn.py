"""TURN credentials minted per user and per session (coturn ``use-auth-secret``): format, HMAC,
expiry, configuration errors, and who gets them through ``rtc_config``."""

from __future__ import annotations

import json
import logging

import pytest

from companion.media.config import (
    DEFAULT_TURN_TTL,
    MediaConfigError,
    TurnConfig,
    ice_servers_for_session,
    turn_password,
)
from tests.media.test_media_signaling import pool  # noqa: F401  (fixture)
from tests.rooms.test_rooms import _join_admitted, room  # noqa: F401  (fixture)

SECRET = "north-wind-secret-0123456789"
URLS = "turn:turn.example.org:3478?transport=udp,turns:turn.example.org:443?transport=tcp"
ENV = {"COMPANION_TURN_URLS": URLS, "COMPANION_TURN_SECRET": SECRET,
       "COMPANION_TURN_TTL": "3600"}


def test_password_matches_a_hand_computed_hmac() -> None:
    # printf '%s' '1700003600:abc' | openssl dgst -sha1 -hmac "$SECRET" -binary | base64
    assert turn_password(SECRET, "1700003600:abc") == "5PBl0g3uN9cbHDeuY7dWK0BbrBA="


def test_credentials_format_expiry_and_opaque_reference() -> None:
    turn = TurnConfig.from_env(ENV)
    assert turn is not None and turn.ttl == 3600
    server = turn.credentials(12, 7, now=1_700_000_000.9)
    assert server["urls"] == ["turn:turn.example.org:3478?transport=udp",
                              "turns:turn.example.org:443?transport=tcp"]
    expiry, ref = server["username"].split(":")
    assert int(expiry) == 1_700_003_600  # now + TTL, in whole seconds
    assert len(ref) == 20 and int(ref, 16) >= 0 and ref not in ("7", "12")
    assert server["credential"] == turn_password(SECRET, server["username"])
    # per user and per session; stable for the same pair; a later mint expires later
    assert turn.credentials(12, 8, now=1_700_000_000)["username"] != server["username"]
    assert turn.credentials(13, 7, now=1_700_000_000)["username"].split(":")[1] != ref
    assert turn.credentials(12, 7, now=1_700_000_000)["username"] == server["username"]
    later = turn.credentials(12, 7, now=1_700_000_600)
    assert int(later["username"].split(":")[0]) == 1_700_004_200
    assert later["credential"] != server["credential"]
    assert TurnConfig.from_env({k: v for k, v in ENV.items() if k != "COMPANION_TURN_TTL"}
                               ).ttl == DEFAULT_TURN_TTL  # type: ignore[union-attr]


def test_configuration_errors_never_show_the_secret() -> None:
    assert TurnConfig.from_env({}) is None
    assert ice_servers_for_session(1, 2, env={}) == []
    bad = [
        {"COMPANION_TURN_SECRET": SECRET},  # secret without URLs
        {"COMPANION_TURN_URLS": URLS},  # URLs without secret
        {"COMPANION_TURN_URLS": URLS, "COMPANION_TURN_SECRET": "short"},
        {"COMPANION_TURN_URLS": "stun:turn.example.org", "COMPANION_TURN_SECRET": SECRET},
        {**ENV, "COMPANION_TURN_TTL": "10"},
        {**ENV, "COMPANION_TURN_TTL": "soon"},
    ]
    for env in bad:
        with pytest.raises(MediaConfigError) as exc:
            TurnConfig.from_env(env)
        assert SECRET not in str(exc.value)
    assert SECRET not in repr(TurnConfig.from_env(ENV))


def test_static_servers_come_first_then_the_minted_turn() -> None:
    env = {**ENV, "COMPANION_ICE_SERVERS": '[{"urls": "stun:stun.example.org:3478"}]'}
    servers = ice_servers_for_session(3, 4, env=env, now=1_700_000_000)
    assert servers[0] == {"urls": ["stun:stun.example.org:3478"]}
    assert servers[1]["username"].startswith("1700003600:")


def test_rtc_config_gives_credentials_only_to_admitted_people_and_logs_none(
        room, pool, monkeypatch, caplog):  # noqa: F811
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    sid = room["session"].id
    caplog.set_level(logging.DEBUG)
    counselor = _join_admitted(room, room["counselor"])
    alex = room["person"](room["clients"][0])
    assert alex.emit("join_session", session_id=sid)["state"] == "waiting"
    refused = alex.emit("rtc_config", session_id=sid)
    assert refused["ok"] is False and refused["error"] == "not_admitted"
    assert "ice_servers" not in refused
    outsider = room["person"](room["outsider"])
    assert "ice_servers" not in outsider.emit("rtc_config", session_id=sid)

    assert counselor.emit("admit", session_id=sid, user_id=room["clients"][0].id)["ok"]
    config = alex.emit("rtc_config", session_id=sid)
    assert config["ok"] is True
    (turn,) = config["ice_servers"]
    assert turn["urls"][1] == "turns:turn.example.org:443?transport=tcp"
    assert turn["credential"] == turn_password(SECRET, turn["username"])
    staff = counselor.emit("rtc_config", session_id=sid)["ice_servers"][0]
    assert staff["username"] != turn["username"]  # per person

    everything = json.dumps([refused, config, staff]) + "".join(
        json.dumps(m) for p in (alex, counselor, outsider) for m in p.sio.get_received())
    assert SECRET not in everything
    logged = caplog.text
    for secret in (SECRET, turn["credential"], staff["credential"]):
        assert secret not in logged
