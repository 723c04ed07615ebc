"""What a notification says outside the app: on a lock screen, in an inbox, to whoever holds
the phone. Being in substance-use treatment is itself protected (42 CFR Part 2), so the texts
are the same for everyone and every occurrence: no name, no group, no clinical word, no kind
of alert or questionnaire; a session's start time at most. The details are in the app, after
login. tests/notifications/test_wording.py checks every kind against the words to avoid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

# The sender's name on every mail (the address is COMPANION_MAIL_FROM).
SENDER_NAME = "Companion"
REMINDER = "Companion: a reminder"
ATTENTION = "Companion: something needs your attention"


@dataclass(frozen=True)
class Wording:
    title: str
    body: str


def at_time(moment: datetime, zone: ZoneInfo) -> str:
    """6:30 PM CST, as a US phone says it."""
    local = moment.astimezone(zone)
    return f"{local:%I:%M %p}".lstrip("0") + f" {local.tzname() or ''}".rstrip()


def session_reminder(starts_at: datetime, zone: ZoneInfo, dial_in: str | None = None) -> Wording:
    """``dial_in``: the number to call when the program offers it (a number says nothing of
    what it is for). The PIN never goes outside the app: it is a credential, and the home screen
    keeps it for when there is no data."""
    by_phone = f" No data? Call {dial_in} and key your PIN." if dial_in else ""
    return Wording(REMINDER, f"Starts at {at_time(starts_at, zone)}. Open Companion to join."
                   f"{by_phone}")


def checkin_reminder() -> Wording:
    return Wording(REMINDER, "Time for today's check-in. It takes a minute in Companion.")


def measure_due() -> Wording:
    return Wording(REMINDER, "Something is waiting for you in Companion.")


def module_assigned() -> Wording:
    return Wording("Companion: something new", "Something new is waiting for you in Companion.")


def session_cancelled() -> Wording:
    return Wording("Companion: a change", "Something on your schedule was called off. "
                                          "Open Companion for the details.")


def session_moved(starts_at: datetime, zone: ZoneInfo) -> Wording:
    return Wording("Companion: a change",
                   f"Something on your schedule moved to {at_time(starts_at, zone)}. "
                   "Open Companion for the details.")


def risk_alert() -> Wording:
    return Wording(ATTENTION, "Please open Companion.")


def email_text(wording: Wording, link: str) -> str:
    """The mail's body: the same words, the link, and where to change what one receives."""
    return (f"{wording.body}\n\n{link}\n\n"
            "To choose which reminders you get, and how, open Notifications in Companion.\n")
