"""Family members a client invited, and the client's Part 2 consents to disclose (42 CFR §2.31).

A family member is a guest account (role ``family``) linked to the client who invited them; the
link alone shows them nothing about the client. Each disclosure needs an active ``Consent``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from companion.models.base import Base, utcnow

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
