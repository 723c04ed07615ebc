"""Check-ins, craving logs, coping-exercise completions and the safety plan.

Writes are idempotent by the id the device made: the first write stores the entry (and the
alerts it raises, and its audit row) in one transaction and answers "created"; a retry with the
same body answers with the stored entry; a different body under the same id is a conflict.
Concurrent retries race on the primary key: the loser's IntegrityError is caught and the winner's
row re-read. Nothing is acknowledged before the commit.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from companion.accounts.models import Role, User
from companion.alerts import services as alerts
from companion.alerts.models import AlertKind
from companion.clinic.models import Enrollment, Group, GroupMember, GroupRole
from companion.core import audit, clock
from companion.core.errors import ServiceError
from companion.core.extensions import db
from companion.core.signals import checkin_recorded
from companion.selfcare import content as selfcare_content
from companion.selfcare.models import (
    CheckIn,
    CopingCompletion,
    Craving,
    SafetyPlan,
    SleepQuality,
    UsedAnswer,
)

Entry = TypeVar("Entry", CheckIn, Craving, CopingCompletion)

RECORD_TYPES: dict[type, str] = {
    CheckIn: "checkin",
    Craving: "craving",
    CopingCompletion: "coping_completion",
}


class SelfCareError(ServiceError):
    """A request that cannot be honoured: ``status`` and the ``field`` at fault."""


@dataclass
class Stored:
    entry: Any
    created: bool


def body_hash(body: BaseModel) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _device_time(moment: datetime) -> tuple[datetime, int, date]:
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    return moment.astimezone(UTC), minutes, moment.date()


def local_moment(entry: CheckIn | Craving | CopingCompletion) -> datetime:
    """The entry's moment as the device saw it (its own UTC offset)."""
    return entry.occurred_at.astimezone(timezone(timedelta(minutes=entry.utc_offset_minutes)))


# --- writes -------------------------------------------------------------------------------


def record_checkin(client: User, body: Any) -> Stored:
    fields = {
        "mood": body.mood,
        "craving": body.craving,
        "sleep_hours": body.sleep_hours,
        "sleep_quality": SleepQuality(body.sleep_quality) if body.sleep_quality else None,
        "used": UsedAnswer(body.used),
        "medication_taken": body.medication_taken,
        "note": body.note.strip(),
        "need_to_talk": body.need_to_talk,
    }

    def signals(entry: CheckIn) -> list[AlertKind]:
        kinds = []
        if entry.need_to_talk:
            kinds.append(AlertKind.NEED_TO_TALK)
        if entry.craving >= alerts.craving_threshold(client.id):
            kinds.append(AlertKind.CRAVING_HIGH)
        if entry.used == UsedAnswer.YES:
            kinds.append(AlertKind.USE_REPORTED)
        return kinds

    stored = _store(client, CheckIn, body, fields, signals)
    # After the commit, on retries too: the reward ledger pays a day's check-in once.
    checkin_recorded.send(stored.entry.id)
    return stored


def record_craving(client: User, body: Any) -> Stored:
    fields = {
        "intensity": body.intensity,
        "triggers": list(body.triggers),
        "trigger_other": body.trigger_other,
        "where": body.where,
        "with_whom": body.with_whom,
        "coping": list(body.coping),
        "used": body.used,
        "duration_minutes": body.duration_minutes,
        "notes": body.notes,
    }

    def signals(entry: Craving) -> list[AlertKind]:
        kinds = []
        if entry.intensity >= alerts.craving_threshold(client.id):
            kinds.append(AlertKind.CRAVING_HIGH)
        if entry.used:
            kinds.append(AlertKind.USE_REPORTED)
        return kinds

    return _store(client, Craving, body, fields, signals)


def check_responses(exercise_code: str, responses: dict[str, Any]) -> None:
    """An exercise's form answers must be its own fields, each of the right kind."""
    exercise = selfcare_content.exercise(exercise_code) or {}
    form = {f["key"]: f for f in exercise.get("form", [])}
    for key, value in responses.items():
        spec = form.get(key)
        where = f"responses.{key}"
        if spec is None:
            raise SelfCareError(422, where, "is not a field of this exercise")
        kind = spec.get("type", "text")
        if kind in ("rating_100", "rating_10"):
            top = 100 if kind == "rating_100" else 10
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
                raise SelfCareError(422, where, f"must be a whole number from 0 to {top}")
        elif kind == "yes_no":
            if not isinstance(value, bool):
                raise SelfCareError(422, where, "must be true or false")
        elif not isinstance(value, str):
            raise SelfCareError(422, where, "must be text")


