"""No text that leaves the app tells a reader that its person is in treatment (issue 16, 42 CFR
Part 2): across every kind of notification, the push payloads, the mails (sender, subject, body)
and the stored texts hold no client name or email, no group name and no clinical word."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from companion.accounts.models import Role
from companion.alerts import escalation
from companion.alerts.models import AlertKind
from companion.clinic import occurrences
from companion.clinic.models import Enrollment
from companion.core import clock
from companion.core.extensions import db
from companion.measures.models import MeasureSchedule
from companion.notifications import dispatch
from companion.notifications.models import Notification, NotificationKind
from companion.selfcare import missed_checkins
from tests import selfcare_factories
from tests.care_factories import assignment
from tests.notifications.test_notifications import subscribe

# Words that tell of substance-use treatment (docs/notifications.md): the clinical vocabulary,
# substance and medication names, the alert kinds and the questionnaires' names.
CLINICAL_WORDS = [
    "craving", "cravings", "crave", "use", "used", "using", "relapse", "relapsed", "recovery",
    "sober", "sobriety", "clean", "treatment", "counselor", "counsellor", "counseling",
    "therapy", "therapist", "clinician", "clinic", "program", "group", "iop", "outpatient",
    "substance", "addiction", "addict", "alcohol", "drink", "drinking", "drug", "drugs",
    "opioid", "opioids", "heroin", "fentanyl", "cocaine", "meth", "methamphetamine",
    "cannabis", "marijuana", "suboxone", "buprenorphine", "methadone", "naloxone", "narcan",
    "overdose", "detox", "rehab", "moud", "urine", "test result", "risk", "alert", "crisis",
    "suicide", "suicidal", "self-harm", "harm", "depression", "anxiety", "mental", "phq",
    "phq-9", "phq9", "gad", "gad-7", "gad7", "bam", "need to talk", "need_to_talk",
    "craving_high", "use_reported", "phq9_item9", "missed_checkins", "missed", "escalated",
    "on-call", "psychoeducation", "aa", "na", "smart recovery",
]
_CLINICAL = re.compile(r"\b(" + "|".join(re.escape(w) for w in CLINICAL_WORDS) + r")\b",
                       re.IGNORECASE)


def _everything_happens(world: Any, make_auth: Any, push: Any) -> dict[str, Any]:
    """One of every kind, to a client and their counselor and the on-call staff."""
    counselor = world.user(Role.COUNSELOR, name="Dana Whitfield")
    on_call = world.user(Role.COUNSELOR, name="Olive Marsh")
    client = world.user(name="Riley Quinn", email="riley.quinn@example.test")
    group = world.group(counselor, [client], name="Tuesday Relapse Prevention")
    world.program.on_call_ids = [on_call.id]
    enrollment = db.session.scalar(select(Enrollment).where(Enrollment.client_id == client.id))
    enrollment.start_date = (clock.now() - timedelta(days=10)).date()
    enrollment.primary_counselor_id = counselor.id
    db.session.commit()
    client_auth = make_auth(client)
    endpoints = [subscribe(client_auth, push)[0], subscribe(make_auth(counselor), push)[0],
                 subscribe(make_auth(on_call), push)[0]]
    client_auth.put("/api/v1/me/notification-preferences", json={"checkin_reminder_at": "00:00"})

    world.session(group, starts_in=timedelta(minutes=9))  # session reminder
    cancelled = world.session(group, starts_in=timedelta(days=1))
    moved = world.session(group, starts_in=timedelta(days=2))
    occurrences.cancel(counselor, cancelled, "Snow day at the clinic", clock.now())
    occurrences.move(counselor, moved, clock.now() + timedelta(days=3), 90, clock.now())
    db.session.add(MeasureSchedule(client_id=client.id, kind="phq9", every_weeks=2,
                                   next_due=clock.now() - timedelta(minutes=1),
                                   set_by_id=counselor.id))
    db.session.commit()
    assignment(client, counselor, module="relapse_process")
    for kind in AlertKind:
        if kind != AlertKind.MISSED_CHECKINS:
            selfcare_factories.alert(client, kind)
    assert missed_checkins.raise_due(clock.now())  # no check-in in 10 days
    clock.advance(timedelta(seconds=15))
    dispatch.run_pass()
    clock.advance(timedelta(minutes=world.program.alert_escalation_minutes))
    assert escalation.escalate_overdue()
    dispatch.run_pass()
    return {"client": client, "counselor": counselor, "on_call": on_call, "group": group,
            "endpoints": endpoints}


def test_no_text_outside_the_app_names_the_client_or_a_clinical_word(world, make_auth,
                                                                     outside):
    push, mail = outside
    made = _everything_happens(world, make_auth, push)
    client, group = made["client"], made["group"]

    kinds = set(db.session.scalars(select(Notification.kind)))
    assert kinds == set(NotificationKind)  # every kind was made...
    assert {p.token for p in push.received} == {e.rsplit("/", 1)[-1] for e in made["endpoints"]}
    assert mail.to(made["on_call"].email)  # ...and sent, escalation included

    texts: list[str] = []
    for n in db.session.scalars(select(Notification)):
        texts += [n.title, n.body, n.url]
    for received in push.received:
        texts += [received.payload["title"], received.payload["body"], received.payload["url"]]
        assert set(received.payload) == {"title", "body", "url"}
    for message in mail.messages:
        texts += [message["From"], message["Subject"],
                  message.get_payload(decode=True).decode()]
    assert len(push.received) >= 10 and len(mail.messages) >= 10

    forbidden = [client.display_name, *client.display_name.split(), client.email,
                 client.email.split("@")[0], group.name, made["counselor"].display_name,
                 "Whitfield", "Snow day"]
    for text in texts:
        for value in forbidden:
            assert value.lower() not in text.lower(), (value, text)
        found = _CLINICAL.findall(text.replace("Companion", ""))
        assert not found, (found, text)


def test_the_sender_and_subjects_are_generic(world, make_auth, outside):
    push, mail = outside
    _everything_happens(world, make_auth, push)
    assert {m["From"] for m in mail.messages} == {"Companion <companion@localhost>"}
    assert {m["Subject"] for m in mail.messages} <= {
        "Companion: a reminder", "Companion: something new", "Companion: a change",
        "Companion: something needs your attention"}
