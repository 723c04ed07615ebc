"""Every API route × every role × own / someone else's record (docs/security.md, least privilege).

Each documented operation must have a row here: a new route without one fails the suite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from companion.accounts.models import Role
from tests.care_factories import matrix_care
from tests.dialin_factories import matrix_dial_in, matrix_dial_out
from tests.meeting_factories import (
    ATTENDANCE_BODY,
    FEED_IN_BODY,
    RECOMMENDATION_BODY,
    matrix_meetings,
)
from tests.note_factories import matrix_notes, sections
from tests.notification_factories import SUBSCRIPTION_KEYS, matrix_notifications
from tests.selfcare_factories import matrix_records

ROLES = ["client", "counselor", "peer_supporter", "admin"]
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/api/v1/crisis-resources"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/invitations/preview"),
    ("POST", "/api/v1/invitations/accept"),
    # a calendar app's private feed: the token in the path is the credential
    ("GET", "/api/v1/meeting-calendar/{token}.ics"),
}


@dataclass
class Case:
    method: str
    path: str
    # status per role when acting on their own (or allowed) record
    own: dict[str, int]
    # status per role when the record is someone else's (None: the route has no "other")
    other: dict[str, int] | None = None
    body: Any = None
    template: str = field(default="")
    # (made, others) -> (own, other) values for the path's {placeholders}: records to act on
    setup: Any = None

    def __post_init__(self) -> None:
        self.template = self.template or self.path


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def only(status_ok: int, allowed: set[str], refused: int = 403) -> dict[str, int]:
    return {r: status_ok if r in allowed else refused for r in ROLES}


# Self-care (issue 3): a client writes their own; their counselor reads with ?client_id=.
_AN_HOUR_AGO = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
_CLIENT_READS = {"client": 200, "counselor": 200, "peer_supporter": 403, "admin": 403}
_RECORD_READS = {"client": 200, "counselor": 200, "peer_supporter": 404, "admin": 404}
SELFCARE_CASES = [
    Case("POST", "/api/v1/checkins", only(201, {"client"}),
         body={"id": "{uuid}", "occurred_at": _AN_HOUR_AGO, "mood": 6, "craving": 2,
               "used": "no"}),
    Case("POST", "/api/v1/cravings", only(201, {"client"}),
         body={"id": "{uuid}", "occurred_at": _AN_HOUR_AGO, "intensity": 3,
               "triggers": ["boredom"]}),
    Case("POST", "/api/v1/coping/completions", only(201, {"client"}),
         body={"id": "{uuid}", "occurred_at": _AN_HOUR_AGO, "exercise": "box_breathing",
               "craving_before": 5, "craving_after": 3}),
    *[
        Case("GET", f"{path}?client_id={{client}}", _CLIENT_READS, everyone(403), template=path)
        for path in ("/api/v1/checkins", "/api/v1/cravings", "/api/v1/coping/completions",
                     "/api/v1/selfcare/today", "/api/v1/safety-plan", "/api/v1/trends")
    ],
    Case("PUT", "/api/v1/safety-plan?client_id={client}", _CLIENT_READS, everyone(403),
         body={"warning_signs": ["Skipping meals"]}, template="/api/v1/safety-plan"),
    Case("GET", "/api/v1/checkins/{checkin}", _RECORD_READS, everyone(404),
         template="/api/v1/checkins/{entry_id}", setup=matrix_records),
    Case("GET", "/api/v1/cravings/{craving}", _RECORD_READS, everyone(404),
         template="/api/v1/cravings/{entry_id}", setup=matrix_records),
    Case("GET", "/api/v1/triggers", everyone(200)),
    Case("GET", "/api/v1/coping/exercises", everyone(200)),
    Case("GET", "/api/v1/alerts", only(200, {"counselor"})),
    Case("POST", "/api/v1/alerts/{alert}/ack", only(200, {"counselor"}),
         {**everyone(403), "counselor": 404}, body={"note": "Called, safe"},
         template="/api/v1/alerts/{alert_id}/ack", setup=matrix_records),
]

def _sessions_and_program(made, others):
    """A session of each counselor's group, and the program (for the weekly reports)."""
    from companion.clinic.models import Group, Session, SessionKind
    from companion.core.extensions import db

    def session_of(counselor):
        group = db.session.query(Group).filter_by(counselor_id=counselor.id).one()
        now = datetime.now(UTC)
        session = Session(program_id=group.program_id, kind=SessionKind.GROUP,
                          group_id=group.id, counselor_id=counselor.id, title=group.name,
                          starts_at=now, ends_at=now + timedelta(hours=1))
        db.session.add(session)
        db.session.commit()
        return session

    mine, theirs = session_of(made["counselor"]), session_of(others["counselor"])
    return ({"session": mine.id, "program": mine.program_id},
            {"session": theirs.id, "program": theirs.program_id})


