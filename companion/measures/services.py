"""Measurement-based care: PHQ-9, GAD-7 and the Brief Addiction Monitor, scored exactly as
published (docs/domain.md), stored once per client-made id, with PHQ-9 item 9 raising an urgent
alert at once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from companion.accounts.models import User
from companion.alerts import services as alerts
from companion.alerts.models import AlertKind
from companion.core import audit, clock
from companion.core.errors import ServiceError
from companion.core.extensions import db
from companion.measures.models import Measure, MeasureSchedule
from companion.selfcare.services import body_hash

CONTENT = Path(__file__).resolve().parent.parent / "content" / "measures.json"

# Band edges: (lowest total of the band, band name), highest first.
PHQ9_BANDS = [(20, "severe"), (15, "moderately_severe"), (10, "moderate"), (5, "mild"),
              (0, "minimal")]
GAD7_BANDS = [(15, "severe"), (10, "moderate"), (5, "mild"), (0, "minimal")]
# BAM subscales by item number (item 7 details item 6; item 17 is not scored).
BAM_USE = (4, 5, 6)
BAM_RISK = (1, 2, 3, 8, 11, 15)
BAM_PROTECTIVE = (9, 10, 12, 13, 14, 16)
BAM_DETAIL_ITEM = 7


class MeasureError(ServiceError):
    """Refused by this domain (companion.core.errors.ServiceError)."""


@cache
def content() -> dict[str, Any]:
    return dict(json.loads(CONTENT.read_text()))


@dataclass
class Score:
    total: int | None = None
    band: str | None = None
    subscales: dict[str, int] | None = None
    crisis: bool = False


def _band(total: int, bands: list[tuple[int, str]]) -> str:
    return next(name for low, name in bands if total >= low)


def _check_items(answers: list[Any], count: int, allowed: set[int]) -> list[int]:
    if len(answers) != count:
        raise MeasureError(422, "answers", f"needs exactly {count} answers")
    for i, answer in enumerate(answers):
        if isinstance(answer, bool) or not isinstance(answer, int) or answer not in allowed:
            raise MeasureError(422, f"answers.{i}",
                               f"must be one of {', '.join(map(str, sorted(allowed)))}")
    return answers


def score_phq9(answers: list[Any]) -> Score:
    """PHQ-9: 9 items 0-3, total 0-27; any answer above 0 on item 9 needs same-day follow-up."""
    items = _check_items(answers, 9, {0, 1, 2, 3})
    total = sum(items)
    return Score(total=total, band=_band(total, PHQ9_BANDS), crisis=items[8] > 0)


def score_gad7(answers: list[Any]) -> Score:
    """GAD-7: 7 items 0-3, total 0-21; 5 mild, 10 moderate, 15 severe."""
    total = sum(_check_items(answers, 7, {0, 1, 2, 3}))
    return Score(total=total, band=_band(total, GAD7_BANDS))


def _bam_allowed(item: int) -> set[int]:
    scale = next(i["scale"] for i in content()["bam"]["items"] if i["n"] == item)
    return {code for code, _ in content()["bam"]["scales"][scale]}


def score_bam(answers: list[Any]) -> Score:
    """BAM: 17 answers (each the item's 0-4 response code; item 7 a detail object or null),
    scored as three subscales, not a total."""
    if len(answers) != 17:
        raise MeasureError(422, "answers", "needs exactly 17 answers")
    for n, answer in enumerate(answers, start=1):
        field = f"answers.{n - 1}"
        if n == BAM_DETAIL_ITEM:
            _check_bam_detail(answer, field)
            continue
        allowed = _bam_allowed(n)
        if isinstance(answer, bool) or not isinstance(answer, int) or answer not in allowed:
            raise MeasureError(422, field,
                               f"item {n} must be one of {', '.join(map(str, sorted(allowed)))}")

    def total(items: tuple[int, ...]) -> int:
        return sum(int(answers[n - 1]) for n in items)

    return Score(subscales={"use": total(BAM_USE), "risk": total(BAM_RISK),
                            "protective": total(BAM_PROTECTIVE)})


def _check_bam_detail(answer: Any, field: str) -> None:
    """Item 7 (A-G: days of each drug) details item 6; it may be left out (null)."""
    if answer is None:
        return
    parts = {letter for letter, _ in content()["bam"]["items"][BAM_DETAIL_ITEM - 1]["parts"]}
    days = _bam_allowed(6)
    if not isinstance(answer, dict) or not set(answer) <= parts:
        raise MeasureError(422, field, "item 7 is null or an object with keys A to G")
    for letter, value in answer.items():
        if isinstance(value, bool) or not isinstance(value, int) or value not in days:
            raise MeasureError(422, f"{field}.{letter}", "must be a day code from 0 to 4")


SCORERS = {"phq9": score_phq9, "gad7": score_gad7, "bam": score_bam}


@dataclass
class Stored:
    measure: Measure
    created: bool


def record(client: User, body: Any) -> Stored:
    """Score and store a completed measure once per id (a retry returns the stored one; a
    different body under the same id is refused)."""
    score = SCORERS[body.kind](body.answers)
    completed = body.completed_at
    if completed > clock.now() + timedelta(minutes=5):
        raise MeasureError(422, "completed_at", "is in the future")
    digest = body_hash(body)
    existing = db.session.get(Measure, str(body.id))
    if existing is not None:
        return _replay(client, existing, digest)
    offset = completed.utcoffset() or timedelta(0)
    measure = Measure(
        id=str(body.id), client_id=client.id, kind=body.kind, answers=list(body.answers),
        total=score.total, band=score.band, subscales=score.subscales, crisis=score.crisis,
        completed_at=completed, utc_offset_minutes=int(offset.total_seconds() // 60),
        body_hash=digest, received_at=clock.now(),
    )
    try:
        db.session.add(measure)
        db.session.flush()
        raised = alerts.raise_alerts(
            client.id, [AlertKind.PHQ9_ITEM9] if score.crisis else [], "measure", measure.id)
        _advance_schedule(client.id, body.kind, completed)
        audit.record(client, "create", "measure", measure.id, subject_id=client.id)
        alerts.publish(raised)  # sent with the commit
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        winner = db.session.get(Measure, str(body.id))
        if winner is None:
            raise
        return _replay(client, winner, digest)
    return Stored(measure, True)


def _replay(client: User, existing: Measure, digest: str) -> Stored:
    if existing.client_id != client.id or existing.body_hash != digest:
        raise MeasureError(409, "id", "a different measure was already stored under this id")
    return Stored(existing, False)


def measure_json(measure: Measure) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": measure.id,
        "client_id": measure.client_id,
        "kind": measure.kind,
        "answers": measure.answers,
        "completed_at": measure.completed_at.isoformat(),
        "crisis": measure.crisis,
    }
    if measure.subscales is not None:
        out["subscales"] = measure.subscales
    else:
        out["total"] = measure.total
        out["band"] = measure.band
    return out


# --- schedules ------------------------------------------------------------------------------


def schedule(counselor: User, client_id: int, kind: str, every_weeks: int,
             first_due: datetime) -> MeasureSchedule:
    """At intake, then every N weeks: one schedule per client and measure (re-setting it
    replaces the old cadence)."""
    existing = db.session.scalar(select(MeasureSchedule).where(
        MeasureSchedule.client_id == client_id, MeasureSchedule.kind == kind))
    plan = existing or MeasureSchedule(client_id=client_id, kind=kind)
    plan.every_weeks = every_weeks
    plan.next_due = first_due
    plan.set_by_id = counselor.id
    db.session.add(plan)
    audit.record(counselor, "update", "measure_schedule", f"{client_id}:{kind}",
                 subject_id=client_id)
    db.session.commit()
    return plan


def _advance_schedule(client_id: int, kind: str, completed: datetime) -> None:
    plan = db.session.scalar(select(MeasureSchedule).where(
        MeasureSchedule.client_id == client_id, MeasureSchedule.kind == kind))
    if plan is not None and completed >= plan.next_due - timedelta(days=3):
        plan.next_due = completed + timedelta(weeks=plan.every_weeks)


def due(client_id: int) -> list[MeasureSchedule]:
    """The client's measures due now (or within the day)."""
    soon = clock.now() + timedelta(days=1)
    return list(db.session.scalars(select(MeasureSchedule).where(
        MeasureSchedule.client_id == client_id, MeasureSchedule.next_due <= soon
    ).order_by(MeasureSchedule.next_due)))
