"""Request and response bodies of the API, shared by the views and the OpenAPI document."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

# Row ids (MAX_ID, RecordId) are checked the same in Socket.IO payloads.
from companion.core.inputs import MAX_ID, RecordId, TimeZoneName  # noqa: F401
from companion.core.problems import pattern_sentence

# Deliverability is the mail server's business; this only catches what is plainly not an address.
# (email-validator would refuse reserved domains such as the demo clinic's .test.)
EMAIL_PATTERN = pattern_sentence(r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                                 "Enter an email address like name@example.com.")
EmailAddress = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254, pattern=EMAIL_PATTERN)
]

# Days and moments a query may name: wide enough for any record, and far enough from year 1
# and 9999 that a week's end or a time zone's offset stays a date (past them, a 500).
EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(2199, 12, 31)
Day = Annotated[date, Field(ge=EARLIEST_DAY, le=LATEST_DAY)]
Timestamp = Annotated[AwareDatetime, Field(ge=datetime(1900, 1, 1, tzinfo=UTC),
                                           le=datetime(2200, 1, 1, tzinfo=UTC))]

# A wall-clock time of day, as a schedule names it.
HHMM = pattern_sentence(r"^([01]\d|2[0-3]):[0-5]\d$",
                        "Enter the time as hours and minutes on a 24-hour clock, like 18:30.")

# Roles an admin invites; family members come in through a client's own invitation instead.
RoleName = Literal["client", "counselor", "peer_supporter", "admin"]
# Every role an account can have.
AccountRole = Literal["client", "counselor", "peer_supporter", "admin", "family"]


class Strict(BaseModel):
    """Bodies refuse unknown fields, so a typo is an error rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


class UserOut(BaseModel):
    id: int
    email: str
    display_name: str
    role: AccountRole


OTP_DESCRIPTION = (
    "Staff (counselor, peer supporter, admin): the 6-digit code their authenticator app shows "
    "now (TOTP, RFC 6238, 30-s steps); each code logs in once. Clients and family leave it out."
)


class LoginBody(Strict):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=1024)
    otp: str | None = Field(
        None, max_length=16,
        description=OTP_DESCRIPTION + " A staff login without it answers 401 with code "
        "otp_required (nobody is logged in); a wrong or used code answers 401 with code "
        "otp_invalid and counts as a failed login; a staff member whose second factor an admin "
        "reset gets 401 with code mfa_enrolment_required.",
    )


class MeOut(UserOut):
    timezone: str
    clinic: str
    idle_timeout_minutes: int
    csrf_token: str


class ProfileBody(Strict):
    display_name: str | None = Field(
        None, min_length=1, max_length=80,
        description="The name others see in rooms: a first name or a chosen alias")
    timezone: TimeZoneName | None = Field(
        None, description="The zone this person's times are shown and entered in, such as "
        "America/Denver; it starts as their program's")


class LoginOut(BaseModel):
    user: UserOut
    csrf_token: str
    me: MeOut = Field(description="The full profile, as GET /api/v1/me answers it")


class InvitationBody(Strict):
    email: EmailAddress
    role: RoleName
    display_name: str = Field("", max_length=80)
    program_id: RecordId | None = None
    adolescent: bool = False


class InvitationOut(BaseModel):
    id: int
    email: str
    role: AccountRole  # a client's family invitations are listed too
    display_name: str
    program_id: int | None
    state: Literal["pending", "accepted", "expired", "revoked"]
    created_at: datetime
    expires_at: datetime
    purpose: Literal["join", "mfa_reset"] = Field(
        "join", description="join: a new account; mfa_reset: a staff member enrols a new "
        "second factor after an admin reset it"
    )


class IssuedInvitationOut(InvitationOut):
    url: str = Field(description="The link to hand to the invitee")
    emailed: bool


class InvitationPage(BaseModel):
    items: list[InvitationOut]
    next: str | None


class TokenBody(Strict):
    token: str = Field(min_length=10, max_length=200)


class MfaEnrolmentOut(BaseModel):
    secret: str = Field(description="The TOTP key (base32) to type into an authenticator app")
    otpauth_uri: str = Field(description="The same as an otpauth:// URI (what the QR code holds)")
    qr_svg: str = Field(description="The URI as a QR code: a standalone SVG document")


class InvitationPreviewOut(BaseModel):
    email: str
    role: AccountRole
    display_name: str
    clinic: str
    invited_by: str | None = Field(
        None, description="Who sent it (for a family member: the client who invited them)")
    purpose: Literal["join", "mfa_reset"] = "join"
    mfa: MfaEnrolmentOut | None = Field(
        None, description="Staff invitations: the second factor to enrol (shown until then)"
    )


class AcceptBody(Strict):
    token: str = Field(min_length=10, max_length=200)
    password: str = Field(
        max_length=1024, description="The new password; for purpose mfa_reset, the current one"
    )
    display_name: str = Field("", max_length=80)
    otp: str | None = Field(
        None, max_length=16,
        description="Staff invitations: a code of the preview's mfa.secret (proves the app "
        "has it; no account is created without it)",
    )


class UserPage(BaseModel):
    items: list[UserOut]
    next: str | None


SessionState = Literal["scheduled", "open", "in_progress", "ended", "cancelled"]


class SessionOut(BaseModel):
    id: int
    kind: Literal["group", "individual"]
    title: str
    starts_at: datetime
    ends_at: datetime
    state: SessionState
    ended_at: datetime | None = Field(
        description="When it ended (staff ended it, or its time ran out); null until then")
    counselor: str = Field(description="The counselor's display name")
    role: Literal["staff", "client", "family"] = Field(
        description="How the caller takes part (family: a family member the client invited)")
    family: bool = Field(description="A family session: family members a client of it invited "
                                     "may join, with that client's consent in force")
    group_id: int | None = Field(description="The group it is an occurrence of; null for a 1:1")
    cancel_reason: str | None = Field(
        description="Why it is cancelled (state cancelled): staff's words, or a closed day")


class SessionPage(BaseModel):
    items: list[SessionOut]
    next: str | None


class CrisisResource(BaseModel):
    name: str
    detail: str
    call: str | None = None
    text: str | None = None
    text_body: str | None = None
    url: str | None = None
    display: str | None = None


class CrisisResources(BaseModel):
    items: list[CrisisResource]


class Health(BaseModel):
    status: Literal["ok", "degraded", "unavailable"] = Field(
        description="unavailable (503): the database cannot be reached; degraded (200): the "
        "message queue cannot, and this process serves its own sockets only")
    database: Literal["ok", "unavailable"]
    message_queue: Literal["ok", "unavailable"] | None = Field(
        None, description="with REDIS_URL set: this process's link to the other web processes")