# Attendance (issue 4): the session's counselors and the clinic's admin; never peers or clients.
_SESSION_ATTENDANCE = {"client": 404, "counselor": 200, "peer_supporter": 404, "admin": 200}
ATTENDANCE_CASES = [
    Case("GET", "/api/v1/sessions/{session}/attendance", _SESSION_ATTENDANCE,
         {**_SESSION_ATTENDANCE, "counselor": 404},
         template="/api/v1/sessions/{session_id}/attendance", setup=_sessions_and_program),
    Case("POST", "/api/v1/sessions/{session}/attest", only(200, {"counselor"}, 404),
         everyone(404), template="/api/v1/sessions/{session_id}/attest",
         setup=_sessions_and_program),
    *[
        Case("GET", f"{path}?program_id={{program}}&week=2026-11-16",
             only(200, {"counselor", "admin"}), template=path, setup=_sessions_and_program)
        for path in ("/api/v1/attendance/weekly", "/api/v1/attendance/weekly.csv")
    ],
]

# Meetings (issue 5): the directory is the clinic's; a client's meetings are their records.
_MEET_READS = {"client": 200, "counselor": 200, "peer_supporter": 404, "admin": 404}
_MEET_CLIENT_WRITES = {"client": 201, "counselor": 403, "peer_supporter": 404, "admin": 404}
_C = "/api/v1/clients/{client_id}"
MEETING_CASES = [
    Case("GET", "/api/v1/meetings", everyone(200)),
    Case("POST", "/api/v1/meetings", only(201, {"admin"}),
         body={"name": "Alumni Group", "day": 2, "time": "18:00"}),
    Case("GET", "/api/v1/meetings/types", everyone(200)),
    Case("GET", "/api/v1/meetings/{meeting}", everyone(200), everyone(404),
         template="/api/v1/meetings/{meeting_id}", setup=matrix_meetings),
    Case("GET", "/api/v1/meetings/{meeting}.ics", everyone(200), everyone(404),
         template="/api/v1/meetings/{meeting_id}.ics", setup=matrix_meetings),
    Case("GET", "/api/v1/meeting-sources", only(200, {"admin"})),
    Case("POST", "/api/v1/meeting-sources", only(201, {"admin"}),
         body={"name": "Uploaded feed", "feed": FEED_IN_BODY}),
    Case("POST", "/api/v1/meeting-sources/{source}/refresh", only(200, {"admin"}),
         {**everyone(403), "admin": 404}, body={"feed": FEED_IN_BODY},
         template="/api/v1/meeting-sources/{source_id}/refresh", setup=matrix_meetings),
    *[
        Case("GET", f"/api/v1/clients/{{client}}/{name}", _MEET_READS, everyone(404),
             template=f"{_C}/{name}", setup=matrix_meetings)
        for name in ("meeting-favourites", "meeting-attendance", "meeting-recommendations")
    ],
    Case("PUT", "/api/v1/clients/{client}/meeting-favourites/{meeting}",
         {**_MEET_CLIENT_WRITES, "client": 200}, everyone(404),
         template=f"{_C}/meeting-favourites/{{meeting_id}}", setup=matrix_meetings),
    Case("DELETE", "/api/v1/clients/{client}/meeting-favourites/{meeting}",
         {**_MEET_CLIENT_WRITES, "client": 204}, everyone(404),
         template=f"{_C}/meeting-favourites/{{meeting_id}}", setup=matrix_meetings),
    Case("POST", "/api/v1/clients/{client}/meeting-attendance", _MEET_CLIENT_WRITES,
         everyone(404), body=ATTENDANCE_BODY, template=f"{_C}/meeting-attendance",
         setup=matrix_meetings),
    Case("POST", "/api/v1/clients/{client}/meeting-recommendations",
         {**_MEET_CLIENT_WRITES, "client": 403, "counselor": 201}, everyone(404),
         body=RECOMMENDATION_BODY, template=f"{_C}/meeting-recommendations",
         setup=matrix_meetings),
    Case("POST", "/api/v1/clients/{client}/meeting-calendar", _MEET_CLIENT_WRITES,
         everyone(404), template=f"{_C}/meeting-calendar", setup=matrix_meetings),
    Case("DELETE", "/api/v1/clients/{client}/meeting-calendar",
         {**_MEET_CLIENT_WRITES, "client": 204}, everyone(404),
         template=f"{_C}/meeting-calendar", setup=matrix_meetings),
]

