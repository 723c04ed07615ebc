"""Dial-in's configuration (docs/dial-in.md): the server's number from COMPANION_SIP_NUMBER, and
each program's switches for dial-in and outbound calls, set by its admin."""

from __future__ import annotations

import pytest

from companion.accounts.models import Role
from companion.clinic.models import Program
from companion.core.config import ConfigError, load_config
from companion.core.extensions import db
from companion.dialin.availability import dial_in_number, offers_dial_in

NUMBER = "+1 555 0100"


def test_the_number_comes_from_the_environment_and_none_means_no_dial_in(monkeypatch, tmp_path):
    base = {"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k", "AUDIT_KEY": "a" * 40}
    monkeypatch.delenv("COMPANION_SIP_NUMBER", raising=False)
    assert load_config(base)["SIP_NUMBER"] == ""
    monkeypatch.setenv("COMPANION_SIP_NUMBER", "  +1 (555)   010-0100 ")
    assert load_config(base)["SIP_NUMBER"] == "+1 (555) 010-0100"


@pytest.mark.parametrize("bad", ["call us", "+1 555 0100; drop", "5", "sip:clinic@example.test"])
def test_a_number_that_is_not_one_stops_the_server_with_a_sentence(monkeypatch, tmp_path, bad):
    monkeypatch.setenv("COMPANION_SIP_NUMBER", bad)
    with pytest.raises(ConfigError, match="COMPANION_SIP_NUMBER must be a telephone number"):
        load_config({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k", "AUDIT_KEY": "a" * 40})


def test_dial_in_needs_both_the_number_and_the_program(app, world):
    program = world.program
    assert program.dial_in_enabled is False and program.outbound_calls_allowed is False
    program.dial_in_enabled = True
    app.config["SIP_NUMBER"] = ""
    assert dial_in_number() is None and not offers_dial_in(program)
    app.config["SIP_NUMBER"] = NUMBER
    assert dial_in_number() == NUMBER and offers_dial_in(program)
    program.dial_in_enabled = False
    assert not offers_dial_in(program)


def test_the_admin_turns_dial_in_and_outbound_calls_on_and_off(app, world, make_auth):
    app.config["SIP_NUMBER"] = NUMBER
    admin = make_auth(world.user(Role.ADMIN))
    path = f"/api/v1/programs/{world.program.id}"
    shown = admin.get(path).get_json()
    assert (shown["dial_in_enabled"], shown["outbound_calls_allowed"]) == (False, False)
    changed = admin.patch(path, json={"dial_in_enabled": True, "outbound_calls_allowed": True})
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["dial_in_enabled"],
            changed.get_json()["outbound_calls_allowed"]) == (True, True)
    # One switch at a time leaves the other as it was.
    assert admin.patch(path, json={"outbound_calls_allowed": False}).get_json()[
        "dial_in_enabled"] is True
    stored = db.session.get(Program, world.program.id)
    db.session.refresh(stored)
    assert (stored.dial_in_enabled, stored.outbound_calls_allowed) == (True, False)


def test_a_server_without_a_number_refuses_dial_in_with_a_sentence(app, world, make_auth):
    app.config["SIP_NUMBER"] = ""
    admin = make_auth(world.user(Role.ADMIN))
    path = f"/api/v1/programs/{world.program.id}"
    answer = admin.patch(path, json={"dial_in_enabled": True, "name": "Renamed"})
    assert answer.status_code == 409
    problem = answer.get_json()
    assert problem["errors"][0]["field"] == "dial_in_enabled"
    assert "COMPANION_SIP_NUMBER" in problem["detail"] and problem["detail"].endswith(".")
    stored = db.session.get(Program, world.program.id)
    db.session.refresh(stored)
    assert (stored.dial_in_enabled, stored.name) == (False, "Test IOP")
    # Turning it off needs no number.
    assert admin.patch(path, json={"dial_in_enabled": False}).status_code == 200


def test_a_switch_that_is_not_true_or_false_is_a_422_naming_it(app, world, make_auth):
    app.config["SIP_NUMBER"] = NUMBER
    admin = make_auth(world.user(Role.ADMIN))
    answer = admin.patch(f"/api/v1/programs/{world.program.id}",
                         json={"dial_in_enabled": "maybe"})
    assert answer.status_code == 422
    assert [e["field"] for e in answer.get_json()["errors"]] == ["dial_in_enabled"]
    assert db.session.get(Program, world.program.id).dial_in_enabled is False


def test_only_the_admin_switches_dial_in(app, world, make_auth):
    app.config["SIP_NUMBER"] = NUMBER
    counselor = make_auth(world.user(Role.COUNSELOR))
    answer = counselor.patch(f"/api/v1/programs/{world.program.id}",
                             json={"dial_in_enabled": True})
    assert answer.status_code == 403
    assert db.session.get(Program, world.program.id).dial_in_enabled is False
