"""Rewards (contingency management), family members and Part 2 consents, psychoeducation."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError

from companion.accounts.models import Consent, Role
from companion.careteam import psychoed, rewards
from companion.careteam.consents import REDISCLOSURE_NOTICE
from companion.careteam.models import DEFAULT_BOWL, PsychoedAssignment, RewardEntry, TestResult
from companion.core import clock
from companion.core.models import AuditEvent
from companion.rooms.models import AttendanceInterval, Modality
from tests.conftest import PASSWORD, Auth


@pytest.fixture
def people(world):
    """As the authorisation matrix's: two of each role, each client in a counselor's group."""
    roles = ["client", "counselor", "peer_supporter", "admin"]
    made = {r: world.user(Role(r), name=f"{r}-a") for r in roles}
    others = {r: world.user(Role(r), name=f"{r}-b") for r in roles}
    world.group(made["counselor"], [made["client"]], [made["peer_supporter"]])
    world.group(others["counselor"], [others["client"]], [others["peer_supporter"]])
    return made, others


@pytest.fixture(autouse=True)
def seeded_rng():
    rewards.set_rng(random.Random(20260301))
    yield
    rewards.set_rng(None)


def enable(world: Any, scheme: str = "fishbowl",
           behaviours: tuple[str, ...] = ("checkin", "attendance", "negative_test"),
           **kw: Any) -> None:
    settings = rewards.settings_for(world.program)
    settings.enabled = True
    settings.scheme = scheme
    settings.behaviours = list(behaviours)
    for key, value in kw.items():
        setattr(settings, key, value)
    world.db.session.add(settings)
    world.db.session.commit()


def ledger(client_id: int) -> list[RewardEntry]:
    from companion.core.extensions import db

    return list(db.session.scalars(select(RewardEntry).where(RewardEntry.client_id == client_id)
                                   .order_by(RewardEntry.id)))


def count(model: Any) -> int:
    from companion.core.extensions import db

    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


# --- reward schedules ---------------------------------------------------------------------


def test_fishbowl_draws_grow_with_consecutive_days_and_reset_after_a_missed_day(world):
    enable(world, "fishbowl", draws_max=3)
    client = world.user()
    start = date(2026, 3, 2)
    for offset in [0, 1, 2, 3, 5, 6]:  # day 4 missed
        day = start + timedelta(days=offset)
        rewards.credit(client.id, "checkin", day.isoformat(), day, True, client)
    rows = ledger(client.id)
    assert [r.streak for r in rows] == [1, 2, 3, 4, 1, 2]
    assert [r.draws for r in rows] == [1, 2, 3, 3, 1, 2]  # capped at draws_max, then reset
    assert all(len(r.prizes) == r.draws and r.points == 0 for r in rows)
    assert set().union(*[r.prizes for r in rows]) <= set(DEFAULT_BOWL)


def test_escalating_points_reset_after_a_positive_test_and_are_never_taken_away(world):
    enable(world, "points", behaviours=("negative_test",), points_max=25)
    client = world.user()
    start = date(2026, 3, 2)
    outcomes = [True, True, True, True, False, True, True]
    for n, ok in enumerate(outcomes):
        day = start + timedelta(days=2 * n)
        rewards.credit(client.id, "negative_test", day.isoformat(), day, ok, None)
    rows = ledger(client.id)
    assert [r.points for r in rows] == [10, 15, 20, 25, 0, 10, 15]
    assert [r.outcome for r in rows][4] == "lapse" and rows[4].streak == 0
    running, totals = 0, []
    for r in rows:
        running += r.points
        totals.append(running)
    assert totals == sorted(totals)  # the balance never goes down


def test_a_behaviour_the_program_did_not_choose_pays_nothing(world):
    enable(world, "points", behaviours=("attendance",))
    client = world.user()
    assert rewards.credit(client.id, "checkin", "2026-03-02", date(2026, 3, 2), True,
                          client) is None
    assert ledger(client.id) == []


def test_the_same_occurrence_pays_once(world):
    enable(world, "points")
    client = world.user()
    first = rewards.credit(client.id, "checkin", "2026-03-02", date(2026, 3, 2), True, client)
    again = rewards.credit(client.id, "checkin", "2026-03-02", date(2026, 3, 2), True, client)
    assert first is not None and again is not None and first.id == again.id
    assert len(ledger(client.id)) == 1


def test_the_ledger_refuses_update_and_delete(world):
    from companion.core.extensions import db

    enable(world, "points")
    client = world.user()
    entry = rewards.credit(client.id, "checkin", "2026-03-02", date(2026, 3, 2), True, client)
    assert entry is not None
    for statement in (update(RewardEntry).values(points=1000),
                      delete(RewardEntry).where(RewardEntry.id == entry.id)):
        with pytest.raises(DBAPIError):
            db.session.execute(statement)
            db.session.flush()
        db.session.rollback()
    assert [r.points for r in ledger(client.id)] == [10]


def test_the_bowl_pays_about_half_the_draws_mostly_small():
    rng = random.Random(42)
    drawn = Counter(rewards.draw(DEFAULT_BOWL, rng) for _ in range(20000))
    assert 0.47 < drawn["good_job"] / 20000 < 0.53
    assert drawn["small"] > drawn["large"] > drawn["jumbo"]
    assert drawn["jumbo"] < 0.01 * 20000
    # A seeded generator gives the same draws: tests can predict them.
    a, b = random.Random(5), random.Random(5)
    assert [rewards.draw(DEFAULT_BOWL, a) for _ in range(20)] == [
        rewards.draw(DEFAULT_BOWL, b) for _ in range(20)]
    assert {rewards.draw({"jumbo": 1, "good_job": 0}, rng) for _ in range(5)} == {"jumbo"}


def _checkin_body(**kw: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "occurred_at": (clock.now() - timedelta(minutes=5))
            .isoformat(), "mood": 6, "craving": 2, "used": "no", **kw}


def test_a_check_in_pays_once_a_day_even_when_retried(world, make_auth):
    enable(world, "fishbowl", behaviours=("checkin",))
    client = world.user()
    auth = make_auth(client)
    body = _checkin_body()
    assert auth.post("/api/v1/checkins", json=body).status_code == 201
    assert auth.post("/api/v1/checkins", json=body).status_code == 200  # a retry
    assert auth.post("/api/v1/checkins", json=_checkin_body()).status_code == 201  # same day
    rows = ledger(client.id)
    assert len(rows) == 1 and rows[0].behaviour == "checkin" and rows[0].draws == 1
    summary = auth.get("/api/v1/rewards").get_json()
    assert summary["enabled"] and summary["draws_total"] == 1
    assert sum(summary["prizes"].values()) == 1
    assert summary["streaks"][0] == {"behaviour": "checkin", "streak": 1,
                                     "next": {"points": 0, "draws": 2}}
    items = auth.get("/api/v1/rewards/ledger").get_json()["items"]
    assert [i["id"] for i in items] == [rows[0].id]


def test_attested_attendance_pays_those_present_long_enough_and_lapses_the_absent(
        world, make_auth):
    enable(world, "points", behaviours=("attendance",), attendance_min_minutes=60)
    counselor = world.user(Role.COUNSELOR)
    present, brief = world.user(name="Present"), world.user(name="Brief")
    group = world.group(counselor, [present, brief])

    def session_with(minutes: dict[int, int], hours_ago: int) -> int:
        session = world.session(group, starts_in=timedelta(hours=-hours_ago))
        for user_id, length in minutes.items():
            world.db.session.add(AttendanceInterval(
                session_id=session.id, user_id=user_id, started_at=session.starts_at,
                ended_at=session.starts_at + timedelta(minutes=length),
                modality=Modality.VIDEO, connection_id=uuid.uuid4().hex))
        world.db.session.commit()
        return session.id

    first = session_with({present.id: 90, brief.id: 20}, hours_ago=50)
    auth = make_auth(counselor)
    assert auth.post(f"/api/v1/sessions/{first}/attest").status_code == 200
    assert auth.post(f"/api/v1/sessions/{first}/attest").status_code == 200  # again: no pay
    second = session_with({present.id: 120, brief.id: 120}, hours_ago=3)
    assert auth.post(f"/api/v1/sessions/{second}/attest").status_code == 200
    assert [(r.outcome, r.points) for r in ledger(present.id)] == [("success", 10),
                                                                   ("success", 15)]
    assert [(r.outcome, r.points) for r in ledger(brief.id)] == [("lapse", 0), ("success", 10)]


# --- test results -------------------------------------------------------------------------


def test_staff_enter_test_results_once_and_a_negative_one_pays(world, make_auth):
    enable(world, "points", behaviours=("negative_test",))
    counselor = world.user(Role.COUNSELOR)
    client = world.user()
    world.group(counselor, [client])
    auth = make_auth(counselor)
    body = {"id": str(uuid.uuid4()), "client_id": client.id,
            "collected_at": (clock.now() - timedelta(hours=2)).isoformat(), "result": "negative"}
    assert auth.post("/api/v1/test-results", json=body).status_code == 201
    assert auth.post("/api/v1/test-results", json=body).status_code == 200
    changed = auth.post("/api/v1/test-results", json={**body, "result": "positive"})
    assert changed.status_code == 409 and changed.get_json()["errors"][0]["field"] == "id"
    assert count(TestResult) == 1
    assert [(r.behaviour, r.points) for r in ledger(client.id)] == [("negative_test", 10)]
    listed = make_auth(client).get("/api/v1/test-results").get_json()["items"]
    assert [t["result"] for t in listed] == ["negative"]


def test_a_bad_test_result_is_refused_naming_the_field_and_nothing_is_written(world, make_auth):
    enable(world, "points", behaviours=("negative_test",))
    counselor = world.user(Role.COUNSELOR)
    client = world.user()
    world.group(counselor, [client])
    response = make_auth(counselor).post("/api/v1/test-results", json={
        "id": str(uuid.uuid4()), "client_id": client.id,
        "collected_at": clock.now().isoformat(), "result": "maybe"})
    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["result"]
    assert count(TestResult) == 0 and count(RewardEntry) == 0


def test_reward_settings_are_validated_and_saved_by_the_admin(world, make_auth):
    admin = world.user(Role.ADMIN)
    auth = make_auth(admin)
    path = f"/api/v1/programs/{world.program.id}/rewards"
    bad = auth.put(path, json={"enabled": True, "scheme": "lottery", "behaviours": []})
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "scheme"
    empty = auth.put(path, json={"enabled": True, "scheme": "fishbowl", "behaviours": [],
                                 "bowl": {"good_job": 0, "small": 0, "large": 0, "jumbo": 0}})
    assert empty.status_code == 422 and empty.get_json()["errors"][0]["field"] == "bowl"
    assert auth.get(path).get_json()["enabled"] is False
    saved = auth.put(path, json={"enabled": True, "scheme": "fishbowl",
                                 "behaviours": ["checkin", "attendance"], "draws_max": 5})
    assert saved.status_code == 200
    data = auth.get(path).get_json()
    assert data["enabled"] and data["behaviours"] == ["attendance", "checkin"]
    assert data["draws_max"] == 5 and data["bowl"] == DEFAULT_BOWL


# --- family members and consents ----------------------------------------------------------


def _family(app: Any, world: Any, make_auth: Any) -> tuple[Any, Any, Any, int]:
    """A client (treated by a counselor), their auth, an accepted family member's auth, link id."""
    counselor = world.user(Role.COUNSELOR)
    client = world.user(name="Casey")
    world.group(counselor, [client])
    auth = make_auth(client)
    invited = auth.post("/api/v1/family", json={"email": "mom@example.test",
                                                "display_name": "Mom", "relationship": "mother"})
    assert invited.status_code == 201, invited.get_json()
    token = invited.get_json()["url"].split("#token=")[1]
    guest = Auth(app.test_client())
    accepted = guest.client.post("/api/v1/invitations/accept",
                                 json={"token": token, "password": PASSWORD})
    assert accepted.status_code == 201
    assert accepted.get_json()["user"]["role"] == "family"
    guest.csrf = accepted.get_json()["csrf_token"]
    return client, auth, guest, invited.get_json()["id"]