# Measures (issue 7): clients submit their own; treating counselors read and schedule.
MEASURE_CASES = [
    Case("POST", "/api/v1/measures", only(201, {"client"}),
         body={"id": "{uuid}", "kind": "gad7", "answers": [1, 0, 2, 0, 1, 0, 0],
               "completed_at": _AN_HOUR_AGO}),
    Case("GET", "/api/v1/measures?client_id={client}", _CLIENT_READS, everyone(403),
         template="/api/v1/measures"),
    Case("GET", "/api/v1/measure-schedules?client_id={client}", _CLIENT_READS, everyone(403),
         template="/api/v1/measure-schedules"),
    Case("PUT", "/api/v1/measure-schedules", only(200, {"counselor"}, 404), everyone(404),
         body={"client_id": "{client}", "kind": "phq9", "every_weeks": 4,
               "first_due": _AN_HOUR_AGO}),
    Case("GET", "/api/v1/measures/forms", everyone(200)),
]

# The care team's views (issue 7): dashboard for counselors, reports and on-call for admins.
CARE_TEAM_CASES = [
    Case("GET", "/api/v1/dashboard", only(200, {"counselor"})),
    Case("GET", "/api/v1/reports/program?program_id={program}&week=2026-11-16",
         only(200, {"admin"}), template="/api/v1/reports/program", setup=_sessions_and_program),
    Case("PUT", "/api/v1/programs/{program}/on-call", only(200, {"admin"}),
         body={"user_ids": []}, template="/api/v1/programs/{program_id}/on-call",
         setup=_sessions_and_program),
]

