"""A client who joined by phone (docs/dial-in.md, "Attendance and billing"): the note's prefill
says phone and proposes "no video capability" for the counselor to confirm; the signed note
bills the day as audio-only (modifier 93)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from companion.accounts.models import Role
from companion.rooms.models import Modality
from tests.note_factories import ended_session, note_body, present, sections


def test_a_phone_stay_prefills_phone_and_its_reason_and_bills_as_audio_only(world, make_auth):
    chris = world.user(Role.COUNSELOR, name="Chris")
    alex, sam = world.user(Role.CLIENT, name="Alex"), world.user(Role.CLIENT, name="Sam")
    group = world.group(chris, [alex, sam])
    session = ended_session(world, group)
    present(session, alex, modality=Modality.PHONE)  # three hours on the phone
    present(session, sam, modality=Modality.AUDIO)  # in the app, without video
    auth = make_auth(chris)
    prefill = auth.get(f"/api/v1/sessions/{session.id}/notes/prefill").get_json()
    rows = {r["client"]["display_name"]: r for r in prefill["participants"]}
    assert (rows["Alex"]["modality"], rows["Alex"]["seen_modality"],
            rows["Alex"]["audio_only_reason"], rows["Alex"]["minutes"]) == (
        "phone", "phone", "no_video_capability", 180)
    # Only a call tells why there was no video; in the app the counselor says.
    assert (rows["Sam"]["modality"], rows["Sam"]["audio_only_reason"]) == ("audio_only", None)

    # The counselor confirms what was proposed and signs.
    def part(row):
        return {"client_id": row["client"]["id"], "attendance": row["attendance"],
                "minutes": row["minutes"], "modality": row["modality"], "location": "home",
                "identity_checked": "Knew their voice; date of birth",
                "audio_only_reason": row["audio_only_reason"] or "declined_video",
                "sections": sections()}

    body = note_body([part(rows["Alex"]), part(rows["Sam"])])
    assert auth.post(f"/api/v1/sessions/{session.id}/notes", json=body).status_code == 201
    assert auth.post(f"/api/v1/notes/{body['id']}/sign").status_code == 200
    admin = make_auth(world.user(Role.ADMIN))
    day = session.starts_at.astimezone(ZoneInfo(world.program.timezone)).date()
    billed = admin.get(f"/api/v1/billing/days?program_id={world.program.id}&from={day}"
                       f"&to={day + timedelta(days=1)}").get_json()["billable"]
    assert [(d["client"]["display_name"], d["modality"], d["place_of_service"], d["modifier"])
            for d in billed] == [("Alex", "phone", "10", "93"), ("Sam", "audio_only", "10", "93")]
