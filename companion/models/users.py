"""People, their login sessions and the invitations that bring them in."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from companion.models.base import Base, utcnow


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
    # Staff's TOTP second factor (companion/services/mfa.py): the base32 secret, encrypted
    # with a key derived from the app's key; None until enrolled (or after an admin's reset).
    totp_secret: Mapped[str | None] = mapped_column(String(255), default=None)
    # The 30-s step of the last code accepted: a code of that step or an earlier one is a replay.
    totp_last_step: Mapped[int | None] = mapped_column(default=None)

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
        raise NotImplementedError("log in through companion.services.accounts")

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