# Rewards, test results, family and consents, psychoeducation, my record (issue 7).
_IN_A_MONTH = (datetime.now(UTC) + timedelta(days=30)).isoformat()
_OWN_WRITE_BY_ID = {"client": 200, "counselor": 404, "peer_supporter": 404, "admin": 404}
CARE_CASES = [
    Case("GET", "/api/v1/programs/{program}/rewards", everyone(200),
         template="/api/v1/programs/{program_id}/rewards", setup=matrix_care),
    Case("PUT", "/api/v1/programs/{program}/rewards", only(200, {"admin"}),
         body={"enabled": True, "scheme": "points", "behaviours": ["checkin"]},
         template="/api/v1/programs/{program_id}/rewards", setup=matrix_care),
    *[
        Case("GET", f"{path}?client_id={{client}}", _CLIENT_READS, everyone(403), template=path)
        for path in ("/api/v1/rewards", "/api/v1/rewards/ledger", "/api/v1/test-results",
                     "/api/v1/family", "/api/v1/consents", "/api/v1/psychoed/assignments")
    ],
    Case("POST", "/api/v1/test-results", only(201, {"counselor"}, 404), everyone(404),
         body={"id": "{uuid}", "client_id": "{client}", "collected_at": _AN_HOUR_AGO,
               "result": "negative"}),
    Case("POST", "/api/v1/family", only(201, {"client"}),
         body={"email": "{unique}@example.test", "display_name": "Sam", "relationship": "sister"}),
    Case("POST", "/api/v1/consents", only(201, {"client"}),
         body={"recipient_name": "Dr. Outside, Valley Clinic", "categories": ["enrollment"],
               "purpose": "Coordinate my care", "expires_at": _IN_A_MONTH,
               "signature": "Casey Client"}),
    Case("POST", "/api/v1/consents/{consent}/revoke", _OWN_WRITE_BY_ID, everyone(404),
         template="/api/v1/consents/{consent_id}/revoke", setup=matrix_care),
    Case("POST", "/api/v1/family/{family_link}/end", _OWN_WRITE_BY_ID, everyone(404),
         template="/api/v1/family/{link_id}/end", setup=matrix_care),
    # Family routes: no role of the treating team is a family member (tests/careteam/test_care.py).
    Case("GET", "/api/v1/family/clients", everyone(403)),
    Case("GET", "/api/v1/family/clients/{client}/enrollment", everyone(404), everyone(404),
         template="/api/v1/family/clients/{client_id}/{category}"),
    Case("GET", "/api/v1/psychoed/modules", everyone(200)),
    Case("GET", "/api/v1/psychoed/modules/what_is_sud", everyone(200),
         template="/api/v1/psychoed/modules/{code}"),
    Case("POST", "/api/v1/psychoed/assignments", only(201, {"counselor"}, 404), everyone(404),
         body={"client_id": "{client}", "module": "relapse_process"}),
    Case("POST", "/api/v1/psychoed/assignments/{assignment}/done", _OWN_WRITE_BY_ID,
         everyone(404), template="/api/v1/psychoed/assignments/{assignment_id}/done",
         setup=matrix_care),
    Case("GET", "/api/v1/me/export", only(200, {"client"})),
    Case("GET", "/api/v1/me/access-log", only(200, {"client"})),
]

def _clinic_setup(made, others):
    """What the clinic's own setup acts on: each counselor's group and a session of it still to
    come, the first client's enrollment, a phase, a client enrolled nowhere yet."""
    from companion.accounts.models import User
    from companion.clinic.models import Enrollment, Group, Phase, Session, SessionKind
    from companion.core.extensions import db

    def of(side):
        group = db.session.query(Group).filter_by(counselor_id=side["counselor"].id).one()
        start = datetime.now(UTC) + timedelta(days=1)
        session = Session(program_id=group.program_id, kind=SessionKind.GROUP,
                          group_id=group.id, counselor_id=group.counselor_id, title=group.name,
                          starts_at=start, ends_at=start + timedelta(hours=1))
        db.session.add(session)
        enrollment = db.session.query(Enrollment).filter_by(client_id=side["client"].id).one()
        db.session.flush()
        return {"group": group.id, "session": session.id, "program": group.program_id,
                "enrollment": enrollment.id, "counselor": side["counselor"].id,
                "member": side["peer_supporter"].id}

    mine, theirs = of(made), of(others)
    phase = Phase(program_id=mine["program"], name="Step-down", position=1,
                  weekly_hours_target=6)
    newcomer = User(clinic_id=made["client"].clinic_id, email="newcomer@example.test",
                    display_name="Newcomer", role=Role.CLIENT, password_hash="x")
    db.session.add_all([phase, newcomer])
    db.session.commit()
    for side in (mine, theirs):
        side.update(phase=phase.id, newcomer=newcomer.id)
    return mine, theirs


