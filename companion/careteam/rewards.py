"""Contingency management (docs/domain.md): prize draws ("fishbowl") or escalating points.

A behaviour a program chose (attendance, daily check-in, negative test) pays when it happens:
the first success pays the starting amount, each consecutive success pays more (up to a cap),
and a lapse writes a zero line that resets the streak. Nothing earned is ever taken away.

Each occurrence of a behaviour pays at most once: the ledger's unique key (client, behaviour,
occurrence) decides, so a retried request, a second check-in the same day or a race between two
web processes finds the stored line instead of writing another. The ledger is append-only.

Streaks:
* check-in: the occurrence is the client's local date; the streak continues when the day
  before has a paid line (a missed day is a lapse, seen when the next check-in arrives);
* attendance: credited when the session's counselor attests it; every client of the session
  present for at least ``attendance_min_minutes`` succeeds, every other client of it lapses;
* negative test: staff enter the result; negative succeeds, positive or missed lapses (one per
  client and day).
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from companion.accounts.models import User
from companion.careteam.models import (
    BEHAVIOUR_ATTENDANCE,
    BEHAVIOUR_CHECKIN,
    BEHAVIOUR_NEGATIVE_TEST,
    DEFAULT_BOWL,
    PRIZE_TIERS,
    SCHEME_FISHBOWL,
    SCHEME_POINTS,
    RewardEntry,
    RewardSettings,
    TestResult,
)
from companion.clinic import treatment
from companion.clinic.models import Program, Session
from companion.core import audit, clock, signals
from companion.core.errors import ServiceError
from companion.core.extensions import db
from companion.rooms import attendance
from companion.selfcare.models import CheckIn

log = logging.getLogger(__name__)

SUCCESS = "success"
LAPSE = "lapse"

# Draws come from the operating system's generator; tests put a seeded one here.
_rng: random.Random = random.SystemRandom()


def set_rng(rng: random.Random | None) -> None:
    """Use ``rng`` for draws (tests); None goes back to the system's generator."""
    global _rng
    _rng = rng if rng is not None else random.SystemRandom()


class RewardError(ServiceError):
    """Refused by this domain (companion.core.errors.ServiceError)."""


# --- settings -----------------------------------------------------------------------------


def settings_for(program: Program) -> RewardSettings:
    """The program's settings (defaults, off, when none were saved)."""
    found = db.session.scalar(select(RewardSettings).where(RewardSettings.program_id == program.id))
    if found is not None:
        return found
    return RewardSettings(
        program_id=program.id, enabled=False, scheme=SCHEME_FISHBOWL, behaviours=[],
        bowl=dict(DEFAULT_BOWL), draws_start=1, draws_step=1, draws_max=8, points_start=10,
        points_step=5, points_max=100, attendance_min_minutes=60,
    )


def save_settings(admin: User, program: Program, values: dict[str, Any]) -> RewardSettings:
    bowl = values.get("bowl")
    if bowl is not None and sum(bowl.values()) <= 0:
        raise RewardError(422, "bowl", "The bowl needs at least one slip.")
    settings = db.session.scalar(
        select(RewardSettings).where(RewardSettings.program_id == program.id))
    if settings is None:
        settings = settings_for(program)
        db.session.add(settings)
    for key, value in values.items():
        if value is not None:
            setattr(settings, key, value)
    settings.updated_at = clock.now()
    settings.updated_by_id = admin.id
    db.session.flush()
    audit.record(admin, "update", "reward_settings", program.id)
    db.session.commit()
    return settings


# --- paying -------------------------------------------------------------------------------


def draw(bowl: dict[str, int], rng: random.Random) -> str:
    """One slip from the bowl (slips go back in: every draw has the same odds)."""
    tiers = [(tier, int(bowl.get(tier, 0))) for tier in PRIZE_TIERS]
    pick = rng.randrange(sum(n for _, n in tiers))
    for tier, n in tiers:
        if pick < n:
            return tier
        pick -= n
    raise AssertionError("unreachable")  # pragma: no cover


def payout(settings: RewardSettings, streak: int, rng: random.Random) -> tuple[int, list[str]]:
    """(points, prizes drawn) for the ``streak``-th consecutive success."""
    if settings.scheme == SCHEME_POINTS:
        return min(settings.points_start + settings.points_step * (streak - 1),
                   settings.points_max), []
    draws = min(settings.draws_start + settings.draws_step * (streak - 1), settings.draws_max)
    return 0, [draw(settings.bowl, rng) for _ in range(max(draws, 0))]


