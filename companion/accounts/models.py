"""The clinic (the tenant), its people, their login sessions and the invitations that bring them
in; family links and consents (whom a person has let see what)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from companion.core.models import Base, utcnow

if TYPE_CHECKING:
    from companion.clinic.models import Program


class Clinic(Base):
    """The tenant: every account, program and record belongs to one clinic."""

    __tablename__ = "clinic"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))

    programs: Mapped[list[Program]] = relationship(back_populates="clinic")


class Role(enum.StrEnum):
    CLIENT = "client"
    COUNSELOR = "counselor"
    PEER_SUPPORTER = "peer_supporter"
    ADMIN = "admin"
    # A guest a client invited (docs/care-team.md): family routes only, never a chart.
    FAMILY = "family"


ROLE_TYPE = Enum(Role, name="user_role", values_callable=lambda e: [m.value for m in e])


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    # Stored lower-cased: one person, one account.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    # First name or chosen alias: what others see in rooms.
    display_name: Mapped[str] = mapped_column(String(80))
    role: Mapped[Role] = mapped_column(ROLE_TYPE)
    password_hash: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="America/Chicago")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Staff's TOTP second factor (companion/accounts/mfa.py): the base32 secret, encrypted
    # with a key derived from the app's key; None until enrolled (or after an admin's reset).
    totp_secret: Mapped[str | None] = mapped_column(String(255), default=None)
    # The 30-s step of the last code accepted: a code of that step or an earlier one is a replay.
    totp_last_step: Mapped[int | None] = mapped_column(default=None)
    # A client's date of birth, where the program recorded it: payers match claims by it.
    birth_date: Mapped[date | None] = mapped_column(default=None)

    # Flask-Login reads these; the id it keeps in the cookie is the login session's token.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:  # pragma: no cover - Flask-Login uses LoginSession tokens
        raise NotImplementedError("log in through companion.accounts.services")

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.COUNSELOR, Role.PEER_SUPPORTER, Role.ADMIN)


class LoginSession(Base):
    """A server-side login session: logout and timeouts end it here, not only in the cookie."""

    __tablename__ = "login_session"

    # A random token, the only thing the signed cookie carries.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    end_reason: Mapped[str | None] = mapped_column(String(20), default=None)

    user: Mapped[User] = relationship()


class Invitation(Base):
    """An invitation by email; only a hash of its token is stored."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    program_id: Mapped[int | None] = mapped_column(ForeignKey("program.id"), default=None)
    email: Mapped[str] = mapped_column(String(254), index=True)
    role: Mapped[Role] = mapped_column(ROLE_TYPE)
    display_name: Mapped[str] = mapped_column(String(80), default="")
    adolescent: Mapped[bool] = mapped_column(default=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), default=None)
    # "join": a new account; "mfa_reset": an existing staff member (user_id) enrols a new
    # second factor after an admin reset it.
    purpose: Mapped[str] = mapped_column(String(20), default="join", server_default="join")
    # A staff invitee's TOTP secret (encrypted like User.totp_secret), shown on the invitation
    # page until they enrol; cleared then.
    totp_secret: Mapped[str | None] = mapped_column(String(255), default=None)

    def state(self, now: datetime) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "pending"


# Family links and consents
# Family members a client invited, and the client's Part 2 consents to disclose (42 CFR §2.31).
#
# A family member is a guest account (role ``family``) linked to the client who invited them; the
# link alone shows them nothing about the client. Each disclosure needs an active ``Consent``.

# What a client may consent to disclose to a family member in the app.
CONSENT_CATEGORIES = {
    "enrollment": "That I am enrolled in the program, and since when",
    "attendance": "My session attendance (hours per week)",
    "checkins": "Whether I did my daily check-ins (not what I wrote)",
    "rewards": "My reward points and prizes",
    "psychoeducation": "Which education modules I completed",
    # Not information shown in the app, but a disclosure all the same: joining a family session
    # tells this person I am in treatment, and they hear what is said there.
    "family_sessions": "Joining my family sessions (live, with my counselor), where they "
                       "hear what is said",
}
# The category that lets a family member join the client's family sessions (policy.py).
FAMILY_SESSIONS = "family_sessions"


class FamilyLink(Base):
    """A client invited this person (by an invitation of role ``family``)."""

    __tablename__ = "family_link"
    __table_args__ = (UniqueConstraint("invitation_id", name="uq_family_link_invitation"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitation.id"))
    relationship: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)


class Consent(Base):
    """A client's written consent to disclose: every element §2.31 requires."""

    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    # who discloses: the program (its name at signing, as the form showed it)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    discloser: Mapped[str] = mapped_column(String(200))
    # to whom: a name (and, for a family member with an account, that account)
    recipient_name: Mapped[str] = mapped_column(String(200))
    recipient_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"),
                                                          default=None, index=True)
    # what: category codes (CONSENT_CATEGORIES)
    categories: Mapped[list[str]] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(String(500))
    # until when: a date always; an event may end it sooner (the client then revokes)
    expires_at: Mapped[datetime] = mapped_column()
    expiry_event: Mapped[str] = mapped_column(String(300), default="")
    revocation_text: Mapped[str] = mapped_column(Text)
    # signature (the typed full name) and date
    signature: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "active"
