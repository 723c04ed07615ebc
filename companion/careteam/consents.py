"""Family members and Part 2 consents (42 CFR §2.31, §2.32).

A client invites a family member: an invitation of role ``family`` and a ``FamilyLink`` naming
the client. The family member's account shows them education content and, for each category of
information the client consented to disclose to them, that information: nothing else, and
nothing at all while no consent is active (none, expired or revoked). A revocation takes effect
on the next request: every disclosure asks ``active_consent`` at that moment.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from companion.accounts import services as accounts
from companion.accounts.models import (
    CONSENT_CATEGORIES,
    Consent,
    FamilyLink,
    Invitation,
    Role,
    User,
)
from companion.clinic import treatment
from companion.core import audit, clock, signals
from companion.core.errors import ServiceError
from companion.core.extensions import db

# §2.32 (as revised in 2024): the notice that accompanies every disclosure and export.
REDISCLOSURE_NOTICE = (
    "This record which has been disclosed to you is protected by Federal confidentiality rules "
    "(42 CFR part 2). These rules prohibit you from using or disclosing this record, or "
    "testimony that describes the information contained in this record, in any civil, "
    "criminal, administrative, or legislative proceedings by any Federal, State, or local "
    "authority, against the patient, unless authorized by the consent of the patient, except "
    "as provided at 42 CFR 2.12(c)(5) or as authorized by a court in accordance with 42 CFR "
    "2.64 or 2.65. In addition, the Federal rules prohibit you from making any other use or "
    "disclosure of this record unless at least one of the following applies: further use or "
    "disclosure is expressly permitted by the written consent of the individual whose "
    "information is being disclosed in this record or as otherwise permitted by 42 CFR part "
    "2; you are a covered entity or business associate and have received the record for "
    "treatment, payment, or health care operations; or you have received the record from a "
    "covered entity or business associate as permitted by 45 CFR part 164, subparts A and E. "
    "A general authorization for the release of medical or other information is NOT "
    "sufficient to meet the required elements of written consent to further use or redisclose "
    "the record (see 42 CFR 2.31)."
)

REVOCATION_TEXT = (
    "You may revoke this consent at any time, except to the extent that the program has "
    "already acted on it: in the Companion app (Consents, Revoke), or by telling or writing to "
    "the program. Revocation takes effect at once."
)


class ConsentError(ServiceError):
    """Refused by this domain (companion.core.errors.ServiceError)."""


# --- family members -----------------------------------------------------------------------


def invite_family(client: User, email: str, display_name: str, relationship: str,
                  base_url: str) -> tuple[FamilyLink, accounts.IssuedInvitation]:
    issued = accounts.invite(client, email, Role.FAMILY, base_url, display_name=display_name)
    link = FamilyLink(client_id=client.id, invitation_id=issued.invitation.id,
                      relationship=relationship.strip(), created_at=clock.now())
    db.session.add(link)
    db.session.flush()
    audit.record(client, "create", "family_link", link.id, subject_id=client.id)
    db.session.commit()
    return link, issued


def end_family_link(client: User, link: FamilyLink) -> FamilyLink:
    """The client ends a family link: the person keeps their account but no longer joins the
    client's family sessions, nor sees anything the link let them see."""
    if link.ended_at is None:
        link.ended_at = clock.now()
        audit.record(client, "end", "family_link", link.id, subject_id=client.id)
        db.session.commit()
    guest_id = linked_user_id(link)
    if guest_id is not None:
        signals.room_access_changed.send(guest_id)
    return link


def linked_user_id(link: FamilyLink) -> int | None:
    """The family member's account behind a link (None until they accepted)."""
    invitation = db.session.get(Invitation, link.invitation_id)
    return invitation.user_id if invitation is not None else None


def family_of(client_id: int) -> list[tuple[FamilyLink, Invitation]]:
    rows = db.session.execute(
        select(FamilyLink, Invitation).join(Invitation, Invitation.id == FamilyLink.invitation_id)
        .where(FamilyLink.client_id == client_id).order_by(FamilyLink.id)).all()
    return [(link, inv) for link, inv in rows]


def link_json(link: FamilyLink, invitation: Invitation) -> dict[str, Any]:
    user = db.session.get(User, invitation.user_id) if invitation.user_id else None
    return {
        "id": link.id,
        "display_name": user.display_name if user else invitation.display_name,
        "email": invitation.email,
        "relationship": link.relationship,
        "state": "ended" if link.ended_at else invitation.state(clock.now()),
        "user_id": user.id if user else None,
        "created_at": link.created_at.isoformat(),
    }


# --- consents -----------------------------------------------------------------------------


def create_consent(client: User, body: Any) -> Consent:
    now = clock.now()
    program = treatment.client_program(client.id)
    if program is None:
        raise ConsentError(409, "client", "You are not enrolled in a program.")
    unknown = [c for c in body.categories if c not in CONSENT_CATEGORIES]
    if unknown:
        raise ConsentError(422, "categories", f"Unknown category: {unknown[0]}.")
    if body.expires_at <= now:
        raise ConsentError(422, "expires_at", "The expiry must be in the future.")
    recipient_user_id = None
    recipient_name = body.recipient_name.strip()
    if body.family_link_id is not None:
        link = db.session.get(FamilyLink, body.family_link_id)
        if link is None or link.client_id != client.id or link.ended_at is not None:
            raise ConsentError(422, "family_link_id", "Not one of your family members.")
        invitation = db.session.get(Invitation, link.invitation_id)
        assert invitation is not None
        recipient_user_id = invitation.user_id
        if recipient_user_id is None:
            raise ConsentError(422, "family_link_id",
                               "They have not accepted the invitation yet.")
        if not recipient_name:
            user = db.session.get(User, recipient_user_id)
            recipient_name = user.display_name if user else invitation.email
    if not recipient_name:
        raise ConsentError(422, "recipient_name", "Say to whom the information goes.")
    consent = Consent(
        client_id=client.id, program_id=program.id, discloser=program.name,
        recipient_name=recipient_name, recipient_user_id=recipient_user_id,
        categories=sorted(set(body.categories)), purpose=body.purpose.strip(),
        expires_at=body.expires_at, expiry_event=body.expiry_event.strip(),
        revocation_text=REVOCATION_TEXT, signature=body.signature.strip(), signed_at=now,
        created_at=now,
    )
    db.session.add(consent)
    db.session.flush()
    audit.record(client, "create", "consent", consent.id, subject_id=client.id)
    db.session.commit()
    return consent


def revoke(client: User, consent: Consent) -> Consent:
    if consent.revoked_at is None:
        consent.revoked_at = clock.now()
        audit.record(client, "revoke", "consent", consent.id, subject_id=client.id)
        db.session.commit()
    if consent.recipient_user_id is not None:
        # A family member in a family session on this consent leaves the room now.
        signals.room_access_changed.send(consent.recipient_user_id)
    return consent


def consent_json(c: Consent) -> dict[str, Any]:
    return {
        "id": c.id, "client_id": c.client_id, "discloser": c.discloser,
        "recipient_name": c.recipient_name, "recipient_user_id": c.recipient_user_id,
        "categories": list(c.categories), "purpose": c.purpose,
        "expires_at": c.expires_at.isoformat(), "expiry_event": c.expiry_event,
        "revocation": c.revocation_text, "signature": c.signature,
        "signed_at": c.signed_at.isoformat(),
        "revoked_at": c.revoked_at.isoformat() if c.revoked_at else None,
        "state": c.state(clock.now()),
    }
