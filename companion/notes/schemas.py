"""Bodies and answers of the notes and billing API (docs/notes.md)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints

from companion.core.pagination import PageQuery
from companion.core.problems import pattern_sentence
from companion.core.schemas import Day, RecordId, Strict, Timestamp

FormatWord = Literal["dap", "birp", "soap"]
AttendanceWord = Literal["present", "late", "left_early", "absent"]
ModalityWord = Literal["video", "audio_only", "phone", "in_person"]
LocationWord = Literal["home", "other"]
AudioOnlyReasonWord = Literal["no_video_capability", "declined_video"]

# A part of a note (data, assessment...): room for a long session's narrative.
MAX_PART_CHARS = 20_000
PartName = Annotated[str, StringConstraints(max_length=40)]
PartText = Annotated[str, StringConstraints(max_length=MAX_PART_CHARS)]
PARTS_DESCRIPTION = ("The format's parts as an object: dap data, assessment, plan; birp "
                     "behavior, intervention, response, plan; soap subjective, objective, "
                     "assessment, plan. A draft may leave parts out; signing needs them all.")
# A session's clients: a group rarely has more than 15.
MAX_PARTICIPANTS = 60

MODIFIER_PATTERN = pattern_sentence(
    r"^[A-Z0-9]{0,2}$", "A modifier is two capital letters or digits (95, 93, GT), or empty.")
SERVICE_CODE_PATTERN = pattern_sentence(
    r"^[A-Z0-9]{5}$", "A service code is five capital letters or digits, such as H0015.")


class ParticipantBody(Strict):
    client_id: RecordId
    attendance: AttendanceWord
    minutes: int = Field(ge=0, le=1440, description="Minutes of direct service; 0 when absent; "
                         "at most the session's length")
    modality: ModalityWord | None = Field(
        None, description="How the client took part; needed to sign unless absent")
    sections: dict[PartName, PartText] = Field(default_factory=dict, max_length=8,
                                               description=PARTS_DESCRIPTION)
    location: LocationWord | None = Field(
        None, description="Telehealth: where the client was (needed to sign)")
    identity_checked: str | None = Field(
        None, max_length=200,
        description="Telehealth: how the client's identity was confirmed (needed to sign)")
    audio_only_reason: AudioOnlyReasonWord | None = Field(
        None, description="audio_only or phone: why not video (needed to sign)")
    started_at: Timestamp | None = Field(None, description="When the client joined")
    ended_at: Timestamp | None = Field(None, description="When the client left")


class NoteBody(Strict):
    id: UUID = Field(description="Made by the device: a retry with the same id and body "
                                 "stores once and answers the same")
    format: FormatWord = Field(description="The program's format (GET .../notes/prefill)")
    shared: dict[PartName, PartText] | None = Field(
        None, max_length=8, description="Group sessions: the part every participant's chart "
        "receives (it must not name other clients). " + PARTS_DESCRIPTION)
    participants: list[ParticipantBody] = Field(min_length=1, max_length=MAX_PARTICIPANTS)


class NotePatch(Strict):
    """A draft's fields to replace; those left out stay as they are."""

    format: FormatWord | None = None
    shared: dict[PartName, PartText] | None = Field(None, max_length=8,
                                                    description=PARTS_DESCRIPTION)
    participants: list[ParticipantBody] | None = Field(None, min_length=1,
                                                       max_length=MAX_PARTICIPANTS)


class AddendumBody(Strict):
    id: UUID = Field(description="Made by the device: a retry stores once")
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                           max_length=MAX_PART_CHARS)]


class Person(BaseModel):
    id: int
    display_name: str


class NoteSession(BaseModel):
    id: int
    program_id: int
    kind: Literal["group", "individual"]
    title: str
    starts_at: datetime
    ends_at: datetime
    ended: bool


class ParticipantOut(BaseModel):
    client: Person
    attendance: AttendanceWord
    minutes: int
    modality: ModalityWord | None
    location: LocationWord | None
    identity_checked: str | None
    audio_only_reason: AudioOnlyReasonWord | None
    started_at: datetime | None
    ended_at: datetime | None
    sections: dict[str, str]


class AddendumOut(BaseModel):
    id: str
    author: Person
    text: str
    created_at: datetime
    late_entry: bool = Field(True, description="An addendum is always a late entry, dated")


class NoteWarning(BaseModel):
    field: str
    message: str


