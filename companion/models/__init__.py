"""All models, imported here so Alembic and the app see one metadata."""

from companion.models.alerts import Alert, AlertKind, AlertUrgency
from companion.models.audit import AuditEvent
from companion.models.base import Base, new_id, utcnow
from companion.models.care import ADOLESCENT_WEEKLY_HOURS, ADULT_WEEKLY_HOURS, Enrollment
from companion.models.clinic import Clinic, Phase, Program
from companion.models.consent import CONSENT_CATEGORIES, Consent, FamilyLink
from companion.models.groups import (
    ROOM_OPENS_BEFORE,
    Group,
    GroupMember,
    GroupRole,
    GroupSchedule,
    Session,
    SessionKind,
)
from companion.models.measures import Measure, MeasureSchedule
from companion.models.meetings import (
    Meeting,
    MeetingAttendance,
    MeetingCalendar,
    MeetingFavourite,
    MeetingRecommendation,
    MeetingSource,
)
from companion.models.psychoed import PsychoedAssignment
from companion.models.rewards import RewardEntry, RewardSettings, TestResult
from companion.models.rooms import (
    AttendanceAttestation,
    AttendanceInterval,
    Modality,
    ParticipantState,
    RoomEvent,
    RoomParticipant,
)
from companion.models.selfcare import (
    CheckIn,
    CopingCompletion,
    Craving,
    SafetyPlan,
    SleepQuality,
    UsedAnswer,
)
from companion.models.users import Invitation, LoginSession, Role, User

__all__ = [
    "ADOLESCENT_WEEKLY_HOURS",
    "ADULT_WEEKLY_HOURS",
    "CONSENT_CATEGORIES",
    "Consent",
    "FamilyLink",
    "PsychoedAssignment",
    "RewardEntry",
    "RewardSettings",
    "TestResult",
    "ROOM_OPENS_BEFORE",
    "AttendanceAttestation",
    "AttendanceInterval",
    "Alert",
    "AlertKind",
    "AlertUrgency",
    "AuditEvent",
    "Base",
    "CheckIn",
    "Clinic",
    "CopingCompletion",
    "Craving",
    "Enrollment",
    "Group",
    "GroupMember",
    "GroupRole",
    "GroupSchedule",
    "Invitation",
    "Measure",
    "MeasureSchedule",
    "Meeting",
    "MeetingAttendance",
    "MeetingCalendar",
    "MeetingFavourite",
    "MeetingRecommendation",
    "MeetingSource",
    "Modality",
    "ParticipantState",
    "RoomEvent",
    "RoomParticipant",
    "LoginSession",
    "Phase",
    "Program",
    "Role",
    "SafetyPlan",
    "Session",
    "SessionKind",
    "SleepQuality",
    "UsedAnswer",
    "User",
    "new_id",
    "utcnow",
]
