"""The care team's side (issue 7): rewards, test results, family members and Part 2 consents,
psychoeducation, and the client's own record. Rules: docs/care-team.md."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from flask import Response, current_app, json, request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from companion.accounts.models import (
    CONSENT_CATEGORIES,
    Consent,
    FamilyLink,
    Invitation,
    Role,
    User,
)
from companion.careteam import consents, disclosure, export, psychoed, rewards
from companion.careteam.models import BEHAVIOURS, DEFAULT_BOWL, PsychoedAssignment
from companion.clinic import policy, treatment
from companion.clinic.guards import (
    audit_access,
    authorize,
    client_record,
    me,
    per_inviter_limit,
    subject,
    writer,
)
from companion.clinic.models import Program
from companion.core.extensions import db
from companion.core.http import api
from companion.core.pagination import PageQuery, page
from companion.core.problems import ApiProblem, Problem
from companion.core.schemas import EmailAddress, RecordId
from companion.core.spec import registry
from companion.selfcare.services import body_hash

Behaviour = Literal["attendance", "checkin", "negative_test"]
Category = Literal["enrollment", "attendance", "checkins", "rewards", "psychoeducation",
                   "family_sessions"]
assert set(Category.__args__) == set(CONSENT_CATEGORIES)  # type: ignore[attr-defined]
assert set(Behaviour.__args__) == set(BEHAVIOURS)  # type: ignore[attr-defined]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _client(client_id: int) -> User:
    client = db.session.get(User, client_id)
    if client is None or client.role != Role.CLIENT:
        raise ApiProblem(404, "Not found", "No such client.")
    return client


class ClientQuery(BaseModel):
    client_id: RecordId | None = Field(None, description="Staff: the client whose records to read")


class ClientPageQuery(PageQuery):
    client_id: RecordId | None = Field(None, description="Staff: the client whose records to read")


# --- rewards ------------------------------------------------------------------------------


class Bowl(Strict):
    good_job: int = Field(ge=0, le=10000)
    small: int = Field(ge=0, le=10000)
    large: int = Field(ge=0, le=10000)
    jumbo: int = Field(ge=0, le=10000)


class RewardSettingsBody(Strict):
    enabled: bool
    scheme: Literal["fishbowl", "points"]
    behaviours: list[Behaviour] = Field(max_length=3)
    bowl: Bowl | None = Field(None, description=f"Slips per tier; default {DEFAULT_BOWL}")
    draws_start: int | None = Field(None, ge=1, le=20)
    draws_step: int | None = Field(None, ge=0, le=10)
    draws_max: int | None = Field(None, ge=1, le=50)
    points_start: int | None = Field(None, ge=1, le=1000)
    points_step: int | None = Field(None, ge=0, le=1000)
    points_max: int | None = Field(None, ge=1, le=10000)
    attendance_min_minutes: int | None = Field(None, ge=1, le=600)


class RewardSettingsOut(BaseModel):
    program_id: int
    enabled: bool
    scheme: Literal["fishbowl", "points"]
    behaviours: list[Behaviour]
    bowl: dict[str, int]
    draws_start: int
    draws_step: int
    draws_max: int
    points_start: int
    points_step: int
    points_max: int
    attendance_min_minutes: int


class Streak(BaseModel):
    behaviour: Behaviour
    streak: int
    next: dict[str, int] = Field(description="What the next success pays: points, draws")


class RewardSummary(BaseModel):
    enabled: bool
    scheme: Literal["fishbowl", "points"]
    points_total: int
    draws_total: int
    prizes: dict[str, int] = Field(description="Slips drawn per tier: good_job, small, ...")
    streaks: list[Streak]


class LedgerEntry(BaseModel):
    id: int
    behaviour: Behaviour
    occurrence: str
    occurred_on: date
    outcome: Literal["success", "lapse"]
    scheme: str
    streak: int
    points: int
    draws: int
    prizes: list[str]
    created_at: datetime


class LedgerPage(BaseModel):
    items: list[LedgerEntry]
    next: str | None


def _program(program_id: int) -> Program:
    program = db.session.get(Program, program_id)
    if program is None or program.clinic_id != me().clinic_id:
        raise ApiProblem(404, "Not found", "No such program.")
    return program


@registry.route(api, "/programs/<int:program_id>/rewards", "GET", tag="rewards",
                summary="A program's rewards (contingency management) settings",
                responses={200: RewardSettingsOut, 403: Problem, 404: Problem})
def get_reward_settings(program_id: int) -> dict[str, Any]:
    program = _program(program_id)
    authorize(policy.Action.VIEW_PROGRAM, program, hide=True)
    return rewards.settings_json(rewards.settings_for(program))


@registry.route(api, "/programs/<int:program_id>/rewards", "PUT", tag="rewards",
                body=RewardSettingsBody,
                summary="Turn rewards on or off; choose prize draws or points, behaviours, bowl",
                responses={200: RewardSettingsOut, 403: Problem, 404: Problem})
def put_reward_settings(program_id: int, body: RewardSettingsBody) -> dict[str, Any]:
    program = _program(program_id)
    authorize(policy.Action.MANAGE_REWARDS, program)
    values = body.model_dump()
    values["behaviours"] = sorted(set(body.behaviours))
    saved = rewards.save_settings(me(), program, values)
    return rewards.settings_json(saved)


@registry.route(api, "/rewards", "GET", tag="rewards", query=ClientQuery,
                summary="Points, draws, prizes and streaks (staff: ?client_id=)",
                responses={200: RewardSummary, 403: Problem, 404: Problem})
def reward_summary(query: ClientQuery) -> dict[str, Any]:
    client = subject(query.client_id)
    audit_access("read", "reward_summary", None, subject_id=client.id)
    return rewards.summary(client)


@registry.route(api, "/rewards/ledger", "GET", tag="rewards", query=ClientPageQuery,
                summary="The rewards ledger, newest first (append-only)",
                responses={200: LedgerPage, 403: Problem, 404: Problem})
def reward_ledger(query: ClientPageQuery) -> dict[str, Any]:
    client = subject(query.client_id)
    audit_access("read", "reward_ledger", None, subject_id=client.id)
    return page(rewards.ledger(client.id), query, rewards.entry_json)


class TestResultBody(Strict):
    id: UUID = Field(description="Made by the device: a retry with the same id is stored once")
    client_id: RecordId
    collected_at: AwareDatetime
    result: Literal["negative", "positive", "missed"] = Field(
        description="missed: not given or refused (counts as positive)")
    note: str = Field("", max_length=280)


class TestResultOut(BaseModel):
    id: str
    client_id: int
    collected_at: datetime
    result: Literal["negative", "positive", "missed"]
    note: str
    entered_at: datetime


class TestResultPage(BaseModel):
    items: list[TestResultOut]
    next: str | None


TestResultBody.__test__ = False  # type: ignore[attr-defined]
TestResultOut.__test__ = False  # type: ignore[attr-defined]
TestResultPage.__test__ = False  # type: ignore[attr-defined]


@registry.route(api, "/test-results", "POST", tag="rewards", body=TestResultBody,
                summary="Enter a drug test result (the client's counselor; idempotent by id)",
                responses={201: TestResultOut, 200: TestResultOut, 404: Problem, 409: Problem})
def create_test_result(body: TestResultBody) -> tuple[dict[str, Any], int]:
    authorize(policy.Action.ENTER_TEST_RESULT, body.client_id, hide=True)
    client = _client(body.client_id)
    stored = rewards.record_test(me(), client, str(body.id), body.collected_at, body.result,
                                 body.note, body_hash(body))
    return rewards.result_json(stored.test), 201 if stored.created else 200


@registry.route(api, "/test-results", "GET", tag="rewards", query=ClientPageQuery,
                summary="Drug test results, newest first (staff: ?client_id=)",
                responses={200: TestResultPage, 403: Problem, 404: Problem})
def list_test_results(query: ClientPageQuery) -> dict[str, Any]:
    from sqlalchemy import select

    from companion.careteam.models import TestResult

    client = subject(query.client_id)
    audit_access("read", "test_result_list", None, subject_id=client.id)
    stmt = select(TestResult).where(TestResult.client_id == client.id).order_by(
        TestResult.collected_at.desc(), TestResult.id)
    return page(stmt, query, rewards.result_json)


# --- family members and consents ----------------------------------------------------------


class FamilyInviteBody(Strict):
    email: EmailAddress
    display_name: str = Field(min_length=1, max_length=80)
    relationship: str = Field("", max_length=80, description="e.g. mother, partner, friend")


class FamilyMemberOut(BaseModel):
    id: int
    display_name: str
    email: str
    relationship: str
    state: Literal["pending", "accepted", "expired", "revoked", "ended"]
    user_id: int | None
    created_at: datetime


class FamilyInviteOut(FamilyMemberOut):
    url: str | None = Field(description="The invitation link when no mail server is set up "
                            "(the client hands it over); null when it was emailed")
    emailed: bool


class FamilyPage(BaseModel):
    items: list[FamilyMemberOut]
    next: str | None


@registry.route(api, "/family", "POST", tag="consents", body=FamilyInviteBody,
                summary="Invite a family member (a guest: sees nothing of you without consent)",
                responses={201: FamilyInviteOut, 403: Problem, 429: Problem})
@per_inviter_limit
def invite_family(body: FamilyInviteBody) -> tuple[dict[str, Any], int]:
    """The same answer whether or not the address has an account (companion.accounts.services
    .invite), and the link only when no mail server carries it: a client who could open it
    would learn at its end whether the address has an account."""
    client = writer()
    base_url = current_app.config["PUBLIC_URL"] or request.host_url
    link, issued = consents.invite_family(client, str(body.email), body.display_name,
                                          body.relationship, base_url)
    return {**consents.link_json(link, issued.invitation),
            "url": None if issued.emailed else issued.url, "emailed": issued.emailed}, 201


@registry.route(api, "/family", "GET", tag="consents", query=ClientPageQuery,
                summary="Family members the client invited (staff: ?client_id=)",
                responses={200: FamilyPage, 403: Problem, 404: Problem})
def list_family(query: ClientPageQuery) -> dict[str, Any]:
    from companion.core.pagination import page_of_list

    client = subject(query.client_id)
    audit_access("read", "family_link_list", None, subject_id=client.id)
    return page_of_list(consents.family_of(client.id), query,
                        lambda pair: consents.link_json(*pair))


@registry.route(api, "/family/<int:link_id>/end", "POST", tag="consents",
                summary="End a family link (they no longer join your family sessions)",
                responses={200: FamilyMemberOut, 404: Problem})
def end_family_link(link_id: int) -> dict[str, Any]:
    link = client_record(FamilyLink, link_id, policy.Action.WRITE_CLIENT_RECORD)
    consents.end_family_link(me(), link)
    invitation = db.session.get(Invitation, link.invitation_id)
    assert invitation is not None
    return consents.link_json(link, invitation)


class ConsentBody(Strict):
    family_link_id: RecordId | None = Field(
        None, description="To whom, when it is a family member you invited")
    recipient_name: str = Field("", max_length=200,
                                description="To whom (name; and organisation if any)")
    categories: list[Category] = Field(min_length=1, max_length=len(CONSENT_CATEGORIES),
                                       description="What may be disclosed")
    purpose: str = Field(min_length=3, max_length=500)
    expires_at: AwareDatetime = Field(description="Until when (the consent ends then at the "
                                                  "latest)")
    expiry_event: str = Field("", max_length=300,
                              description="An event that ends it sooner (you then revoke)")
    signature: str = Field(min_length=2, max_length=200, description="Your full name, typed")


class ConsentOut(BaseModel):
    id: int
    client_id: int
    discloser: str = Field(description="Who discloses: the program")
    recipient_name: str
    recipient_user_id: int | None
    categories: list[Category]
    purpose: str
    expires_at: datetime
    expiry_event: str
    revocation: str = Field(description="How to revoke")
    signature: str
    signed_at: datetime
    revoked_at: datetime | None
    state: Literal["active", "expired", "revoked"]


class ConsentPage(BaseModel):
    items: list[ConsentOut]
    next: str | None
    categories: dict[str, str] = Field(description="What each category discloses")
    notice: str = Field(description="The 42 CFR §2.32 redisclosure notice")


@registry.route(api, "/consents", "POST", tag="consents", body=ConsentBody,
                summary="Sign a consent to disclose (42 CFR §2.31 elements)",
                responses={201: ConsentOut, 403: Problem, 409: Problem})
def create_consent(body: ConsentBody) -> tuple[dict[str, Any], int]:
    consent = consents.create_consent(writer(), body)
    return consents.consent_json(consent), 201


@registry.route(api, "/consents", "GET", tag="consents", query=ClientPageQuery,
                summary="The client's consents, newest first (staff: ?client_id=)",
                responses={200: ConsentPage, 403: Problem, 404: Problem})
def list_consents(query: ClientPageQuery) -> dict[str, Any]:
    from sqlalchemy import select

    client = subject(query.client_id)
    audit_access("read", "consent_list", None, subject_id=client.id)
    stmt = select(Consent).where(Consent.client_id == client.id).order_by(Consent.id.desc())
    return {**page(stmt, query, consents.consent_json), "categories": CONSENT_CATEGORIES,
            "notice": consents.REDISCLOSURE_NOTICE}


@registry.route(api, "/consents/<int:consent_id>/revoke", "POST", tag="consents",
                summary="Revoke a consent (takes effect at once)",
                responses={200: ConsentOut, 404: Problem})
def revoke_consent(consent_id: int) -> dict[str, Any]:
    consent = client_record(Consent, consent_id, policy.Action.WRITE_CLIENT_RECORD)
    revoked = consents.consent_json(consents.revoke(me(), consent))
    return revoked


class SharedClient(BaseModel):
    id: int
    display_name: str
    categories: list[Category] = Field(description="What the client consented to show you now")


class SharedClientList(BaseModel):
    items: list[SharedClient]
    notice: str


class DisclosedOut(BaseModel):
    client: dict[str, Any]
    category: Category
    data: dict[str, Any]
    consent_id: int
    consent_expires_at: datetime
    notice: str = Field(description="The 42 CFR §2.32 redisclosure notice")


def _family() -> User:
    if me().role != Role.FAMILY:
        raise ApiProblem(403, "Not allowed", "Only for family members a client invited.")
    return me()


@registry.route(api, "/family/clients", "GET", tag="consents",
                summary="Family member: the people who share information with you now",
                responses={200: SharedClientList, 403: Problem})
def family_clients() -> dict[str, Any]:
    guest = _family()
    items = []
    for client_id in sorted(set(treatment.clients_of(guest))):
        shared = [c for c in CONSENT_CATEGORIES
                  if treatment.active_consent(client_id, guest.id, c) is not None]
        if not shared:
            continue  # nothing, not even the name, without a consent in force
        client = db.session.get(User, client_id)
        assert client is not None
        items.append({"id": client.id, "display_name": client.display_name,
                      "categories": shared})
        audit_access("disclose", "family_client_list", None, subject_id=client.id)
    db.session.commit()
    return {"items": items, "notice": consents.REDISCLOSURE_NOTICE}


@registry.route(api, "/family/clients/<int:client_id>/<category>", "GET", tag="consents",
                summary="Family member: one category of a client's information (with consent)",
                responses={200: DisclosedOut, 404: Problem})
def family_disclosure(client_id: int, category: str) -> dict[str, Any]:
    if category not in CONSENT_CATEGORIES:
        raise ApiProblem(404, "Not found", "No such record, or not yours to see.")
    authorize(policy.Action.READ_DISCLOSED, policy.Disclosure(client_id, category), hide=True)
    consent = treatment.active_consent(client_id, me().id, category)
    client = _client(client_id)
    assert consent is not None
    data = disclosure.disclose(client, category)
    audit_access("disclose", category, consent.id, subject_id=client.id)
    return {"client": {"id": client.id, "display_name": client.display_name},
            "category": category, "data": data, "consent_id": consent.id,
            "consent_expires_at": consent.expires_at.isoformat(),
            "notice": consents.REDISCLOSURE_NOTICE}


# --- psychoeducation ----------------------------------------------------------------------


class ModuleSection(BaseModel):
    heading: str
    text: list[str]


class ModuleOut(BaseModel):
    code: str
    title: str
    audience: Literal["client", "family"]
    minutes: int
    sections: list[ModuleSection]
    key_points: list[str]


class ModuleList(BaseModel):
    items: list[ModuleOut]


class AssignBody(Strict):
    client_id: RecordId
    module: str = Field(max_length=40)
    note: str = Field("", max_length=500)


class AssignmentOut(BaseModel):
    id: int
    client_id: int
    module: str
    title: str
    minutes: int | None
    note: str
    assigned_by: str | None
    assigned_at: datetime
    completed_at: datetime | None


class AssignmentPage(BaseModel):
    items: list[AssignmentOut]
    next: str | None


@registry.route(api, "/psychoed/modules", "GET", tag="psychoeducation",
                summary="Education modules (what SUD is, relapse, triggers, groups, families)",
                responses={200: ModuleList})
def list_modules() -> dict[str, Any]:
    return {"items": psychoed.modules()}


@registry.route(api, "/psychoed/modules/<code>", "GET", tag="psychoeducation",
                summary="One education module", responses={200: ModuleOut, 404: Problem})
def get_module(code: str) -> dict[str, Any]:
    found = psychoed.module(code)
    if found is None:
        raise ApiProblem(404, "Not found", "No such module.")
    return found


@registry.route(api, "/psychoed/assignments", "POST", tag="psychoeducation", body=AssignBody,
                summary="Assign a module to a client (their counselor)",
                responses={201: AssignmentOut, 200: AssignmentOut, 404: Problem, 422: Problem})
def assign_module(body: AssignBody) -> tuple[dict[str, Any], int]:
    authorize(policy.Action.ASSIGN_PSYCHOED, body.client_id, hide=True)
    client = _client(body.client_id)
    if psychoed.module(body.module) is None:
        raise ApiProblem(422, "Invalid request", "No such module.",
                         [{"field": "module", "message": "no such module"}])
    made, created = psychoed.assign(me(), client.id, body.module, body.note)
    return psychoed.assignment_json(made), 201 if created else 200


@registry.route(api, "/psychoed/assignments", "GET", tag="psychoeducation",
                query=ClientPageQuery,
                summary="Modules assigned to a client and which are done (staff: ?client_id=)",
                responses={200: AssignmentPage, 403: Problem, 404: Problem})
def list_assignments(query: ClientPageQuery) -> dict[str, Any]:
    client = subject(query.client_id)
    audit_access("read", "psychoed_assignment_list", None, subject_id=client.id)
    return page(psychoed.assignments(client.id), query, psychoed.assignment_json)


@registry.route(api, "/psychoed/assignments/<int:assignment_id>/done", "POST",
                tag="psychoeducation", summary="The client marks a module done",
                responses={200: AssignmentOut, 404: Problem})
def complete_assignment(assignment_id: int) -> dict[str, Any]:
    assignment = client_record(PsychoedAssignment, assignment_id, policy.Action.WRITE_CLIENT_RECORD)
    return psychoed.assignment_json(psychoed.complete(me(), assignment))


# --- the client's own record --------------------------------------------------------------


class ExportQuery(BaseModel):
    format: Literal["json", "html"] = "json"


class AccessEntry(BaseModel):
    at: datetime
    who: str
    role: str
    role_text: str = Field(description='The role in words: "counselor", "family member"')
    summary: str = Field(description='What they did, in words: "looked at your check-ins"')
    action: str
    what: str
    record_id: str | None
    channel: str


class AccessPage(BaseModel):
    items: list[AccessEntry]
    next: str | None


class ExportOut(BaseModel):
    generated_at: datetime
    notice: str = Field(description="The 42 CFR §2.32 redisclosure notice")
    profile: dict[str, Any]
    access_log: list[AccessEntry]
    model_config = ConfigDict(extra="allow")


@registry.route(api, "/me/export", "GET", tag="my record", query=ExportQuery,
                summary="Everything Companion holds about me (JSON, or ?format=html)",
                responses={200: ExportOut, 403: Problem})
def export_record(query: ExportQuery) -> Response:
    authorize(policy.Action.EXPORT_OWN_RECORD, me().id)
    client = me()
    record = export.build(client)
    audit_access("export", "client_record", None, subject_id=client.id)
    stamp = record["generated_at"][:10]
    if query.format == "html":
        response = Response(export.render_html(record), mimetype="text/html")
        name = f"companion-record-{stamp}.html"
    else:
        response = Response(json.dumps(record, indent=1), mimetype="application/json")
        name = f"companion-record-{stamp}.json"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@registry.route(api, "/me/access-log", "GET", tag="my record", query=PageQuery,
                summary="Who else accessed my record, newest first (from the audit log; "
                        "the export holds every row, mine too)",
                responses={200: AccessPage, 403: Problem})
def access_log(query: PageQuery) -> dict[str, Any]:
    authorize(policy.Action.EXPORT_OWN_RECORD, me().id)
    result = page(export.access_log(me().id, others_only=True), query, export.access_json)
    audit_access("read", "access_log", None, subject_id=me().id)
    return result
