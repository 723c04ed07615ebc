"""The client's own record (right of access): everything Companion holds about them.

Every table is either exported here (``EXPORTED``: how to find this client's rows in it) or
named in ``NOT_CLIENT_RECORDS`` with the reason; tests/test_care_export.py fails when a table is
in neither, so a new model has to be placed. Secrets (password and token hashes, login-session
tokens, body hashes, second-factor secrets) are never exported.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any

from markupsafe import escape
from sqlalchemy import Select, select

from companion.accounts.models import Consent, FamilyLink, Invitation, LoginSession, User
from companion.alerts.models import Alert
from companion.careteam.consents import REDISCLOSURE_NOTICE
from companion.careteam.models import PsychoedAssignment, RewardEntry, TestResult
from companion.clinic.models import Enrollment, GroupMember, PhaseChange, Session
from companion.core import clock
from companion.core.extensions import db
from companion.core.models import AuditEvent
from companion.dialin.models import PhoneCall
from companion.measures.models import Measure, MeasureSchedule
from companion.meetings.models import (
    MeetingAttendance,
    MeetingCalendar,
    MeetingFavourite,
    MeetingRecommendation,
)
from companion.rooms.models import AttendanceInterval, RoomEvent, RoomParticipant
from companion.selfcare import content as selfcare_content
from companion.selfcare.models import CheckIn, CopingCompletion, Craving, SafetyPlan

# Never exported; tests/test_care_export.py fails when an exported table has a column named
# like a secret (hash, secret, token, password, csrf, key) that is not listed here.
SECRET_COLUMNS = {"password_hash", "token_hash", "body_hash", "prev_hash", "hash", "csrf_token",
                  "totp_secret"}

# section -> (title, how to select this client's rows)
EXPORTED: dict[str, tuple[str, Callable[[int], Select[Any]]]] = {
    "enrollments": ("Enrollments", lambda c: select(Enrollment).where(
        Enrollment.client_id == c)),
    "group_memberships": ("Groups", lambda c: select(GroupMember).where(
        GroupMember.user_id == c)),
    "individual_sessions": ("Individual sessions", lambda c: select(Session).where(
        Session.client_id == c)),
    "checkins": ("Daily check-ins", lambda c: select(CheckIn).where(CheckIn.client_id == c)),
    "cravings": ("Craving logs", lambda c: select(Craving).where(Craving.client_id == c)),
    "coping_completions": ("Coping exercises", lambda c: select(CopingCompletion).where(
        CopingCompletion.client_id == c)),
    "safety_plan": ("Safety plan", lambda c: select(SafetyPlan).where(SafetyPlan.client_id == c)),
    "measures": ("Questionnaires", lambda c: select(Measure).where(Measure.client_id == c)),
    "measure_schedules": ("Questionnaire schedule", lambda c: select(MeasureSchedule).where(
        MeasureSchedule.client_id == c)),
    "alerts": ("Alerts about me", lambda c: select(Alert).where(Alert.client_id == c)),
    "room_participation": ("Rooms I was in", lambda c: select(RoomParticipant).where(
        RoomParticipant.user_id == c)),
    "attendance_intervals": ("Attendance (as the server saw it)", lambda c: select(
        AttendanceInterval).where(AttendanceInterval.user_id == c)),
    "room_messages": ("What I wrote or did in rooms", lambda c: select(RoomEvent).where(
        RoomEvent.actor_id == c)),
    "meeting_favourites": ("Saved meetings", lambda c: select(MeetingFavourite).where(
        MeetingFavourite.client_id == c)),
    "meeting_attendance": ("Meetings I went to", lambda c: select(MeetingAttendance).where(
        MeetingAttendance.client_id == c)),
    "meeting_recommendations": ("Meetings suggested to me", lambda c: select(
        MeetingRecommendation).where(MeetingRecommendation.client_id == c)),
    "meeting_calendar": ("My meeting calendar feed", lambda c: select(MeetingCalendar).where(
        MeetingCalendar.client_id == c)),
    "consents": ("My consents to disclose", lambda c: select(Consent).where(
        Consent.client_id == c)),
    "family_members": ("Family members I invited", lambda c: select(FamilyLink).where(
        FamilyLink.client_id == c)),
    "rewards_ledger": ("Rewards", lambda c: select(RewardEntry).where(RewardEntry.client_id == c)),
    "test_results": ("Test results", lambda c: select(TestResult).where(
        TestResult.client_id == c)),
    "psychoeducation": ("Education modules", lambda c: select(PsychoedAssignment).where(
        PsychoedAssignment.client_id == c)),
    "phase_changes": ("My phases (step-down, step-up)", lambda c: select(PhaseChange).join(
        Enrollment, Enrollment.id == PhaseChange.enrollment_id).where(Enrollment.client_id == c)),
    "invitations": ("My invitation", lambda c: select(Invitation).where(Invitation.user_id == c)),
    "login_sessions": ("My logins", lambda c: select(LoginSession).where(
        LoginSession.user_id == c)),
    "phone_calls": ("Calls my counselors placed to my phone", lambda c: select(PhoneCall).where(
        PhoneCall.user_id == c)),
}
# Tables of the profile and the access log (built separately), and tables that hold nothing
# about one client: the reason each is left out.
NOT_CLIENT_RECORDS = {
    "user_account": "the profile section",
    "audit_event": "the access-log section",
    "clinic": "the clinic, not a person",
    "program": "program settings",
    "phase": "program settings",
    "phase_group": "program settings (the groups a phase names; membership is exported)",
    "program_closed_day": "program settings (the days it is closed)",
    "therapy_group": "the group (its membership is exported)",
    "group_schedule": "the group's timetable",
    "attendance_attestation": "the counselor's signature on a whole session",
    "meeting_source": "the clinic's meeting directory",
    "meeting": "the clinic's meeting directory",
    "reward_settings": "program settings",
    "alembic_version": "schema version",
    "clinic_retried_write": "staff's answers kept a few days for retried writes (the records "
                            "they wrote are exported)",
    # Clinical notes are the counselor's record, not shown to clients in the app (issue 15,
    # docs/notes.md); a client asks the program for them, which releases them with its review.
    "clinical_note": "clinical notes: released by the program on request, not in the app",
    "note_participant": "clinical notes: released by the program on request, not in the app",
    "note_addendum": "clinical notes: released by the program on request, not in the app",
    # Notifications (companion/notifications) stand above this domain; what they hold is no
    # clinical record: generic texts, a person's channels and devices.
    "notification": "generic reminders sent to the person (the Notifications page lists them)",
    "notification_delivery": "how each generic reminder went out (push, email)",
    "notification_preference": "the person's notification settings",
    "push_subscription": "a device's push address and keys",
    # Phone dial-in (companion/dialin): the PIN is a credential (the client reads it in the app),
    # failed tries are keyed hashes of calling numbers, about no one.
    "dial_in_pin": "a credential: the client reads their PIN in the app",
    "dial_in_failure": "failed PIN tries, kept as keyed hashes of calling numbers for the limits",
    "client_phone": "the number the client gave the program, sealed (contact details, not a "
                    "treatment record; the calls placed to it are exported)",
}


def _value(v: Any) -> Any:
    if isinstance(v, datetime | date | time):
        return v.isoformat()
    if isinstance(v, enum.Enum):
        return v.value
    return v


def row_json(obj: Any) -> dict[str, Any]:
    return {c.key: _value(getattr(obj, c.key)) for c in obj.__mapper__.column_attrs
            if c.key not in SECRET_COLUMNS and not (isinstance(obj, LoginSession)
                                                    and c.key == "id")}


def access_log(client_id: int, others_only: bool = False) -> Select[Any]:
    """Who accessed my record: audit rows whose subject is the client, newest first.
    ``others_only``: people other than the client (their own page views and the app's own
    actions would bury the few reads that matter to them)."""
    stmt = select(AuditEvent).where(AuditEvent.subject_id == client_id)
    if others_only:
        stmt = stmt.where(AuditEvent.actor_id.is_not(None), AuditEvent.actor_id != client_id)
    return stmt.order_by(AuditEvent.id.desc())


ROLE_WORDS = {
    "client": "client", "counselor": "counselor", "peer_supporter": "peer supporter",
    "admin": "program admin", "family": "family member", "system": "the app",
}
# What an audit row's record type is, said to the client whose record it is.
RECORD_WORDS = {
    "checkin": "your check-ins", "checkin_list": "your check-ins",
    "checkin_today": "your check-in today",
    "dial_in_pin": "your phone PIN",
    "craving": "your craving logs", "craving_list": "your craving logs",
    "coping_completion": "your coping exercises",
    "coping_completion_list": "your coping exercises",
    "safety_plan": "your safety plan",
    "trends": "your trends (check-ins and cravings over time)",
    "measure": "your questionnaires", "measure_list": "your questionnaires",
    "measure_schedule": "your questionnaire schedule",
    "alert": "an alert about you", "alert_list": "alerts about you",
    "reward_summary": "your rewards", "reward_ledger": "your rewards history",
    "reward_entry": "your rewards",
    "test_result": "a drug test result", "test_result_list": "your drug test results",
    "family_link": "your family members", "family_link_list": "your family members",
    "consent": "a consent", "consent_list": "your consents",
    "psychoed_assignment": "an education module for you",
    "psychoed_assignment_list": "your education modules",
    "meeting_favourite": "your saved meetings", "meeting_attendance": "the meetings you went to",
    "meeting_recommendation": "meetings suggested to you",
    "meeting_calendar": "your meeting calendar",
    "session": "a session with you", "room": "a session",
    "room_checkin": "your check-in round answer",
    "user": "your account", "invitation": "your invitation",
    "profile": "your name or time zone",
    "client_record": "your whole record", "access_log": "who looked at your record",
    "clinical_note_list": "your session notes",
    # Disclosures to a family member, by consent category.
    "family_client_list": "that you share information with them",
    "birth_date": "your date of birth", "group_member": "your groups",
    "enrollment": "your enrollment", "attendance": "your attendance (hours per week)",
    "checkins": "whether you did your check-ins", "rewards": "your rewards",
    "psychoeducation": "the education modules you completed",
    "family_sessions": "your family sessions",
}
ACTION_WORDS = {
    "read": "looked at", "create": "added to", "update": "changed", "acknowledge": "acknowledged",
    "export": "downloaded", "complete": "completed", "end": "ended", "revoke": "revoked",
    "replay": "resent", "accept": "accepted", "mfa_enrol": "set up a sign-in code for",
    "mfa_reset": "reset the sign-in code of", "delete": "removed from",
}
# Room actions on a person: the person is the object.
ROOM_WORDS = {
    "join": "joined a session", "admit": "let you into a session",
    "mute": "muted you in a session", "unmute": "unmuted you in a session",
    "remove": "removed you from a session",
}
SPECIAL_WORDS = {
    ("login", "user"): "logged in",
    ("login", "dial_in"): "joined by phone",
    ("create", "measure"): "filled in a questionnaire",
    ("create", "session"): "scheduled a session with you",
    ("create", "psychoed_assignment"): "gave you an education module",
    ("create", "test_result"): "entered a drug test result",
    ("create", "consent"): "signed a consent",
    ("create", "family_link"): "invited a family member",
    ("create", "room_checkin"): "answered a check-in round",
    ("create", "safety_plan"): "wrote your safety plan",
    ("create", "meeting_calendar"): "made your meeting calendar",
    ("create", "meeting_recommendation"): "suggested a meeting to you",
}


def describe_access(action: str, record_type: str) -> str:
    """An audit row in words for the client: "looked at your check-ins"."""
    if record_type == "room":
        return ROOM_WORDS.get(action, "acted on your place in a session")
    if action == "disclose":
        shown = RECORD_WORDS.get(record_type, "part of your record")
        return f"was shown {shown}, as you consented"
    if (action, record_type) in SPECIAL_WORDS:
        return SPECIAL_WORDS[(action, record_type)]
    return (f"{ACTION_WORDS.get(action, 'used')} "
            f"{RECORD_WORDS.get(record_type, 'part of your record')}")


def access_json(event: AuditEvent) -> dict[str, Any]:
    actor = db.session.get(User, event.actor_id) if event.actor_id else None
    role = actor.role.value if actor else "system"
    return {
        "at": event.at.isoformat(),
        "who": actor.display_name if actor else "Companion",
        "role": role,
        "role_text": ROLE_WORDS.get(role, role.replace("_", " ")),
        "summary": describe_access(event.action, event.record_type),
        "action": event.action,
        "what": event.record_type,
        "record_id": event.record_id,
        "channel": event.channel,
    }


def build(client: User) -> dict[str, Any]:
    record: dict[str, Any] = {
        "generated_at": clock.now().isoformat(),
        "notice": REDISCLOSURE_NOTICE,
        "profile": row_json(client),
    }
    for key, (_, stmt) in EXPORTED.items():
        rows = db.session.scalars(stmt(client.id))
        record[key] = [row_json(r) for r in rows]
    # Codes stay for other apps; people read the labels.
    for row in record["cravings"]:
        row["trigger_labels"] = [selfcare_content.trigger_label(c) for c in row["triggers"]]
    record["access_log"] = [access_json(e) for e in db.session.scalars(access_log(client.id))]
    return record


# The readable page says codes in words: a column shown in place of another (header, key read).
WORDS_FOR = {"triggers": "trigger_labels"}
ACCESS_LOG_COLUMNS = [("when", "at"), ("who", "who"), ("role", "role_text"),
                      ("what they did", "summary"), ("how", "channel")]


def _readable_columns(section: str, first_row: dict[str, Any]) -> list[tuple[str, str]]:
    if section == "access_log":
        return ACCESS_LOG_COLUMNS
    labelled = {c: words for c, words in WORDS_FOR.items() if words in first_row}
    return [(c, labelled.get(c, c)) for c in first_row if c not in labelled.values()]


def _cell(v: Any) -> str:
    if isinstance(v, list) and all(isinstance(i, str) for i in v):
        return ", ".join(v)
    if isinstance(v, dict | list):
        import json

        return json.dumps(v, ensure_ascii=False)
    return "" if v is None else str(v)


def render_html(record: dict[str, Any]) -> str:
    """A readable page of the same record (no script, no inline style)."""
    out = ["<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
           "<title>My Companion record</title></head><body><main>",
           "<h1>My Companion record</h1>",
           f"<p>Made {escape(record['generated_at'])}.</p>",
           "<h2>Notice (42 CFR part 2, §2.32)</h2>",
           f"<p>{escape(record['notice'])}</p>",
           "<h2>Profile</h2><dl>"]
    for key, value in record["profile"].items():
        out.append(f"<dt>{escape(key)}</dt><dd>{escape(_cell(value))}</dd>")
    out.append("</dl>")
    sections = [(key, title) for key, (title, _) in EXPORTED.items()]
    sections.append(("access_log", "Who accessed my record"))
    for key, title in sections:
        rows = record[key]
        out.append(f"<section><h2>{escape(title)}</h2>")
        if not rows:
            out.append("<p>None.</p></section>")
            continue
        columns = _readable_columns(key, rows[0])
        out.append("<table><thead><tr>")
        out.extend(f"<th scope=\"col\">{escape(header)}</th>" for header, _ in columns)
        out.append("</tr></thead><tbody>")
        for row in rows:
            out.append("<tr>" + "".join(f"<td>{escape(_cell(row.get(c)))}</td>"
                                        for _, c in columns) + "</tr>")
        out.append("</tbody></table></section>")
    out.append("</main></body></html>")
    return "".join(out)