def _consent(auth: Any, link_id: int, categories: list[str], days: float = 30) -> Any:
    return auth.post("/api/v1/consents", json={
        "family_link_id": link_id, "categories": categories,
        "purpose": "So my mother can support my recovery",
        "expires_at": (clock.now() + timedelta(days=days)).isoformat(),
        "signature": "Casey Client"})


def test_a_family_member_sees_nothing_without_an_active_consent(app, world, make_auth):
    client, auth, guest, link_id = _family(app, world, make_auth)
    item = f"/api/v1/family/clients/{client.id}/enrollment"
    # No consent: not even the client's name.
    assert guest.get("/api/v1/family/clients").get_json()["items"] == []
    assert guest.get(item).status_code == 404

    made = _consent(auth, link_id, ["enrollment", "rewards"])
    assert made.status_code == 201, made.get_json()
    consent = made.get_json()
    assert consent["discloser"] == "Test IOP" and consent["recipient_name"] == "Mom"
    assert consent["signature"] == "Casey Client" and consent["state"] == "active"
    assert "revoke" in consent["revocation"]
    shown = guest.get(item)
    assert shown.status_code == 200
    assert shown.get_json()["notice"] == REDISCLOSURE_NOTICE
    assert shown.get_json()["data"]["enrollments"][0]["program"] == "Test IOP"
    assert guest.get(f"/api/v1/family/clients/{client.id}/attendance").status_code == 404
    listed = guest.get("/api/v1/family/clients").get_json()["items"]
    assert listed == [{"id": client.id, "display_name": "Casey",
                       "categories": ["enrollment", "rewards"]}]

    # Revoked: at once.
    assert auth.post(f"/api/v1/consents/{consent['id']}/revoke").get_json()["state"] == "revoked"
    assert guest.get(item).status_code == 404
    assert guest.get("/api/v1/family/clients").get_json()["items"] == []

    # Expired: the moment its date passes.
    assert _consent(auth, link_id, ["enrollment"], days=1).status_code == 201
    assert guest.get(item).status_code == 200
    clock.advance(timedelta(days=1, minutes=1))
    assert guest.login("mom@example.test").status_code == 200  # (the login timed out too)
    assert auth.login(client).status_code == 200
    assert guest.get(item).status_code == 404

    # Each disclosure is in the client's access log, naming the family member.
    log = auth.get("/api/v1/me/access-log?limit=200").get_json()["items"]
    disclosed = [e for e in log if e["action"] == "disclose" and e["what"] == "enrollment"]
    assert len(disclosed) == 2 and {e["who"] for e in disclosed} == {"Mom"}
    assert {e["role"] for e in disclosed} == {"family"}