_TODAY = datetime.now(UTC).date().isoformat()
_NEXT_MONTH_DAY = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
_ADMIN_CHANGES = {"client": 404, "counselor": 403, "peer_supporter": 404, "admin": 200}
_TREATING = {"client": 404, "counselor": 200, "peer_supporter": 404, "admin": 200}
_TREATING_OTHER = {**_TREATING, "counselor": 404}
# A clinic's own setup (issue 15): the admin sets programs, groups and admissions up; the
# counselors who lead a group see it and change its occurrences; those who treat a client move
# them between phases and discharge them.
CLINIC_CASES = [
    Case("PATCH", "/api/v1/me", everyone(200), body={"timezone": "America/Denver"}),
    Case("POST", "/api/v1/programs", only(201, {"admin"}),
         body={"name": "Evening IOP", "timezone": "America/Denver", "level_of_care": "iop"}),
    Case("GET", "/api/v1/programs/{program}", everyone(200),
         template="/api/v1/programs/{program_id}", setup=_clinic_setup),
    Case("PATCH", "/api/v1/programs/{program}", only(200, {"admin"}), body={"name": "Renamed"},
         template="/api/v1/programs/{program_id}", setup=_clinic_setup),
    Case("POST", "/api/v1/programs/{program}/closed-days", only(201, {"admin"}),
         body={"day": _NEXT_MONTH_DAY, "reason": "Holiday"},
         template="/api/v1/programs/{program_id}/closed-days", setup=_clinic_setup),
    Case("GET", "/api/v1/groups", only(200, {"counselor", "admin"})),
    Case("POST", "/api/v1/groups", only(201, {"admin"}),
         body={"program_id": "{program}", "name": "Early recovery", "kind": "early_recovery_skills",
               "counselor_id": "{counselor}", "starts_on": _TODAY,
               "schedule": [{"weekday": 1, "start": "18:00", "duration_minutes": 180}]},
         setup=_clinic_setup),
    Case("GET", "/api/v1/groups/{group}", _TREATING, {**_TREATING_OTHER},
         template="/api/v1/groups/{group_id}", setup=_clinic_setup),
    Case("PATCH", "/api/v1/groups/{group}", _ADMIN_CHANGES,
         {**_ADMIN_CHANGES, "counselor": 404}, body={"name": "Renamed group"},
         template="/api/v1/groups/{group_id}", setup=_clinic_setup),
    Case("POST", "/api/v1/groups/{group}/members", {**_ADMIN_CHANGES, "admin": 201},
         {**_ADMIN_CHANGES, "admin": 201, "counselor": 404}, body={"user_id": "{member}"},
         template="/api/v1/groups/{group_id}/members", setup=_clinic_setup),
    Case("DELETE", "/api/v1/groups/{group}/members/{member}", {**_ADMIN_CHANGES, "admin": 204},
         {**_ADMIN_CHANGES, "admin": 204, "counselor": 404},
         template="/api/v1/groups/{group_id}/members/{user_id}", setup=_clinic_setup),
    Case("POST", "/api/v1/sessions/{session}/cancel", _TREATING, _TREATING_OTHER,
         body={"reason": "Snowed in"}, template="/api/v1/sessions/{session_id}/cancel",
         setup=_clinic_setup),
    Case("POST", "/api/v1/sessions/{session}/move", _TREATING, _TREATING_OTHER,
         body={"starts_at": _IN_A_MONTH, "duration_minutes": 90},
         template="/api/v1/sessions/{session_id}/move", setup=_clinic_setup),
    Case("GET", "/api/v1/enrollments", only(200, {"counselor", "admin"})),
    Case("PUT", "/api/v1/clients/{client}/birth-date", only(200, {"counselor", "admin"}),
         {**only(200, {"counselor", "admin"}), "counselor": 404},
         body={"birth_date": "1988-07-14"}, template="/api/v1/clients/{client_id}/birth-date"),
    Case("POST", "/api/v1/enrollments", only(201, {"admin"}),
         body={"client_id": "{newcomer}", "program_id": "{program}",
               "primary_counselor_id": "{counselor}", "start_date": _TODAY},
         setup=_clinic_setup),
    Case("PATCH", "/api/v1/enrollments/{enrollment}", _ADMIN_CHANGES,
         {**_ADMIN_CHANGES, "counselor": 404}, body={"primary_counselor_id": "{counselor}"},
         template="/api/v1/enrollments/{enrollment_id}", setup=_clinic_setup),
    Case("POST", "/api/v1/enrollments/{enrollment}/phase", _TREATING, _TREATING_OTHER,
         body={"phase_id": "{phase}", "effective_on": _TODAY},
         template="/api/v1/enrollments/{enrollment_id}/phase", setup=_clinic_setup),
    Case("POST", "/api/v1/enrollments/{enrollment}/discharge", _TREATING, _TREATING_OTHER,
         body={"discharged_on": _TODAY, "reason": "completed", "summary": "Completed the program."},
         template="/api/v1/enrollments/{enrollment_id}/discharge", setup=_clinic_setup),
]