def _find(client_id: int, behaviour: str, occurrence: str) -> RewardEntry | None:
    return db.session.scalar(select(RewardEntry).where(
        RewardEntry.client_id == client_id, RewardEntry.behaviour == behaviour,
        RewardEntry.occurrence == occurrence))


def _previous(client_id: int, behaviour: str, occurred_on: date) -> RewardEntry | None:
    stmt = select(RewardEntry).where(RewardEntry.client_id == client_id,
                                     RewardEntry.behaviour == behaviour)
    if behaviour == BEHAVIOUR_CHECKIN:
        # Daily: the streak goes on only from yesterday's line.
        return db.session.scalar(stmt.where(
            RewardEntry.occurrence == (occurred_on - timedelta(days=1)).isoformat()))
    return db.session.scalar(stmt.where(RewardEntry.occurred_on <= occurred_on)
                             .order_by(RewardEntry.occurred_on.desc(), RewardEntry.id.desc())
                             .limit(1))


def credit(client_id: int, behaviour: str, occurrence: str, occurred_on: date, success: bool,
           actor: User | None,
           rng: random.Random | None = None) -> RewardEntry | None:
    """Write the ledger line for one occurrence (or find the one already written) and commit.

    None when the client's program does not reward this behaviour."""
    program = treatment.client_program(client_id)
    if program is None:
        return None
    settings = settings_for(program)
    if not settings.enabled or behaviour not in settings.behaviours:
        return None
    existing = _find(client_id, behaviour, occurrence)
    if existing is not None:
        return existing
    streak, points, prizes = 0, 0, list[str]()
    if success:
        before = _previous(client_id, behaviour, occurred_on)
        streak = before.streak + 1 if before is not None and before.outcome == SUCCESS else 1
        points, prizes = payout(settings, streak, rng or _rng)
    entry = RewardEntry(
        client_id=client_id, program_id=program.id, behaviour=behaviour, occurrence=occurrence,
        occurred_on=occurred_on, outcome=SUCCESS if success else LAPSE, scheme=settings.scheme,
        streak=streak, points=points, draws=len(prizes), prizes=prizes, created_at=clock.now(),
    )
    try:
        db.session.add(entry)
        db.session.flush()  # the unique key decides a race between two requests
        audit.record(actor, "create", "reward_entry", entry.id, subject_id=client_id)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        winner = _find(client_id, behaviour, occurrence)
        if winner is None:
            raise
        return winner
    return entry


@signals.checkin_recorded.connect
def _checkin_recorded(checkin_id: int) -> None:
    checkin = db.session.get(CheckIn, checkin_id)
    if checkin is not None:
        client = db.session.get(User, checkin.client_id)
        if client is not None:
            credit_checkin(client, checkin)


@signals.session_attested.connect
def _session_attested(session_id: int, counselor_id: int) -> None:
    session = db.session.get(Session, session_id)
    counselor = db.session.get(User, counselor_id)
    if session is not None and counselor is not None:
        credit_session(session, counselor)


def credit_checkin(client: User, checkin: CheckIn) -> RewardEntry | None:
    """After a check-in is committed (also on its retries: the ledger pays once a day)."""
    try:
        return credit(client.id, BEHAVIOUR_CHECKIN, checkin.local_date.isoformat(),
                      checkin.local_date, True, client)
    except Exception as error:  # the check-in is stored; its retry pays the reward
        db.session.rollback()
        # The type only: a database error's message quotes the values it was given.
        log.error("reward for a check-in not written: %s", type(error).__name__)
        return None


def credit_session(session: Session, counselor: User) -> list[RewardEntry]:
    """When the counselor attests a session: present long enough pays, absent lapses."""
    program = db.session.get(Program, session.program_id)
    if program is None:
        return []
    settings = settings_for(program)
    if not settings.enabled or BEHAVIOUR_ATTENDANCE not in settings.behaviours:
        return []
    minutes = {row.client.id: row.stretch.minutes
               for row in attendance.session_attendance(session)}
    day = session.starts_at.astimezone(_zone(program)).date()
    written = []
    for client_id in sorted(set(treatment.session_clients(session)) | set(minutes)):
        present = minutes.get(client_id, 0) >= settings.attendance_min_minutes
        entry = credit(client_id, BEHAVIOUR_ATTENDANCE, f"session:{session.id}", day, present,
                       counselor)
        if entry is not None:
            written.append(entry)
    return written


def _zone(program: Program) -> ZoneInfo:
    try:
        return ZoneInfo(program.timezone)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


# --- test results -------------------------------------------------------------------------


