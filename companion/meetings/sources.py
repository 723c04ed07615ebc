"""A clinic's meeting sources and their imports: adding a feed URL or an uploaded file, importing
it (added, updated, removed, skipped rows), meetings an admin types in by hand, and the schedule
that refreshes URL sources when due.

Kept apart from the directory's search because it is the one place that writes meetings, and the
one that downloads: its transaction rules (no transaction open while a feed downloads or parses)
concern nothing else in the package.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update

from companion.accounts.models import User
from companion.clinic.models import Program
from companion.core import audit, clock
from companion.core.errors import ServiceError
from companion.core.extensions import db
from companion.meetings.feeds import FeedError, FetchFailed, ParsedFeed, fetch_feed, parse_feed
from companion.meetings.models import SOURCE_MANUAL, SOURCE_URL, Meeting, MeetingSource

log = logging.getLogger(__name__)

# A failed refresh is tried again this soon rather than a whole refresh period later.
RETRY_AFTER_FAILURE = timedelta(hours=1)


class SourceError(ServiceError):
    """Refused by this domain (companion.core.errors.ServiceError)."""


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    skipped: int = 0
    skipped_rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def summary(self) -> str:
        return (f"added {self.added}, updated {self.updated}, removed {self.removed}, "
                f"skipped {self.skipped}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "added": self.added, "updated": self.updated, "removed": self.removed,
            "skipped": self.skipped, "skipped_rows": self.skipped_rows, "notes": self.notes,
            "error": self.error,
        }


def clinic_timezone(clinic_id: int) -> str:
    """The clinic's program time zone: what rows without a usable zone are read in."""
    zone = db.session.scalar(
        select(Program.timezone).where(Program.clinic_id == clinic_id).order_by(Program.id)
    )
    return zone or "America/Chicago"


def create_source(
    actor: User | None,
    clinic_id: int,
    *,
    name: str,
    kind: str,
    location: str = "",
    fellowship: str = "",
    timezone: str | None = None,
    refresh_hours: int = 24,
) -> MeetingSource:
    """Add a source (not yet imported)."""
    source = MeetingSource(
        clinic_id=clinic_id, name=name, kind=kind, location=location, fellowship=fellowship,
        timezone=timezone or clinic_timezone(clinic_id), refresh_hours=refresh_hours,
        created_at=clock.now(),
    )
    db.session.add(source)
    db.session.flush()
    audit.record(actor, "create", "meeting_source", source.id)
    # Committed now, so no transaction (on SQLite: no write lock) is held while a feed downloads.
    db.session.commit()
    return source


def find_source(clinic_id: int, kind: str, location: str) -> MeetingSource | None:
    return db.session.scalar(
        select(MeetingSource).where(
            MeetingSource.clinic_id == clinic_id, MeetingSource.kind == kind,
            MeetingSource.location == location,
        )
    )


def clinic_sources(clinic_id: int) -> list[MeetingSource]:
    """The clinic's sources, oldest first (the admin's list)."""
    return list(db.session.scalars(select(MeetingSource).where(
        MeetingSource.clinic_id == clinic_id).order_by(MeetingSource.id)))


def clinic_source(clinic_id: int, source_id: int) -> MeetingSource | None:
    """One of the clinic's sources (None if there is none such, or it is another clinic's)."""
    source = db.session.get(MeetingSource, source_id)
    if source is None or source.clinic_id != clinic_id:
        return None
    return source


def listed_count(source: MeetingSource) -> int:
    """How many of the source's meetings the directory lists now (removed ones not counted)."""
    return db.session.scalar(select(func.count(Meeting.id)).where(
        Meeting.source_id == source.id, Meeting.removed_at.is_(None))) or 0


def refresh_source(
    source: MeetingSource,
    actor: User | None = None,
    *,
    raw: bytes | str | None = None,
) -> ImportReport:
    """Import the source's feed (fetched for a URL source, ``raw`` for a file) and commit.

    The download and the parsing run with no transaction open and no connection checked out:
    on SQLite a transaction holds the database's write lock, and under gevent the pool has one
    connection for the whole process, so a slow feed must delay nothing but its own import. A
    feed that cannot be used leaves every meeting as it was; the error is kept on the source for
    the admin to see, and returned in the report.
    """
    # Read now: once committed, touching the source would reload it and open a transaction.
    source_id, kind, location = source.id, source.kind, source.location
    zone, fellowship = source.timezone, source.fellowship
    db.session.commit()
    config = current_app.config
    parsed: ParsedFeed | None = None
    failure: FeedError | None = None
    try:
        if raw is None:
            if kind != SOURCE_URL:
                raise FeedError("upload the file again to refresh this source")
            raw = fetch_feed(
                location,
                timeout=float(config.get("MEETING_FEED_TIMEOUT", 20)),
                max_bytes=int(config.get("MEETING_FEED_MAX_BYTES", 8 << 20)),
                allowed_hosts=config.get("MEETING_FEED_ALLOWED_HOSTS", ()),
            )
        parsed = parse_feed(raw, zone, fellowship,
                            max_rows=int(config.get("MEETING_FEED_MAX_ROWS", 10000)))
    except FeedError as error:
        failure = error
    now = clock.now()
    if parsed is not None:
        try:
            report = _apply(source, parsed, now)
        except FeedError as error:  # raised before any meeting was touched
            failure = error
    if failure is not None:
        # Every meeting stays as it was.
        report = ImportReport(error=str(failure))
        source.last_status = "error"
        source.last_error = str(failure)[:500]
        source.last_import_at = now
        if kind == SOURCE_URL:
            retry = timedelta(hours=source.refresh_hours)
            source.next_refresh_at = now + min(retry, RETRY_AFTER_FAILURE)
        # The precise cause of a failed fetch is for the operator only (see outbound).
        log.warning("meeting source %s: import failed: %s", source_id,
                    failure.reason if isinstance(failure, FetchFailed) else failure)
    else:
        source.last_status = "ok"
        source.last_error = None
        source.last_import_at = now
        source.last_success_at = now
        if kind == SOURCE_URL:
            source.next_refresh_at = now + timedelta(hours=source.refresh_hours)
    source.last_report = report.as_dict()
    audit.record(actor, "import", "meeting_source", source_id)
    db.session.commit()
    return report