def record_completion(client: User, body: Any) -> Stored:
    check_responses(body.exercise, body.responses)
    fields = {
        "exercise": body.exercise,
        "craving_before": body.craving_before,
        "craving_after": body.craving_after,
        "duration_seconds": body.duration_seconds,
        "responses": {k: (v.strip() if isinstance(v, str) else v)
                      for k, v in body.responses.items()},
        "notes": body.notes,
    }

    def signals(entry: CopingCompletion) -> list[AlertKind]:
        # Still at or over the threshold after the exercise: the skill was not enough this time.
        after = entry.craving_after
        if after is not None and after >= alerts.craving_threshold(client.id):
            return [AlertKind.CRAVING_HIGH]
        return []

    return _store(client, CopingCompletion, body, fields, signals)


def _store(client: User, model: type[Entry], body: Any, fields: dict[str, Any],
           signals: Any) -> Stored:
    entry_id = str(body.id)
    digest = body_hash(body)
    record_type = RECORD_TYPES[model]
    existing = db.session.get(model, entry_id)
    if existing is not None:
        return _replay(client, existing, digest, record_type)
    occurred_at, offset, local_date = _device_time(body.occurred_at)
    entry = model(
        id=entry_id, client_id=client.id, occurred_at=occurred_at, utc_offset_minutes=offset,
        local_date=local_date, body_hash=digest, received_at=clock.now(), **fields,
    )
    try:
        db.session.add(entry)
        db.session.flush()  # the primary key decides a race between concurrent retries
        raised = alerts.raise_alerts(client.id, signals(entry), record_type, entry_id)
        audit.record(client, "create", record_type, entry_id, subject_id=client.id)
        alerts.publish(raised)  # sent with the commit
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        winner = db.session.get(model, entry_id)
        if winner is None:
            raise
        return _replay(client, winner, digest, record_type)
    return Stored(entry, True)


def _replay(client: User, existing: Any, digest: str, record_type: str) -> Stored:
    if existing.client_id != client.id:
        # Never say whose it is: a UUID collision or a guess is simply refused.
        raise SelfCareError(409, "id", "This id is already used by another entry.")
    if existing.body_hash != digest:
        raise SelfCareError(
            409, "id", "An entry with this id was already stored with different content."
        )
    audit.record(client, "replay", record_type, existing.id, subject_id=client.id)
    db.session.commit()
    return Stored(existing, False)


# --- reads --------------------------------------------------------------------------------


def client_zone(client: User) -> ZoneInfo:
    try:
        return ZoneInfo(client.timezone)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def _bound(value: datetime | date | None, zone: ZoneInfo, end: bool) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    day = value + timedelta(days=1) if end else value
    return datetime.combine(day, time(0), tzinfo=zone)


def list_entries(model: type[Entry], client: User, start: datetime | date | None,
                 end: datetime | date | None) -> Select[Any]:
    zone = client_zone(client)
    stmt = select(model).where(model.client_id == client.id)
    lower, upper = _bound(start, zone, end=False), _bound(end, zone, end=True)
    if lower is not None:
        stmt = stmt.where(model.occurred_at >= lower)
    if upper is not None:
        stmt = stmt.where(model.occurred_at < upper)
    return stmt.order_by(model.occurred_at.desc(), model.id.desc())


def today(client: User) -> tuple[date, CheckIn | None]:
    """Today's date in the client's time zone and their latest check-in of that day."""
    zone = client_zone(client)
    day = clock.now().astimezone(zone).date()
    start = datetime.combine(day, time(0), tzinfo=zone)
    latest = db.session.scalar(
        select(CheckIn)
        .where(CheckIn.client_id == client.id, CheckIn.occurred_at >= start,
               CheckIn.occurred_at < start + timedelta(days=1))
        .order_by(CheckIn.occurred_at.desc(), CheckIn.received_at.desc())
        .limit(1)
    )
    return day, latest


# --- trends -------------------------------------------------------------------------------


