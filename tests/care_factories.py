"""Records of the care-team features (rewards, consents, psychoeducation) for tests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

from companion.accounts.models import Consent, FamilyLink, Invitation, Role, User
from companion.careteam.consents import REVOCATION_TEXT
from companion.careteam.models import PsychoedAssignment
from companion.clinic.models import Enrollment
from companion.core import clock
from companion.core.extensions import db


def consent(client: User, recipient: User | None = None, categories: list[str] | None = None,
            days: int = 30, **kw: Any) -> Consent:
    enrollment = db.session.query(Enrollment).filter_by(client_id=client.id).first()
    assert enrollment is not None
    made = Consent(
        client_id=client.id, program_id=enrollment.program_id, discloser="Test IOP",
        recipient_name=recipient.display_name if recipient else "Dr. Outside",
        recipient_user_id=recipient.id if recipient else None,
        categories=categories or ["enrollment"], purpose="To support my recovery",
        expires_at=clock.now() + timedelta(days=days), revocation_text=REVOCATION_TEXT,
        signature="Casey Client", signed_at=clock.now(), **kw,
    )
    db.session.add(made)
    db.session.commit()
    return made


def assignment(client: User, counselor: User, module: str = "what_is_sud") -> PsychoedAssignment:
    made = PsychoedAssignment(client_id=client.id, module=module, assigned_by_id=counselor.id,
                              assigned_at=clock.now())
    db.session.add(made)
    db.session.commit()
    return made


def family_link(client: User, guest: User | None = None, relationship: str = "sister"
                ) -> FamilyLink:
    """A family link of this client (an accepted invitation when ``guest`` is given)."""
    now = clock.now()
    invitation = Invitation(
        clinic_id=client.clinic_id, email=guest.email if guest else f"{uuid4().hex[:8]}@ex.test",
        role=Role.FAMILY, display_name=guest.display_name if guest else "Kin",
        token_hash=uuid4().hex + uuid4().hex, invited_by_id=client.id, created_at=now,
        expires_at=now + timedelta(days=7), accepted_at=now if guest else None,
        user_id=guest.id if guest else None)
    db.session.add(invitation)
    db.session.flush()
    link = FamilyLink(client_id=client.id, invitation_id=invitation.id,
                      relationship=relationship, created_at=now)
    db.session.add(link)
    db.session.commit()
    return link


def matrix_care(made: dict[str, User], others: dict[str, User]) -> tuple[dict[str, Any],
                                                                         dict[str, Any]]:
    """Path values for the authorisation matrix: the first client's records, and the other's."""

    def of(people: dict[str, User]) -> dict[str, Any]:
        client = people["client"]
        enrollment = db.session.query(Enrollment).filter_by(client_id=client.id).one()
        return {"program": enrollment.program_id, "consent": consent(client).id,
                "assignment": assignment(client, people["counselor"]).id,
                "family_link": family_link(client).id}

    return of(made), of(others)
