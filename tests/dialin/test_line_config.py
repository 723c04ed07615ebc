"""The line's settings (COMPANION_SIP_*, docs/dial-in.md) and how `companion serve` starts it."""

from __future__ import annotations

import click
import pytest

from companion.cli import _check_the_line
from companion.dialin.line_process import LineConfig, LineConfigError

LINE = {"COMPANION_SIP_REGISTRAR": "sip:sip.provider.example",
        "COMPANION_SIP_USER": "sip:15550100@sip.provider.example",
        "COMPANION_SIP_PASSWORD": "s3cret"}


def test_no_registrar_means_no_line():
    assert LineConfig.from_env({}) is None
    assert LineConfig.from_env({"COMPANION_SIP_USER": LINE["COMPANION_SIP_USER"]}) is None


def test_a_configured_line_starts_its_own_janus_on_loopback_unless_one_is_named():
    config = LineConfig.from_env(LINE)
    assert config is not None and config.own_janus
    assert config.line.janus_url == "http://127.0.0.1:8088/janus"
    assert (config.line.registrar, config.line.user, config.line.secret) == (
        "sip:sip.provider.example", "sip:15550100@sip.provider.example", "s3cret")
    assert config.janus.sip_rtp_ports == "41000-42000"
    named = LineConfig.from_env({**LINE, "COMPANION_SIP_JANUS_URL": "http://127.0.0.1:9000/janus"})
    assert named is not None and not named.own_janus
    assert named.line.janus_url == "http://127.0.0.1:9000/janus"


@pytest.mark.parametrize("wrong", [{"COMPANION_SIP_USER": "15550100"},
                                   {"COMPANION_SIP_REGISTRAR": "sip.provider.example"}])
def test_a_line_that_is_not_sip_addresses_is_refused_with_a_sentence(wrong):
    with pytest.raises(LineConfigError, match="SIP addresses such as"):
        LineConfig.from_env({**LINE, **wrong})


def test_serve_refuses_a_line_without_redis_in_a_sentence(monkeypatch):
    for name, value in LINE.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(click.ClickException, match="Dial-in needs Redis: set REDIS_URL"):
        _check_the_line()
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    _check_the_line()  # the line's events reach the web process's rooms
    monkeypatch.delenv("COMPANION_SIP_REGISTRAR")
    monkeypatch.delenv("REDIS_URL")
    _check_the_line()  # no line: the embedded default needs nothing


def test_serve_refuses_a_wrong_line_before_it_starts(monkeypatch):
    monkeypatch.setenv("COMPANION_SIP_REGISTRAR", "provider")
    with pytest.raises(click.ClickException, match="SIP addresses"):
        _check_the_line()