class NoteOut(BaseModel):
    id: str
    session: NoteSession
    format: FormatWord
    parts: list[str] = Field(description="The format's parts, in order")
    status: Literal["draft", "signed"]
    author: Person
    shared: dict[str, str] | None
    participants: list[ParticipantOut]
    signed_by: Person | None
    signed_at: datetime | None
    late_entry: bool = Field(description="Signed more than 72 hours after the session ended")
    addenda: list[AddendumOut]
    warnings: list[NoteWarning] = Field(
        description="Shown to the counselor: a part that names another client of the session")
    created_at: datetime
    updated_at: datetime


class NoteList(BaseModel):
    items: list[NoteOut] = Field(description="The session's note, or none yet")


class PrefillParticipant(BaseModel):
    client: Person
    attendance: AttendanceWord
    minutes: int
    modality: ModalityWord | None = Field(description="null: not seen, or chat only (not a "
                                                      "billable modality): the counselor says")
    seen_modality: Literal["video", "audio_only", "chat_only", "phone"] | None = Field(
        description="How the room carried them most of the time; null: not seen")
    started_at: datetime | None
    ended_at: datetime | None
    audio_only_reason: AudioOnlyReasonWord | None = Field(
        description="Proposed for the counselor to confirm: no_video_capability for a caller "
        "by phone; null otherwise")


class NotePrefill(BaseModel):
    session: NoteSession
    format: FormatWord = Field(description="The program's note format")
    parts: list[str]
    shared_part: bool = Field(description="A group note has a shared part; a 1:1 has not")
    note_id: str | None = Field(description="The session's note, when one was started")
    participants: list[PrefillParticipant]


class ChartEntry(BaseModel):
    """A note as it goes into one client's chart: the shared part and theirs, not others'."""

    note_id: str
    session: NoteSession
    format: FormatWord
    parts: list[str]
    status: Literal["draft", "signed"]
    shared: dict[str, str] | None
    participant: ParticipantOut
    signed_by: Person | None
    signed_at: datetime | None
    late_entry: bool
    addenda: list[AddendumOut]
    facilitator: bool = Field(description="The caller facilitates the session: may open the "
                                          "whole note")


class ChartPage(BaseModel):
    items: list[ChartEntry]
    next: str | None


class ClientNotesQuery(PageQuery):
    signed_only: bool = Field(False, description="Leave drafts out")


class BillingQuery(BaseModel):
    program_id: RecordId
    from_: Day = Field(alias="from", description="First day of service (program's time zone)")
    to: Day = Field(description="Last day of service, inclusive (at most 366 days in all)")


class BilledClient(BaseModel):
    id: int
    display_name: str
    birth_date: date | None


class BillingDay(BaseModel):
    date: date
    client: BilledClient
    service_code: str
    minutes: int
    modality: ModalityWord
    place_of_service: Literal["02", "10", "11"]
    modifier: str
    signed_by: list[str]
    note_ids: list[str]


class NotBilledDay(BaseModel):
    date: date
    client: BilledClient
    minutes: int = Field(description="Minutes of signed notes that day")
    reason: Literal["short_day", "note_not_signed"]
    detail: str
    note_ids: list[str]


class BillingDays(BaseModel):
    program_id: int
    from_: date = Field(alias="from")
    to: date
    service_code: str
    minimum_minutes: int
    billable: list[BillingDay]
    not_billed: list[NotBilledDay] = Field(description="Days listed apart, not billed")


Modifier = Annotated[str, StringConstraints(pattern=MODIFIER_PATTERN)]


class Modifiers(Strict):
    """The claim modifier per modality (payers differ: GT, FQ...); empty for none."""

    video: Modifier = "95"
    audio_only: Modifier = "93"
    phone: Modifier = "93"
    in_person: Modifier = ""


class PayerSettings(Strict):
    service_code: Annotated[str, StringConstraints(pattern=SERVICE_CODE_PATTERN)] = "H0015"
    minimum_minutes: int = Field(180, ge=1, le=1440,
                                 description="A day under this is listed apart, not billed")
    modifiers: Modifiers = Field(default_factory=Modifiers)


class NoteSettings(BaseModel):
    program_id: int
    note_format: FormatWord
    payer: PayerSettings


class NoteSettingsBody(Strict):
    note_format: FormatWord | None = None
    payer: PayerSettings | None = Field(None, description="Replaces the payer settings whole")
