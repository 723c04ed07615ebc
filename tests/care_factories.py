"""Records of the care-team features (rewards, consents, psychoeducation) for tests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from companion import clock
from companion.extensions import db
from companion.models import Consent, Enrollment, PsychoedAssignment, User
from companion.services.consents import REVOCATION_TEXT


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


def matrix_care(made: dict[str, User], others: dict[str, User]) -> tuple[dict[str, Any],
                                                                         dict[str, Any]]:
    """Path values for the authorisation matrix: the first client's records, and the other's."""

    def of(people: dict[str, User]) -> dict[str, Any]:
        client = people["client"]
        enrollment = db.session.query(Enrollment).filter_by(client_id=client.id).one()
        return {"program": enrollment.program_id, "consent": consent(client).id,
                "assignment": assignment(client, people["counselor"]).id}

    return of(made), of(others)