def test_a_family_member_reaches_no_chart_room_or_record(app, world, make_auth, people):
    """Every route of the matrix, as a family member, on the first client's records."""
    from tests.clinic.test_authorization_matrix import CASES, _body

    made, others = people
    guest_client, auth, guest, link_id = _family(app, world, make_auth)
    # Even with a consent in force (to the other client's record: it opens nothing else).
    assert _consent(auth, link_id, ["enrollment", "attendance"]).status_code == 201
    values: dict[str, Any] = {"client": made["client"].id, "other": made["client"].id}
    for setup in {c.setup for c in CASES if c.setup is not None}:
        values.update(setup(made, others)[0])
    allowed = {("GET", "/api/v1/me"), ("POST", "/api/v1/auth/logout"),
               # their own profile: the name they show and their time zone
               ("PATCH", "/api/v1/me"),
               ("GET", "/api/v1/psychoed/modules"), ("GET", "/api/v1/psychoed/modules/{code}"),
               ("GET", "/api/v1/family/clients"), ("GET", "/api/v1/sessions"),
               # the clinic's program names (the invitation named the clinic already)
               ("GET", "/api/v1/programs"), ("GET", "/api/v1/programs/{program_id}"),
               # content, no one's record: trigger and exercise lists, questionnaire forms,
               # the public meeting directory (Al-Anon and Nar-Anon are for families)
               ("GET", "/api/v1/triggers"), ("GET", "/api/v1/coping/exercises"),
               ("GET", "/api/v1/measures/forms"), ("GET", "/api/v1/meetings"),
               ("GET", "/api/v1/meetings/types"), ("GET", "/api/v1/meetings/{meeting_id}"),
               ("GET", "/api/v1/meetings/{meeting_id}.ics"),
               # their own notifications: devices, preferences, the list (of their own only)
               ("GET", "/api/v1/push/vapid-public-key"), ("POST", "/api/v1/push-subscriptions"),
               ("GET", "/api/v1/me/notification-preferences"),
               ("PUT", "/api/v1/me/notification-preferences"),
               ("GET", "/api/v1/notifications")}
    opened = []
    for case in CASES:
        if case.method == "POST" and case.template == "/api/v1/auth/logout":
            continue
        response = guest.client.open(case.path.format(**values), method=case.method,
                                     json=_body(case, "family", values),
                                     headers=guest.headers())
        if (case.method, case.template) not in allowed and response.status_code not in (403,
                                                                                         404):
            opened.append((case.method, case.template, response.status_code))
    assert opened == [], opened
    sessions = guest.get("/api/v1/sessions").get_json()["items"]
    assert sessions == []


