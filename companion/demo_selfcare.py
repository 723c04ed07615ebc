"""Two weeks of realistic self-care entries for the demo clients, so trends have something to
show. Client 6 (Morgan) is left empty: a newcomer's first day, and what browser tests rely on."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from companion.accounts.models import User
from companion.alerts.models import Alert, AlertKind, AlertUrgency
from companion.core.extensions import db
from companion.selfcare.models import (
    CheckIn,
    CopingCompletion,
    Craving,
    SafetyPlan,
    SleepQuality,
    UsedAnswer,
)

DAYS = 14
TRIGGER_SETS = [
    ["boredom", "time_of_day"], ["lonely", "emotions"], ["people", "places"], ["money"],
    ["tired", "sleep"], ["conflict", "angry"], ["celebration", "other_substance"], ["things"],
    ["hungry", "tired"], ["physical_pain"],
]
SKILLS = ["urge_surfing", "box_breathing", "delay_distract", "grounding_54321", "play_the_tape",
          "call_support"]
# How much each skill tends to help these demo clients (points off the craving).
HELPS = {"urge_surfing": 3, "box_breathing": 2, "delay_distract": 2, "grounding_54321": 1,
         "play_the_tape": 3, "call_support": 4}
NOTES = ["Good group tonight", "Long shift", "Talked to my sponsor", "Kids were great",
         "Rough morning", "", "", ""]


def _at(day: datetime, hour: int, minute: int, zone: ZoneInfo) -> tuple[datetime, int]:
    local = datetime.combine(day.date(), time(hour, minute), tzinfo=zone)
    offset = local.utcoffset() or timedelta(0)
    return local, int(offset.total_seconds() // 60)


def _common(client: User, local: datetime, offset: int) -> dict[str, object]:
    return {"id": str(uuid.uuid4()), "client_id": client.id, "occurred_at": local,
            "utc_offset_minutes": offset, "local_date": local.date(), "body_hash": "demo",
            "received_at": local}


def seed(clients: list[User], counselor: User, now: datetime) -> None:
    """Check-ins (not today: the reminder shows), cravings, exercises, a safety plan for
    client 1, and a few open alerts for the counselor."""
    rng = random.Random(7)  # noqa: S311 - demo data, not security
    for index, client in enumerate(clients[:5]):
        zone = ZoneInfo(client.timezone)
        today = now.astimezone(zone)
        base_craving = 6 - index  # some clients struggle more than others
        for back in range(DAYS, 0, -1):
            day = today - timedelta(days=back)
            if rng.random() < 0.12:
                continue  # a missed day
            improving = (DAYS - back) / DAYS  # cravings ease over the fortnight
            craving = max(0, min(10, round(base_craving - 2 * improving + rng.gauss(0, 1.3))))
            mood = max(0, min(10, round(4 + 3 * improving + rng.gauss(0, 1.2))))
            local, offset = _at(day, 20, rng.randrange(0, 59), zone)
            used = UsedAnswer.YES if (index == 1 and back == 9) else UsedAnswer.NO
            db.session.add(CheckIn(
                **_common(client, local, offset), mood=mood, craving=craving,
                sleep_hours=round(rng.uniform(5, 8.5) * 2) / 2,
                sleep_quality=rng.choice(list(SleepQuality)), used=used,
                medication_taken=True if index in (0, 3) else None,
                note=rng.choice(NOTES), need_to_talk=False,
            ))
            if rng.random() < 0.45:
                peak = max(0, min(10, craving + rng.randrange(1, 4)))
                local, offset = _at(day, rng.choice([8, 12, 17, 22]), rng.randrange(0, 59), zone)
                skills = rng.sample(SKILLS, k=rng.randrange(1, 3))
                db.session.add(Craving(
                    **_common(client, local, offset), intensity=peak,
                    triggers=sorted(rng.choice(TRIGGER_SETS)), coping=sorted(skills),
                    used=False, duration_minutes=rng.choice([10, 15, 20, 30, None]),
                ))
                for skill in skills:
                    after = max(0, peak - HELPS[skill] + rng.randrange(-1, 2))
                    done_at = local + timedelta(minutes=5)
                    db.session.add(CopingCompletion(
                        **_common(client, done_at, offset), exercise=skill,
                        craving_before=peak, craving_after=after,
                        duration_seconds=rng.choice([120, 300, 900, 1200]),
                    ))
    client1, client2, client3 = clients[0], clients[1], clients[2]
    db.session.add(SafetyPlan(
        client_id=client1.id, version=1, updated_at=now - timedelta(days=7),
        updated_by_id=counselor.id,
        warning_signs=["Skipping meals and staying in my room", "Thinking \"one won't hurt\"",
                       "Not answering my phone"],
        coping_strategies=["Box breathing", "Walk around the block", "Play guitar"],
        distractions=[{"name": "Coffee shop on Main Street", "phone": ""},
                      {"name": "Cousin Dee", "phone": "555-0142"}],
        help_contacts=[{"name": "Sponsor Mike", "phone": "555-0117"},
                       {"name": "Sister Jen", "phone": "555-0188"}],
        professionals=[{"name": "Counselor Chris (clinic)", "phone": "555-0100"},
                       {"name": "988 Suicide & Crisis Lifeline", "phone": "988"}],
        environment=["No alcohol in the house", "Gave my old phone with contacts to Jen"],
        reason_for_living="My daughter Lily",
    ))
    for client, kind, hours in [(client2, AlertKind.CRAVING_HIGH, 20),
                                (client3, AlertKind.NEED_TO_TALK, 3)]:
        db.session.add(Alert(
            client_id=client.id, kind=kind, urgency=AlertUrgency.HIGH, source_type="demo",
            source_id=str(uuid.uuid4()), created_at=now - timedelta(hours=hours),
        ))
