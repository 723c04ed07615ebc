"""The demo clinic: accounts for each role, a group in session and an open 1:1.

Only ever in a database someone asked to seed; production refuses (see cli.seed_demo).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select

from companion.accounts import mfa
from companion.accounts import services as accounts
from companion.accounts.models import Clinic, Role, User
from companion.clinic import occurrences
from companion.clinic.models import (
    ADULT_WEEKLY_HOURS,
    Enrollment,
    Group,
    GroupKind,
    GroupMember,
    GroupRole,
    GroupSchedule,
    Phase,
    Program,
    Session,
    SessionKind,
)
from companion.core import clock
from companion.core.extensions import db

DEMO_PASSWORD = "recovery-demo"
# The demo staff's second factor (TOTP), published in README: `companion demo-code EMAIL`
# prints the current code, or an authenticator app takes this key. Demo databases only.
DEMO_TOTP_SECRET = "DEMOCOMPANIONTOTPSECRETFORSTAFF2"
DEMO_CLIENT_NAMES = ["Alex", "Sam", "Jordan", "Riley", "Casey", "Morgan"]
DEMO_ACCOUNTS = [
    ("admin@demo.test", "Dana (admin)", Role.ADMIN),
    ("counselor@demo.test", "Chris", Role.COUNSELOR),
    ("peer@demo.test", "Pat", Role.PEER_SUPPORTER),
] + [
    (f"client{i}@demo.test", name, Role.CLIENT) for i, name in enumerate(DEMO_CLIENT_NAMES, 1)
]

# A family member Casey (client5) invited, with Casey's Part 2 consent to join family sessions
# (docs/care-team.md): a guest account, no chart, no room but Casey's family sessions.
DEMO_FAMILY = ("family@demo.test", "Jamie", "client5@demo.test")
DEMO_ACCOUNTS.append((DEMO_FAMILY[0], DEMO_FAMILY[1], Role.FAMILY))


def is_seeded() -> bool:
    """Whether the database holds any clinic (the demo is never added beside real data)."""
    return db.session.scalar(select(Clinic.id).limit(1)) is not None


def has_demo() -> bool:
    """Whether the demo clinic is here (so its logins are worth printing)."""
    return db.session.scalar(select(User.id).where(User.email == "admin@demo.test")) is not None


def seed() -> None:
    """Create the demo clinic. The group session starts now and runs two hours."""
    now = clock.now().replace(second=0, microsecond=0)
    clinic = Clinic(name="Demo Recovery Clinic")
    program = Program(clinic=clinic, name="Adult IOP", timezone="America/Chicago")
    for position, (name, description) in enumerate(
        [
            ("Early recovery", "Weeks 1-4: early-recovery skills, more groups a week"),
            ("Relapse prevention", "Weeks 5-12: relapse-prevention groups"),
            ("Continuing care", "After step-down: one weekly group"),
        ]
    ):
        program.phases.append(Phase(name=name, position=position, description=description))
    db.session.add_all([clinic, program])
    db.session.flush()

    password_hash = accounts.hash_password(DEMO_PASSWORD)
    users: dict[str, User] = {}
    for email, name, role in DEMO_ACCOUNTS:
        user = User(
            clinic_id=clinic.id, email=email, display_name=name, role=role,
            password_hash=password_hash, timezone=program.timezone,
            totp_secret=mfa.seal(DEMO_TOTP_SECRET) if mfa.required_for(role) else None,
        )
        db.session.add(user)
        users[email] = user
    db.session.flush()
    counselor, peer = users["counselor@demo.test"], users["peer@demo.test"]
    clients = [u for u in users.values() if u.role == Role.CLIENT]
    for client in clients:
        db.session.add(
            Enrollment(
                client_id=client.id, program_id=program.id, phase_id=program.phases[0].id,
                primary_counselor_id=counselor.id, start_date=now.date() - timedelta(days=10),
                weekly_hours_target=ADULT_WEEKLY_HOURS,
            )
        )

    # Its weekly occurrences start tomorrow: today has the session below, open now.
    group = Group(program=program, name="Relapse Prevention Group", counselor_id=counselor.id,
                  kind=GroupKind.RELAPSE_PREVENTION, starts_on=now.date() + timedelta(days=1))
    group.members.extend(GroupMember(user_id=c.id, role=GroupRole.CLIENT) for c in clients)
    group.members.append(GroupMember(user_id=peer.id, role=GroupRole.PEER_SUPPORTER))
    # Monday, Wednesday and Thursday evenings, 6-9 pm in the program's zone: 9 hours a week.
    group.schedule.extend(
        GroupSchedule(weekday=day, start_time=time(18, 0), duration_minutes=180)
        for day in (0, 2, 3)
    )
    db.session.add(group)
    db.session.flush()
    # The session a newcomer can walk into right away.
    db.session.add(
        Session(
            program_id=program.id, kind=SessionKind.GROUP, group_id=group.id,
            counselor_id=counselor.id, title=group.name, starts_at=now,
            ends_at=now + timedelta(hours=2),
        )
    )
    db.session.add(
        Session(
            program_id=program.id, kind=SessionKind.INDIVIDUAL, counselor_id=counselor.id,
            client_id=users["client1@demo.test"].id, title="Individual session",
            starts_at=now, ends_at=now + timedelta(hours=1),
        )
    )
    db.session.flush()
    db.session.refresh(group)
    occurrences.generate(group, now)
    _seed_family(users, program, now)
    from companion import demo_selfcare

    demo_selfcare.seed(clients, counselor, now)  # two weeks of check-ins, cravings, exercises
    db.session.commit()
    _seed_meetings(clinic.id)


def _seed_family(users: dict[str, User], program: Program, now: datetime) -> None:
    """Jamie, invited by Casey (an accepted invitation and its family link), and Casey's
    consent: enrollment and family sessions, for 90 days."""
    import hashlib
    import secrets

    from companion.accounts.models import Consent, FamilyLink, Invitation
    from companion.careteam.consents import REVOCATION_TEXT

    email, name, client_email = DEMO_FAMILY
    guest, client = users[email], users[client_email]
    invitation = Invitation(
        clinic_id=client.clinic_id, email=email, role=Role.FAMILY, display_name=name,
        token_hash=hashlib.sha256(secrets.token_bytes(32)).hexdigest(), invited_by_id=client.id,
        created_at=now, expires_at=now + timedelta(days=7), accepted_at=now, user_id=guest.id,
    )
    db.session.add(invitation)
    db.session.flush()
    db.session.add(FamilyLink(client_id=client.id, invitation_id=invitation.id,
                              relationship="brother", created_at=now))
    db.session.add(Consent(
        client_id=client.id, program_id=program.id, discloser=program.name,
        recipient_name=name, recipient_user_id=guest.id,
        categories=["enrollment", "family_sessions"],
        purpose="So my brother can support my recovery and join our family sessions",
        expires_at=now + timedelta(days=90), revocation_text=REVOCATION_TEXT,
        signature=f"{client.display_name} Demo", signed_at=now, created_at=now,
    ))


def _seed_meetings(clinic_id: int) -> None:
    """A small multi-fellowship Meeting Guide feed, so the meeting directory is not empty."""
    from pathlib import Path

    from companion.meetings import sources as meetings

    feed = Path(__file__).resolve().parent / "content" / "demo-meetings.json"
    source = meetings.create_source(
        None, clinic_id, name="Demo meeting feed", kind="file", location=feed.name,
    )
    meetings.refresh_source(source, None, raw=feed.read_bytes())


def logins_text(url: str) -> str:
    lines = [f"Companion is running at {url}", "Demo logins (password: recovery-demo):"]
    width = max(len(email) for email, _, _ in DEMO_ACCOUNTS)
    for email, name, role in DEMO_ACCOUNTS:
        lines.append(f"  {email.ljust(width)}  {role.value:<15} {name}")
    lines += [
        "Staff logins also ask for a 6-digit code: `.venv/bin/companion demo-code EMAIL` prints",
        f"it, or add the key {DEMO_TOTP_SECRET} to an authenticator app.",
    ]
    return "\n".join(lines)


def current_code(email: str) -> tuple[str, int, str]:
    """A demo staff account's code now, its seconds left, and the next one."""
    from companion.accounts.models import User
    from companion.core import clock

    email = accounts.normalise_email(email)
    if email not in {e for e, _, role in DEMO_ACCOUNTS if mfa.required_for(role)}:
        raise ValueError(f"{email} is not a demo staff account")
    user = db.session.scalar(select(User).where(User.email == email))
    secret = mfa.unseal(user.totp_secret) if user else None
    if secret is None:
        raise ValueError(f"{email} has no second factor here (not seeded, or reset)")
    now = clock.now()
    step = mfa.step_at(now)
    left = mfa.STEP_SECONDS - int(now.timestamp()) % mfa.STEP_SECONDS
    return mfa.code_for(secret, step), left, mfa.code_for(secret, step + 1)