def test_consents_are_validated_naming_the_field_and_nothing_is_written(app, world, make_auth):
    client, auth, _, link_id = _family(app, world, make_auth)
    stranger_link = 10_000 + link_id
    cases = [
        ({"signature": ""}, "signature"),
        ({"expires_at": (clock.now() - timedelta(days=1)).isoformat()}, "expires_at"),
        ({"categories": ["everything"]}, "categories.0"),
        ({"categories": []}, "categories"),
        ({"family_link_id": stranger_link}, "family_link_id"),
        ({"family_link_id": None}, "recipient_name"),
    ]
    base = {"family_link_id": link_id, "categories": ["enrollment"], "purpose": "Support",
            "expires_at": (clock.now() + timedelta(days=3)).isoformat(),
            "signature": "Casey Client"}
    for change, field in cases:
        response = auth.post("/api/v1/consents", json={**base, **change})
        assert response.status_code == 422, (change, response.get_json())
        assert response.get_json()["errors"][0]["field"] == field
    assert count(Consent) == 0
    assert auth.get("/api/v1/consents").get_json()["items"] == []


def test_ending_the_family_link_ends_disclosure_under_a_consent_still_in_force(
        app, world, make_auth):
    client, auth, guest, link_id = _family(app, world, make_auth)
    item = f"/api/v1/family/clients/{client.id}/enrollment"
    assert _consent(auth, link_id, ["enrollment"]).status_code == 201
    assert guest.get(item).status_code == 200
    assert auth.post(f"/api/v1/family/{link_id}/end").status_code == 200
    assert guest.get(item).status_code == 404
    assert guest.get("/api/v1/family/clients").get_json()["items"] == []