# Clinical notes (issue 15, docs/notes.md): the session's facilitating counselors write them;
# the clinic's admin reads them (403 on writes) and exports billing; nobody else learns of them.
_NOTE_READS = {"client": 404, "counselor": 200, "peer_supporter": 404, "admin": 200}
_NOTE_WRITES = {"client": 404, "counselor": 200, "peer_supporter": 404, "admin": 403}
_OTHER_NOTE_READS = {**_NOTE_READS, "counselor": 404}
_OTHER_NOTE_WRITES = {**_NOTE_WRITES, "counselor": 404}
_N = "/api/v1/notes/{note_id}"
NOTE_CASES = [
    Case("GET", "/api/v1/sessions/{session}/notes", _NOTE_READS, _OTHER_NOTE_READS,
         template="/api/v1/sessions/{session_id}/notes", setup=matrix_notes),
    Case("GET", "/api/v1/sessions/{session}/notes/prefill", _NOTE_WRITES, _OTHER_NOTE_WRITES,
         template="/api/v1/sessions/{session_id}/notes/prefill", setup=matrix_notes),
    Case("POST", "/api/v1/sessions/{session}/notes", {**_NOTE_WRITES, "counselor": 201},
         _OTHER_NOTE_WRITES, template="/api/v1/sessions/{session_id}/notes",
         setup=matrix_notes,
         body={"id": "{uuid}", "format": "dap", "shared": sections(), "participants": [
             {"client_id": "{client}", "attendance": "present", "minutes": 120,
              "modality": "video", "sections": sections()}]}),
    Case("GET", "/api/v1/notes/{note}", _NOTE_READS, _OTHER_NOTE_READS, template=_N,
         setup=matrix_notes),
    Case("PATCH", "/api/v1/notes/{note}", _NOTE_WRITES, _OTHER_NOTE_WRITES, template=_N,
         setup=matrix_notes, body={"shared": sections()}),
    Case("POST", "/api/v1/notes/{note}/sign", _NOTE_WRITES, _OTHER_NOTE_WRITES,
         template=f"{_N}/sign", setup=matrix_notes),
    Case("POST", "/api/v1/notes/{signed_note}/addenda", {**_NOTE_WRITES, "counselor": 201},
         _OTHER_NOTE_WRITES, template=f"{_N}/addenda", setup=matrix_notes,
         body={"id": "{uuid}", "text": "Called after group: safe."}),
    # A client's chart: the counselors treating them (here, the group's), hidden from others.
    Case("GET", "/api/v1/clients/{client}/notes", only(200, {"counselor"}, 404), everyone(404),
         template="/api/v1/clients/{client_id}/notes", setup=matrix_notes),
    *[
        Case("GET", f"{path}?program_id={{program}}&from=2026-11-16&to=2026-11-22",
             only(200, {"admin"}), template=path, setup=matrix_notes)
        for path in ("/api/v1/billing/days", "/api/v1/billing/days.csv")
    ],
    Case("GET", "/api/v1/programs/{program}/note-settings", only(200, {"admin"}),
         template="/api/v1/programs/{program_id}/note-settings", setup=matrix_notes),
    Case("PUT", "/api/v1/programs/{program}/note-settings", only(200, {"admin"}),
         template="/api/v1/programs/{program_id}/note-settings", setup=matrix_notes,
         body={"note_format": "dap"}),
]


# Notifications (issue 16): everyone's own devices, preferences and list; another's is a 404.
_ONLY_THE_OWNER = {"client": 200, "counselor": 404, "peer_supporter": 404, "admin": 404}
NOTIFICATION_CASES = [
    Case("GET", "/api/v1/push/vapid-public-key", everyone(200)),
    Case("POST", "/api/v1/push-subscriptions", everyone(201),
         body={"endpoint": "https://fcm.googleapis.com/fcm/send/{unique}",
               "keys": SUBSCRIPTION_KEYS}),
    Case("DELETE", "/api/v1/push-subscriptions/{subscription}", {**_ONLY_THE_OWNER,
                                                                 "client": 204},
         everyone(404), template="/api/v1/push-subscriptions/{subscription_id}",
         setup=matrix_notifications),
    Case("GET", "/api/v1/me/notification-preferences", everyone(200)),
    Case("PUT", "/api/v1/me/notification-preferences", everyone(200),
         body={"channels": {"push": True, "email": False},
               "quiet_hours": {"start": "22:00", "end": "07:00"}}),
    Case("GET", "/api/v1/notifications", everyone(200)),
    Case("PATCH", "/api/v1/notifications/{notification}", _ONLY_THE_OWNER, everyone(404),
         body={"read": True}, template="/api/v1/notifications/{notification_id}",
         setup=matrix_notifications),
]