def _apply(source: MeetingSource, parsed: ParsedFeed, now: datetime) -> ImportReport:
    existing = {m.slug: m for m in db.session.scalars(
        select(Meeting).where(Meeting.source_id == source.id)
    )}
    live = [m for m in existing.values() if m.removed_at is None]
    if not parsed.meetings and live:
        # An empty or all-bad feed is far likelier a broken export than a region that closed
        # every meeting overnight.
        raise FeedError(
            f"the feed has no usable meetings ({len(parsed.skipped)} rows skipped); "
            f"kept the {len(live)} meetings it had"
        )
    report = ImportReport(
        skipped=len(parsed.skipped),
        skipped_rows=[s.as_dict() for s in parsed.skipped],
        notes=[n.as_dict() for n in parsed.notes],
    )
    for item in parsed.meetings:
        meeting = existing.get(item.slug)
        if meeting is None:
            meeting = Meeting(source_id=source.id, slug=item.slug, created_at=now)
            _set_fields(meeting, item.fields, item.content_hash, now)
            db.session.add(meeting)
            report.added += 1
        elif meeting.removed_at is not None:
            meeting.removed_at = None
            _set_fields(meeting, item.fields, item.content_hash, now)
            report.added += 1
        elif meeting.content_hash != item.content_hash:
            _set_fields(meeting, item.fields, item.content_hash, now)
            report.updated += 1
    present = {item.slug for item in parsed.meetings}
    for slug, meeting in existing.items():
        if slug not in present and meeting.removed_at is None:
            meeting.removed_at = now
            report.removed += 1
    return report


def _set_fields(meeting: Meeting, fields: dict[str, Any], digest: str, now: datetime) -> None:
    for key, value in fields.items():
        if key in ("start_time", "end_time"):
            hour, minute = value.split(":")
            value = time(int(hour), int(minute))
        setattr(meeting, key, value)
    meeting.content_hash = digest
    meeting.updated_at = now


def manual_source(actor: User) -> MeetingSource:
    """The clinic's own source for meetings added by hand (created on first use)."""
    source = db.session.scalar(
        select(MeetingSource).where(
            MeetingSource.clinic_id == actor.clinic_id, MeetingSource.kind == SOURCE_MANUAL
        )
    )
    if source is None:
        source = create_source(actor, actor.clinic_id, name="Added by hand", kind=SOURCE_MANUAL)
    return source


def add_manual_meeting(actor: User, row: dict[str, Any]) -> Meeting:
    """One meeting typed in by an admin, read by the same rules as a feed row."""
    source = manual_source(actor)
    row = {k: v for k, v in row.items() if v is not None}
    row["slug"] = f"manual-{secrets.token_hex(6)}"
    parsed = parse_feed_rows([row], source.timezone, row.get("fellowship") or "")
    if not parsed.meetings:
        reason = parsed.skipped[0].message if parsed.skipped else "not a meeting"
        db.session.rollback()
        raise SourceError(422, "body", reason)
    item = parsed.meetings[0]
    now = clock.now()
    meeting = Meeting(source_id=source.id, slug=item.slug, created_at=now)
    _set_fields(meeting, item.fields, item.content_hash, now)
    db.session.add(meeting)
    db.session.flush()
    audit.record(actor, "create", "meeting", meeting.id)
    db.session.commit()
    return meeting


def parse_feed_rows(rows: list[dict[str, Any]], zone: str, fellowship: str) -> ParsedFeed:
    return parse_feed(json.dumps(rows), zone, fellowship)


def remove_manual_meeting(actor: User, meeting: Meeting) -> None:
    if meeting.source.kind != SOURCE_MANUAL:
        raise SourceError(409, "meeting_id",
                          "This meeting comes from a feed; it leaves when its feed drops it.")
    meeting.removed_at = clock.now()
    audit.record(actor, "delete", "meeting", meeting.id)
    db.session.commit()


def due_sources(now: datetime) -> list[MeetingSource]:
    return list(db.session.scalars(
        select(MeetingSource)
        .where(MeetingSource.kind == SOURCE_URL)
        .where((MeetingSource.next_refresh_at.is_(None)) | (MeetingSource.next_refresh_at <= now))
        .order_by(MeetingSource.id)
    ))


def _claim(source_id: int, now: datetime) -> MeetingSource | None:
    """The source, if this process is the one to refresh it now (several may be looking)."""
    taken = db.session.execute(
        update(MeetingSource)
        .where(MeetingSource.id == source_id)
        .where((MeetingSource.next_refresh_at.is_(None)) | (MeetingSource.next_refresh_at <= now))
        # Until the import sets the real time; if this process dies first, retried after this.
        .values(next_refresh_at=now + RETRY_AFTER_FAILURE)
    )
    db.session.commit()
    return db.session.get(MeetingSource, source_id) if getattr(taken, "rowcount", 0) == 1 else None


def refresh_due() -> list[tuple[MeetingSource, ImportReport]]:
    """Refresh every URL source whose time has come (the schedule and `refresh-meetings`)."""
    out = []
    for source_id in [s.id for s in due_sources(clock.now())]:
        source = _claim(source_id, clock.now())
        if source is not None:
            out.append((source, refresh_source(source, None)))
    return out
