"""All models, imported here so Alembic and the app see one metadata."""

from companion.models.audit import AuditEvent
from companion.models.base import Base, new_id, utcnow
from companion.models.care import ADOLESCENT_WEEKLY_HOURS, ADULT_WEEKLY_HOURS, Enrollment
from companion.models.clinic import Clinic, Phase, Program
from companion.models.groups import (
    ROOM_OPENS_BEFORE,
    Group,
    GroupMember,
    GroupRole,
    GroupSchedule,
    Session,
    SessionKind,
)
from companion.models.rooms import (
    AttendanceAttestation,
    AttendanceInterval,
    Modality,
    ParticipantState,
    RoomEvent,
    RoomParticipant,
)
from companion.models.users import Invitation, LoginSession, Role, User

__all__ = [
    "ADOLESCENT_WEEKLY_HOURS",
    "ADULT_WEEKLY_HOURS",
    "ROOM_OPENS_BEFORE",
    "AttendanceAttestation",
    "AttendanceInterval",
    "AuditEvent",
    "Base",
    "Clinic",
    "Enrollment",
    "Group",
    "GroupMember",
    "GroupRole",
    "GroupSchedule",
    "Invitation",
    "Modality",
    "ParticipantState",
    "RoomEvent",
    "RoomParticipant",
    "LoginSession",
    "Phase",
    "Program",
    "Role",
    "Session",
    "SessionKind",
    "User",
    "new_id",
    "utcnow",
]
