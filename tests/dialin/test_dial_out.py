"""Calling a client out of the room (docs/dial-in.md, "Calling a client"): the client's number
on their record (written as people write it, sealed, audited), a counselor's call from a live
session's room and every refusal in a sentence, the line taking each call once, its steps on the
staff's sockets, and a cancel that holds. The line's own part, with a real phone, is
called_scenario.py (test_sip_line.py runs it)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from companion.core import clock
from companion.core.extensions import db
from companion.core.models import AuditEvent
from companion.dialin import dial_out, phones
from companion.dialin.dialer import dial_uri, unanswered
from companion.dialin.models import CallState, ClientPhone, PhoneCall
from companion.dialin.phone_leg import PhoneLeg, with_telephone_events
from companion.rooms import phone
from tests.dialin_factories import calling_on, phone_of
from tests.rooms.test_phone_callers import counselor  # noqa: F401  (fixture)
from tests.rooms.test_rooms import room  # noqa: F401  (fixture)


@pytest.fixture
def calling(room, world):  # noqa: F811
    calling_on(world.program)
    phone_of(room["clients"][0])
    return room


def _calls_path(room) -> str:  # noqa: F811
    return f"/api/v1/sessions/{room['session'].id}/phone-calls"


def _phone_calls(person) -> list[dict]:
    return [m["args"][0] for m in person.sio.get_received() if m["name"] == "phone_call"]


# --- the number on the client's record ------------------------------------------------------


@pytest.mark.parametrize("written, stored", [
    ("(555) 555-0123", "+15555550123"),
    ("555.555.0123", "+15555550123"),
    ("1 555 555 0123", "+15555550123"),
    ("+1 555-555-0123", "+15555550123"),
    ("+44 20 7946 0958", "+442079460958"),
])
def test_a_number_is_taken_as_people_write_it(written, stored):
    assert phones.normalized(written) == stored


@pytest.mark.parametrize("written", ["555-0123", "call me", "+1 555 555 01234", "0555 555 0123",
                                     "+0 123 456 789", "555-555-0123 ext 4"])
def test_what_is_no_number_is_refused_with_a_sentence(written):
    with pytest.raises(phones.DialInError) as refused:
        phones.normalized(written)
    assert refused.value.status == 422
    assert "area code, such as (555) 555-0123" in refused.value.message


def test_a_counselor_writes_a_number_sealed_and_audited_and_bad_input_changes_nothing(
        room, make_auth):  # noqa: F811
    alex = room["clients"][0]
    path = f"/api/v1/users/{alex.id}/phone-number"
    chris = make_auth(room["counselor"])
    assert chris.get(path).get_json() == {"client_id": alex.id, "number": None, "shown": None}
    saved = chris.put(path, {"number": "(555) 555-0123"})
    assert saved.status_code == 200
    assert saved.get_json() == {"client_id": alex.id, "number": "+15555550123",
                                "shown": "+1 (555) 555-0123"}
    sealed = db.session.scalar(select(ClientPhone.number_sealed).where(
        ClientPhone.user_id == alex.id))
    assert sealed and "5555550123" not in sealed and "0123" not in sealed

    refused = chris.put(path, {"number": "555-0123"})
    assert refused.status_code == 422
    assert "is not a phone number we can call" in refused.get_json()["detail"]
    assert chris.get(path).get_json()["number"] == "+15555550123"  # unchanged

    assert chris.put(path, {"number": ""}).get_json()["number"] is None  # erased
    assert db.session.scalar(select(ClientPhone).where(ClientPhone.user_id == alex.id)) is None
    audited = [(e.action, e.subject_id) for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.record_type == "client_phone")
        .order_by(AuditEvent.id))]
    assert audited == [("read", alex.id), ("update", alex.id), ("read", alex.id),
                       ("delete", alex.id)]


# --- a call from the room -------------------------------------------------------------------


def test_a_counselor_calls_a_client_and_the_room_staff_hear_each_step(
        calling, counselor, make_auth):  # noqa: F811
    alex = calling["clients"][0]
    pat = calling["person"](calling["peer"])  # a peer supporter in the room hears nothing of it
    assert pat.emit("join_session", session_id=calling["session"].id)["state"] == "joined"
    chris = make_auth(calling["counselor"])
    listed = chris.get(_calls_path(calling)).get_json()
    # Only Alex has a number on file: Sam and Jo cannot be called.
    assert listed == {"callable": [{"user_id": alex.id, "display_name": "Alex"}], "calls": []}

    made = chris.post(_calls_path(calling), {"user_id": alex.id})
    assert made.status_code == 201
    call = made.get_json()
    assert call["state"] == "requested" and call["text"] == "Calling Alex's phone…"
    assert [e["state"] for e in _phone_calls(counselor)] == ["requested"]
    # Pressed twice: one call.
    again = chris.post(_calls_path(calling), {"user_id": alex.id})
    assert again.status_code == 409
    assert again.get_json()["detail"] == "A call to Alex's phone is under way already."
    assert db.session.query(PhoneCall).count() == 1

    # The line takes it, once.
    claimed = dial_out.claim_next()
    assert claimed is not None and claimed.number == "+15555550123"
    assert (claimed.session_id, claimed.user_id) == (calling["session"].id, alex.id)
    assert dial_out.claim_next() is None
    dial_out.set_state(claimed.call_id, CallState.RINGING)
    steps = _phone_calls(counselor)
    assert [e["state"] for e in steps] == ["dialing", "ringing"]
    assert steps[-1]["text"] == "Alex's phone is ringing." and steps[-1]["under_way"]
    assert "5555" not in str(steps)  # the number never reaches the room

    cancelled = chris.post(f"{_calls_path(calling)}/{call['id']}/cancel")
    assert cancelled.get_json()["state"] == "cancelled"
    dial_out.set_state(claimed.call_id, CallState.ANSWERED)  # the line was a step behind
    assert dial_out.state_of(claimed.call_id) == CallState.CANCELLED
    assert _phone_calls(counselor)[-1]["text"] == "The call to Alex's phone was cancelled."
    assert _phone_calls(pat) == []


def test_a_call_is_refused_in_a_sentence_and_nothing_is_placed(calling, world, make_auth):
    alex, sam = calling["clients"][0], calling["clients"][1]
    chris = make_auth(calling["counselor"])

    def refused(body, status):
        answer = chris.post(_calls_path(calling), body)
        assert answer.status_code == status, answer.get_json()
        return answer.get_json()["detail"]

    assert refused({"user_id": sam.id}, 409) == ("Sam has no phone number on file: add it on "
                                                 "Sam's record page.")
    assert refused({"user_id": calling["outsider"].id}, 422) == (
        "Only a client of this session can be called from its room.")
    phone.knock_by_phone(calling["session"].id, alex.id)
    db.session.commit()
    world.program.outbound_calls_allowed = False
    db.session.commit()
    assert "does not let counselors call clients' phones" in refused({"user_id": alex.id}, 404)
    assert db.session.query(PhoneCall).count() == 0


def test_a_peer_supporter_cannot_call_or_see_phones(calling, make_auth):
    pat = make_auth(calling["peer"])
    assert pat.get(_calls_path(calling)).status_code == 404
    assert pat.post(_calls_path(calling), {"user_id": calling["clients"][0].id}).status_code == 404
    assert db.session.query(PhoneCall).count() == 0


def test_a_client_in_the_room_or_removed_is_not_called(calling, counselor,  # noqa: F811
                                                       make_auth):
    sid, alex = calling["session"].id, calling["clients"][0]
    phone.knock_by_phone(sid, alex.id)
    counselor.emit("admit", session_id=sid, user_id=alex.id)
    phone.enter_by_phone(sid, alex.id)
    chris = make_auth(calling["counselor"])
    assert chris.get(_calls_path(calling)).get_json()["callable"] == []
    answer = chris.post(_calls_path(calling), {"user_id": alex.id})
    assert (answer.status_code, answer.get_json()["detail"]) == (409, "Alex is in the room "
                                                                       "already.")
    counselor.emit("remove", session_id=sid, user_id=alex.id)
    answer = chris.post(_calls_path(calling), {"user_id": alex.id})
    assert answer.get_json()["detail"] == "Alex was removed from this session."


def test_a_room_not_open_yet_calls_nobody(room, world, make_auth):  # noqa: F811
    calling_on(world.program)
    later = world.session(room["group"], starts_in=timedelta(hours=3))
    phone_of(room["clients"][0])
    answer = make_auth(room["counselor"]).post(f"/api/v1/sessions/{later.id}/phone-calls",
                                               {"user_id": room["clients"][0].id})
    assert answer.status_code == 409
    assert answer.get_json()["detail"] == ("The room is not open, so Alex cannot be called "
                                           "into it.")


def test_a_call_the_line_never_takes_is_given_up_in_a_sentence(calling, counselor,  # noqa: F811
                                                               make_auth):
    chris = make_auth(calling["counselor"])
    alex = calling["clients"][0]
    assert chris.post(_calls_path(calling), {"user_id": alex.id}).status_code == 201
    clock.advance(dial_out.LINE_TAKES_WITHIN + timedelta(seconds=1))
    try:
        calls = chris.get(_calls_path(calling)).get_json()["calls"]
        assert [c["state"] for c in calls] == ["line_down"]
        assert calls[0]["text"].startswith("The phone line did not take the call")
        assert dial_out.claim_next() is None  # too late to ring now
        # And the counselor may ask again.
        assert chris.post(_calls_path(calling), {"user_id": alex.id}).status_code == 201
    finally:
        clock.reset()


def test_the_counselor_who_called_admits_the_client_once_the_pin_is_keyed(
        calling, counselor):  # noqa: F811
    sid, alex = calling["session"].id, calling["clients"][0].id
    phone.knock_by_phone(sid, alex)
    assert phone.admit_called(sid, alex, calling["counselor"].id)
    assert phone.admission_of(sid, alex) == "admitted"


def test_a_called_client_waits_at_the_door_when_their_counselor_left(calling):
    sid, alex = calling["session"].id, calling["clients"][0].id
    phone.knock_by_phone(sid, alex)  # the counselor is not in the room
    assert not phone.admit_called(sid, alex, calling["counselor"].id)
    assert phone.admission_of(sid, alex) == "waiting"


# --- the line's pieces ----------------------------------------------------------------------


def test_a_number_is_dialled_at_the_trunk():
    assert dial_uri("+15555550123", "sip:sip.provider.example") == \
        "sip:+15555550123@sip.provider.example"
    assert dial_uri("+15555550123", "sip:clinic@127.0.0.1:5060;transport=udp") == \
        "sip:+15555550123@127.0.0.1:5060"


@pytest.mark.parametrize("code, state", [(486, CallState.BUSY), (603, CallState.BUSY),
                                         (480, CallState.NO_ANSWER), (408, CallState.NO_ANSWER),
                                         (404, CallState.FAILED), (None, CallState.FAILED)])
def test_an_unanswered_call_says_why(code, state):
    assert unanswered(code) == state


def test_the_lines_offer_is_g711_with_telephone_events():
    async def offered() -> str:
        leg = PhoneLeg(on_key=lambda key: None)
        try:
            return await leg.offer()
        finally:
            await leg.close()

    offer = asyncio.run(offered())
    media = next(line for line in offer.split("\r\n") if line.startswith("m=audio"))
    assert media.split()[3:] == ["0", "8", "101"]  # PCMU, PCMA, telephone events; no Opus
    assert "a=rtpmap:101 telephone-event/8000" in offer and "opus" not in offer.lower()
    assert with_telephone_events("m=audio 9 X 0\r\na=rtpmap:0 PCMU/8000") == (
        "m=audio 9 X 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
        "a=fmtp:101 0-15")