# Phone dial-in (issue 17, docs/dial-in.md): a client reads their number and PIN; the admin and
# the counselors treating them renew it; nobody else learns the client exists.
DIAL_IN_CASES = [
    Case("GET", "/api/v1/me/dial-in", only(200, {"client"}, 404), setup=matrix_dial_in),
    Case("POST", "/api/v1/users/{client}/dial-in-pin", _TREATING, _TREATING_OTHER,
         template="/api/v1/users/{user_id}/dial-in-pin", setup=matrix_dial_in),
    # Calling a client into a session: their number is kept by the same people; the call is
    # made by the session's counselors only (not its peer supporters: a number is the chart's).
    *[Case(method, "/api/v1/users/{client}/phone-number", _TREATING, _TREATING_OTHER,
           body={"number": "(555) 555-0199"} if method == "PUT" else None,
           template="/api/v1/users/{user_id}/phone-number", setup=matrix_dial_out)
      for method in ("GET", "PUT")],
    Case("GET", "/api/v1/sessions/{session}/phone-calls", only(200, {"counselor"}, 404),
         everyone(404), template="/api/v1/sessions/{session_id}/phone-calls",
         setup=matrix_dial_out),
    Case("POST", "/api/v1/sessions/{session}/phone-calls", only(201, {"counselor"}, 404),
         everyone(404), body={"user_id": "{client}"}, setup=matrix_dial_out,
         template="/api/v1/sessions/{session_id}/phone-calls"),
    Case("POST", "/api/v1/sessions/{session}/phone-calls/{call}/cancel",
         only(200, {"counselor"}, 404), everyone(404), setup=matrix_dial_out,
         template="/api/v1/sessions/{session_id}/phone-calls/{call_id}/cancel"),
]


CASES = [
    Case("GET", "/api/v1/me", everyone(200)),
    Case("POST", "/api/v1/auth/logout", everyone(204)),
    Case("GET", "/api/v1/sessions", everyone(200)),
    # Scheduling (family sessions): a counselor, for a client they treat; 404 for another's.
    Case("POST", "/api/v1/sessions", only(201, {"counselor"}),
         {**everyone(403), "counselor": 404},
         body={"client_id": "{client}", "starts_at": _IN_A_MONTH, "family": True}),
    Case("GET", "/api/v1/programs", everyone(200)),
    Case("GET", "/api/v1/caseload", only(200, {"counselor"})),
    Case("GET", "/api/v1/users", only(200, {"admin"})),
    Case("GET", "/api/v1/invitations", only(200, {"admin"})),
    Case("POST", "/api/v1/invitations", only(201, {"admin"}),
         body={"email": "{unique}@example.test", "role": "counselor"}),
    # Staff's second factor (tests/accounts/test_mfa.py): an admin resets it for a counselor
    # of the clinic.
    Case("POST", "/api/v1/users/{staff}/mfa-reset", only(201, {"admin"}), only(201, {"admin"}),
         template="/api/v1/users/{user_id}/mfa-reset",
         setup=lambda made, others: ({"staff": made["counselor"].id},
                                     {"staff": others["counselor"].id})),
    *SELFCARE_CASES,
    *ATTENDANCE_CASES,
    *MEETING_CASES,
    *MEASURE_CASES,
    *CARE_TEAM_CASES,
    *CARE_CASES,
    *CLINIC_CASES,
    *NOTE_CASES,
    *NOTIFICATION_CASES,
    *DIAL_IN_CASES,
]


