"""The line's settings (COMPANION_SIP_*, docs/dial-in.md) and how `companion serve` starts it."""

from __future__ import annotations

import click
import pytest

from companion.cli import _workers_for_the_line
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


def test_serve_keeps_one_embedded_worker_for_the_line_without_redis(monkeypatch, capsys):
    for name, value in LINE.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("COMPANION_MEDIA_WORKERS", raising=False)
    assert _workers_for_the_line(4) == 1
    assert "one media worker" in capsys.readouterr().out
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    assert _workers_for_the_line(4) == 4  # Redis lets both processes agree where rooms are
    monkeypatch.delenv("COMPANION_SIP_REGISTRAR")
    monkeypatch.delenv("REDIS_URL")
    assert _workers_for_the_line(4) == 4  # no line: nothing changes


def test_serve_refuses_a_wrong_line_before_it_starts(monkeypatch):
    monkeypatch.setenv("COMPANION_SIP_REGISTRAR", "provider")
    with pytest.raises(click.ClickException, match="SIP addresses"):
        _workers_for_the_line(2)