def test_a_client_cannot_revoke_or_see_another_clients_consent(app, world, make_auth):
    _, auth, _, link_id = _family(app, world, make_auth)
    mine = _consent(auth, link_id, ["enrollment"]).get_json()
    other = make_auth(world.user())
    assert other.post(f"/api/v1/consents/{mine['id']}/revoke").status_code == 404
    assert other.get("/api/v1/consents").get_json()["items"] == []
    assert auth.get("/api/v1/consents").get_json()["items"][0]["state"] == "active"


# --- psychoeducation ----------------------------------------------------------------------


def test_modules_are_brief_and_cover_the_topics():
    codes = {m["code"] for m in psychoed.modules()}
    assert codes == {"what_is_sud", "relapse_process", "triggers_cravings", "mutual_support",
                     "family_support"}
    for module in psychoed.modules():
        assert module["minutes"] <= 10 and module["sections"] and module["key_points"]
    assert [m["audience"] for m in psychoed.modules()].count("family") == 1


def test_a_counselor_assigns_a_module_the_client_marks_it_done(world, make_auth):
    counselor = world.user(Role.COUNSELOR)
    client = world.user()
    world.group(counselor, [client])
    staff = make_auth(counselor)
    body = {"client_id": client.id, "module": "triggers_cravings", "note": "Before Thursday"}
    made = staff.post("/api/v1/psychoed/assignments", json=body)
    assert made.status_code == 201
    assert staff.post("/api/v1/psychoed/assignments", json=body).status_code == 200
    bad = staff.post("/api/v1/psychoed/assignments", json={**body, "module": "astrology"})
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "module"
    assert count(PsychoedAssignment) == 1

    me = make_auth(client)
    mine = me.get("/api/v1/psychoed/assignments").get_json()["items"]
    assert [(a["title"], a["completed_at"]) for a in mine] == [("Triggers and cravings", None)]
    done = me.post(f"/api/v1/psychoed/assignments/{mine[0]['id']}/done")
    assert done.status_code == 200 and done.get_json()["completed_at"]
    seen = staff.get(f"/api/v1/psychoed/assignments?client_id={client.id}").get_json()["items"]
    assert seen[0]["completed_at"] == done.get_json()["completed_at"]
    assert world.db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "complete", AuditEvent.subject_id == client.id)) == 1