@pytest.fixture
def people(world):
    """Two of each role; the first client is in the first counselor's group."""
    made = {r: world.user(Role(r), name=f"{r}-a") for r in ROLES}
    others = {r: world.user(Role(r), name=f"{r}-b") for r in ROLES}
    world.group(made["counselor"], [made["client"]], [made["peer_supporter"]])
    world.group(others["counselor"], [others["client"]], [others["peer_supporter"]])
    return made, others


def test_every_documented_route_is_in_the_matrix(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    covered = {(c.method, c.template) for c in CASES}
    assert documented - PUBLIC == covered


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.method} {c.template}")
@pytest.mark.parametrize("role", ROLES)
def test_route_by_role(case, role, people, make_auth, client):
    made, others = people
    # {client}: the first client (treated by the first counselor), or the other one.
    own_values = {"other": made[role].id, "client": made["client"].id}
    other_values = {"other": others[role].id, "client": others["client"].id}
    if case.setup is not None:
        extra_own, extra_other = case.setup(made, others)
        own_values.update(extra_own)
        other_values.update(extra_other)
    own_path = case.path.format(**own_values)
    # Anonymous: always 401 with a problem document.
    response = client.open(own_path, method=case.method, json=_body(case, "anon", own_values))
    assert response.status_code == 401, response.get_json()
    assert response.mimetype == "application/problem+json"

    auth = make_auth(made[role])
    response = auth.client.open(own_path, method=case.method, json=_body(case, role, own_values),
                                headers=auth.headers())
    assert response.status_code == case.own[role], response.get_data(as_text=True)
    if case.other is not None:
        path = case.path.format(**other_values)
        response = auth.client.open(path, method=case.method,
                                    json=_body(case, role, other_values),
                                    headers=auth.headers())
        assert response.status_code == case.other[role]


def _body(case: Case, role: str, values: dict[str, Any]) -> Any:
    """The case's body with its {placeholders} filled: {client}/{other} ids stay integers."""
    if case.body is None:
        return None
    import uuid

    def fill(v: Any) -> Any:
        # Nested placeholders too (a note's participants name {client}).
        if isinstance(v, dict):
            return {k: fill(item) for k, item in v.items()}
        if isinstance(v, list):
            return [fill(item) for item in v]
        if not isinstance(v, str):
            return v
        key = v.strip("{}")
        if v == f"{{{key}}}" and key in values:
            return values[key]
        return v.format(unique=f"{role}-{uuid.uuid4().hex[:6]}", uuid=uuid.uuid4())

    return fill(case.body)


def test_counselor_caseload_holds_only_their_clients(people, make_auth):
    made, others = people
    names = [c["display_name"] for c in
             make_auth(made["counselor"]).get("/api/v1/caseload").get_json()["items"]]
    assert names == ["client-a"]


def test_sessions_list_only_shows_sessions_one_takes_part_in(people, world, make_auth):
    from companion.clinic.models import Group

    made, others = people
    mine = world.db.session.query(Group).filter_by(counselor_id=made["counselor"].id).one()
    theirs = world.db.session.query(Group).filter_by(counselor_id=others["counselor"].id).one()
    s_mine = world.session(mine)
    world.session(theirs)
    one_to_one = world.session(counselor=made["counselor"], client=made["client"])
    for role, expected in [
        ("client", {s_mine.id, one_to_one.id}),
        ("counselor", {s_mine.id, one_to_one.id}),
        ("peer_supporter", {s_mine.id}),
        ("admin", set()),
    ]:
        items = make_auth(made[role]).get("/api/v1/sessions").get_json()["items"]
        assert {i["id"] for i in items} == expected, role


def test_users_list_stays_inside_the_clinic(world, make_auth):
    from companion.accounts.models import Clinic

    other_clinic = Clinic(name="Elsewhere")
    world.db.session.add(other_clinic)
    world.db.session.commit()
    stranger = world.user(Role.CLIENT, clinic_id=other_clinic.id)
    admin = world.user(Role.ADMIN)
    emails = {u["email"] for u in make_auth(admin).get("/api/v1/users").get_json()["items"]}
    assert admin.email in emails and stranger.email not in emails