def _mean(values: list[int]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def trends(client: User, days: int) -> dict[str, Any]:
    """Daily and weekly craving and mood, triggers by frequency, and which coping skills
    lowered this client's craving most (mean of before - after ratings)."""
    zone = client_zone(client)
    end = clock.now().astimezone(zone).date()
    start = end - timedelta(days=days - 1)

    def in_range(model: Any) -> list[Any]:
        return list(db.session.scalars(
            select(model).where(model.client_id == client.id, model.local_date >= start,
                                model.local_date <= end)
            .order_by(model.occurred_at, model.received_at)
        ))

    checkins: list[CheckIn] = in_range(CheckIn)
    cravings: list[Craving] = in_range(Craving)
    completions: list[CopingCompletion] = in_range(CopingCompletion)

    # The latest check-in of a day counts for the day.
    latest: dict[date, CheckIn] = {}
    for c in checkins:
        latest[c.local_date] = c
    logs: dict[date, list[Craving]] = defaultdict(list)
    for cr in cravings:
        logs[cr.local_date].append(cr)

    day_rows: list[dict[str, Any]] = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        ci = latest.get(day)
        peaks = [x.intensity for x in logs[day]] + ([ci.craving] if ci else [])
        used = any(x.used for x in logs[day]) or any(
            c.used == UsedAnswer.YES for c in checkins if c.local_date == day
        )
        day_rows.append({
            "date": day,
            "mood": ci.mood if ci else None,
            "craving": ci.craving if ci else None,
            "craving_peak": max(peaks) if peaks else None,
            "cravings_logged": len(logs[day]),
            "used": used,
        })

    weeks: dict[date, list[dict[str, Any]]] = defaultdict(list)
    for row in day_rows:
        weeks[row["date"] - timedelta(days=row["date"].weekday())].append(row)
    week_rows: list[dict[str, Any]] = []
    for week_start, rows in sorted(weeks.items()):
        peaks = [r["craving_peak"] for r in rows if r["craving_peak"] is not None]
        week_rows.append({
            "week_start": week_start,
            "mood_avg": _mean([r["mood"] for r in rows if r["mood"] is not None]),
            "craving_avg": _mean([r["craving"] for r in rows if r["craving"] is not None]),
            "craving_peak": max(peaks) if peaks else None,
            "checkin_days": sum(1 for r in rows if r["mood"] is not None),
            "cravings_logged": sum(r["cravings_logged"] for r in rows),
        })

    trigger_counts = Counter(code for cr in cravings for code in cr.triggers)
    trigger_rows = [
        {"code": code, "label": selfcare_content.trigger_label(code), "count": n}
        for code, n in sorted(trigger_counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]

    by_skill: dict[str, list[CopingCompletion]] = defaultdict(list)
    for done in completions:
        by_skill[done.exercise].append(done)
    coping_rows: list[dict[str, Any]] = []
    for code, items in by_skill.items():
        rated = [d for d in items if d.craving_before is not None and d.craving_after is not None]
        before = [d.craving_before for d in rated if d.craving_before is not None]
        after = [d.craving_after for d in rated if d.craving_after is not None]
        drops = [b - a for b, a in zip(before, after, strict=True)]
        coping_rows.append({
            "code": code,
            "title": selfcare_content.exercise_title(code),
            "uses": len(items),
            "rated": len(rated),
            "avg_before": _mean(before),
            "avg_after": _mean(after),
            "avg_drop": _mean(drops),
        })
    coping_rows.sort(key=lambda r: (r["avg_drop"] is None, -(r["avg_drop"] or 0), -r["uses"]))

    return {
        "client": {"id": client.id, "display_name": client.display_name},
        "start": start,
        "end": end,
        "days": day_rows,
        "weeks": week_rows,
        "triggers": trigger_rows,
        "coping": coping_rows,
    }


# --- safety plan --------------------------------------------------------------------------

PLAN_FIELDS = (
    "warning_signs", "coping_strategies", "distractions", "help_contacts", "professionals",
    "environment", "reason_for_living",
)


def safety_plan(client: User) -> SafetyPlan | None:
    return db.session.scalar(select(SafetyPlan).where(SafetyPlan.client_id == client.id))


def counselor_of(client: User) -> User | None:
    """The counselor a client turns to: the one who carries their case, else the lead of their
    first group. Shown in the client's crisis panel, so only an active counselor."""
    carried = select(Enrollment.primary_counselor_id).where(
        Enrollment.client_id == client.id, Enrollment.primary_counselor_id.is_not(None)
    ).order_by(Enrollment.start_date.desc())
    leads = select(Group.counselor_id).join(GroupMember, GroupMember.group_id == Group.id).where(
        GroupMember.user_id == client.id, GroupMember.role == GroupRole.CLIENT
    ).order_by(Group.id)
    for candidates in (carried, leads):
        for counselor_id in db.session.scalars(candidates):
            counselor = db.session.get(User, counselor_id)
            if counselor is not None and counselor.active and counselor.role == Role.COUNSELOR:
                return counselor
    return None


def save_safety_plan(actor: User, client: User, body: Any) -> SafetyPlan:
    """Write the whole plan (PUT). With ``version``, refuse if someone saved in between."""
    data = body.model_dump(mode="json")
    plan = safety_plan(client)
    if plan is not None and body.version is not None and body.version != plan.version:
        raise SelfCareError(
            409, "version", "The plan was changed since you opened it. Reload and try again."
        )
    created = plan is None
    if plan is None:
        plan = SafetyPlan(client_id=client.id, version=0)
        db.session.add(plan)
    for name in PLAN_FIELDS:
        setattr(plan, name, data[name])
    plan.version = (plan.version or 0) + 1
    plan.updated_at = clock.now()
    plan.updated_by_id = actor.id
    try:
        db.session.flush()
        audit.record(actor, "create" if created else "update", "safety_plan", plan.id,
                     subject_id=client.id)
        db.session.commit()
    except IntegrityError:
        # Two first saves at once: the other one won; this one is stale.
        db.session.rollback()
        raise SelfCareError(
            409, "version", "The plan was changed since you opened it. Reload and try again."
        ) from None
    return plan