@dataclass
class StoredTest:
    test: TestResult
    created: bool


def record_test(staff: User, client: User, test_id: str, collected_at: datetime, result: str,
                note: str, digest: str) -> StoredTest:
    """Store a test result once (idempotent by id) and credit the negative-test behaviour."""
    existing = db.session.get(TestResult, test_id)
    if existing is not None:
        if existing.client_id != client.id or existing.body_hash != digest:
            raise RewardError(409, "id", "A test result with this id was already stored "
                                         "with different content.")
        created = False
        test = existing
    else:
        test = TestResult(id=test_id, client_id=client.id, collected_at=collected_at,
                          result=result, note=note.strip(), entered_by_id=staff.id,
                          entered_at=clock.now(), body_hash=digest)
        try:
            db.session.add(test)
            db.session.flush()
            audit.record(staff, "create", "test_result", test.id, subject_id=client.id)
            db.session.commit()
            created = True
        except IntegrityError:
            db.session.rollback()
            return record_test(staff, client, test_id, collected_at, result, note, digest)
    program = treatment.client_program(client.id)
    day = test.collected_at.astimezone(_zone(program) if program else ZoneInfo("UTC")).date()
    credit(client.id, BEHAVIOUR_NEGATIVE_TEST, day.isoformat(), day, test.result == "negative",
           staff)
    return StoredTest(test, created)


# --- reading ------------------------------------------------------------------------------


def entry_json(e: RewardEntry) -> dict[str, Any]:
    return {"id": e.id, "behaviour": e.behaviour, "occurrence": e.occurrence,
            "occurred_on": e.occurred_on.isoformat(), "outcome": e.outcome, "scheme": e.scheme,
            "streak": e.streak, "points": e.points, "draws": e.draws, "prizes": list(e.prizes),
            "created_at": e.created_at.isoformat()}


def result_json(t: TestResult) -> dict[str, Any]:
    return {"id": t.id, "client_id": t.client_id, "collected_at": t.collected_at.isoformat(),
            "result": t.result, "note": t.note, "entered_at": t.entered_at.isoformat()}


def settings_json(s: RewardSettings) -> dict[str, Any]:
    return {"program_id": s.program_id, "enabled": s.enabled, "scheme": s.scheme,
            "behaviours": list(s.behaviours), "bowl": dict(s.bowl),
            "draws_start": s.draws_start, "draws_step": s.draws_step, "draws_max": s.draws_max,
            "points_start": s.points_start, "points_step": s.points_step,
            "points_max": s.points_max, "attendance_min_minutes": s.attendance_min_minutes}


def summary(client: User) -> dict[str, Any]:
    """What the client has earned, their streaks, and what the next success pays."""
    program = treatment.client_program(client.id)
    settings = settings_for(program) if program else None
    entries = list(db.session.scalars(select(RewardEntry).where(
        RewardEntry.client_id == client.id).order_by(RewardEntry.id)))
    prizes = Counter(p for e in entries for p in e.prizes)
    streaks = []
    for behaviour in (settings.behaviours if settings and settings.enabled else []):
        last = max((e for e in entries if e.behaviour == behaviour),
                   key=lambda e: (e.occurred_on, e.id), default=None)
        streak = last.streak if last is not None and last.outcome == SUCCESS else 0
        if behaviour == BEHAVIOUR_CHECKIN and last is not None:
            today = clock.now().astimezone(_zone_of(client)).date()
            if last.occurred_on < today - timedelta(days=1):
                streak = 0  # a day was missed: the next check-in starts again
        assert settings is not None
        if settings.scheme == SCHEME_POINTS:
            nxt = {"points": min(settings.points_start + settings.points_step * streak,
                                 settings.points_max), "draws": 0}
        else:
            nxt = {"points": 0, "draws": min(settings.draws_start + settings.draws_step * streak,
                                             settings.draws_max)}
        streaks.append({"behaviour": behaviour, "streak": streak, "next": nxt})
    return {
        "enabled": bool(settings and settings.enabled),
        "scheme": settings.scheme if settings else SCHEME_FISHBOWL,
        "points_total": sum(e.points for e in entries),
        "draws_total": sum(e.draws for e in entries),
        "prizes": {tier: prizes.get(tier, 0) for tier in PRIZE_TIERS},
        "streaks": streaks,
    }


def _zone_of(client: User) -> ZoneInfo:
    try:
        return ZoneInfo(client.timezone)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def ledger(client_id: int) -> Any:
    return select(RewardEntry).where(RewardEntry.client_id == client_id).order_by(
        RewardEntry.id.desc())

