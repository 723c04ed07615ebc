"""Mutual-support meetings (AA, NA, SMART, Al-Anon...): the sources that feed the directory, the
meetings themselves, and what a client does with them (favourites, attendance, calendar)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import JSON, ForeignKey, Row, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from companion.core.models import Base, utcnow

# Kinds of source (plain strings rather than a database enum: easier to extend).
SOURCE_URL = "url"  # a Meeting Guide JSON feed fetched on a schedule
SOURCE_FILE = "file"  # an uploaded feed file (or a file named on the command line)
SOURCE_MANUAL = "manual"  # meetings an admin typed in, one at a time


class MeetingSource(Base):
    """Where a clinic's directory gets meetings from, and how the last import went."""

    __tablename__ = "meeting_source"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    # The feed's URL, or the file's name (CLI imports: its absolute path).
    location: Mapped[str] = mapped_column(String(2000), default="")
    # Fellowship given to rows that do not name one (AA, NA, SMART Recovery...).
    fellowship: Mapped[str] = mapped_column(String(80), default="")
    # Rows with a missing or invalid `timezone` are read in this zone.
    timezone: Mapped[str] = mapped_column(String(64))
    refresh_hours: Mapped[int] = mapped_column(default=24)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_import_at: Mapped[datetime | None] = mapped_column(default=None)
    last_success_at: Mapped[datetime | None] = mapped_column(default=None)
    next_refresh_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    # "ok" or "error"; None before the first import.
    last_status: Mapped[str | None] = mapped_column(String(10), default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    # {"added", "updated", "removed", "skipped", "skipped_rows": [...], "notes": [...]}
    last_report: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)

    meetings: Mapped[list[Meeting]] = relationship(back_populates="source")


class Meeting(Base):
    """One meeting of a feed (its slug), meeting weekly on one or more days.

    Day and time are wall-clock values in the meeting's own zone, as the feed gives them, so a
    7 pm meeting stays at 7 pm across daylight-saving changes. A meeting whose slug vanished from
    its feed keeps its row with ``removed_at`` set, so favourites can say that it ended.
    """

    __tablename__ = "meeting"
    __table_args__ = (UniqueConstraint("source_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("meeting_source.id"), index=True)
    slug: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    fellowship: Mapped[str] = mapped_column(String(80), default="")
    # Meeting Guide days: 0 = Sunday ... 6 = Saturday.
    days: Mapped[list[int]] = mapped_column(JSON)
    start_time: Mapped[time] = mapped_column()
    end_time: Mapped[time] = mapped_column()
    timezone: Mapped[str] = mapped_column(String(64))
    # place
    formatted_address: Mapped[str | None] = mapped_column(String(500), default=None)
    address: Mapped[str | None] = mapped_column(String(300), default=None)
    city: Mapped[str | None] = mapped_column(String(120), default=None)
    state: Mapped[str | None] = mapped_column(String(120), default=None)
    postal_code: Mapped[str | None] = mapped_column(String(20), default=None)
    country: Mapped[str | None] = mapped_column(String(80), default=None)
    location: Mapped[str | None] = mapped_column(String(300), default=None)
    location_notes: Mapped[str | None] = mapped_column(Text, default=None)
    latitude: Mapped[float | None] = mapped_column(default=None)
    longitude: Mapped[float | None] = mapped_column(default=None)
    approximate: Mapped[bool | None] = mapped_column(default=None)
    region: Mapped[str | None] = mapped_column(String(200), default=None)
    sub_region: Mapped[str | None] = mapped_column(String(200), default=None)
    regions: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    # online
    conference_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    conference_url_notes: Mapped[str | None] = mapped_column(Text, default=None)
    conference_phone: Mapped[str | None] = mapped_column(String(120), default=None)
    conference_phone_notes: Mapped[str | None] = mapped_column(Text, default=None)
    # other
    types: Mapped[list[str]] = mapped_column(JSON, default=list)
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    group: Mapped[str | None] = mapped_column(String(255), default=None)
    updated: Mapped[str | None] = mapped_column(String(40), default=None)
    url: Mapped[str | None] = mapped_column(String(2000), default=None)
    entity: Mapped[dict[str, str] | None] = mapped_column(JSON, default=None)
    # A hash of everything above, so re-importing an unchanged row writes nothing.
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(default=None)

    source: Mapped[MeetingSource] = relationship(back_populates="meetings")


# A whole record, or the row of columns a directory search reads (the same names): the schedule
# and place rules take either.
MeetingLike = Meeting | Row[Any]


class MeetingFavourite(Base):
    """A meeting a client saved."""

    __tablename__ = "meeting_favourite"
    __table_args__ = (UniqueConstraint("client_id", "meeting_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    meeting: Mapped[Meeting] = relationship()


class MeetingRecommendation(Base):
    """A counselor suggesting a meeting to a client."""

    __tablename__ = "meeting_recommendation"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    counselor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    meeting: Mapped[Meeting] = relationship()


class MeetingAttendance(Base):
    """A client saying they went to a meeting (self-reported; never counted as IOP hours)."""

    __tablename__ = "meeting_attendance"
    __table_args__ = (UniqueConstraint("client_id", "meeting_id", "attended_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    attended_on: Mapped[date] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    meeting: Mapped[Meeting] = relationship()


class MeetingCalendar(Base):
    """A client's private calendar feed of their saved meetings; only the token's hash is kept."""

    __tablename__ = "meeting_calendar"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
