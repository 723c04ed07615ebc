"""`companion import-meetings` and `companion refresh-meetings` (docs/meetings.md).

Only click is imported at module level: `serve` must patch the standard library with gevent
before anything else imports it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command("import-meetings")
@click.argument("source")
@click.option("--timezone", "zone", default=None,
              help="Zone for rows without a usable timezone (default: the program's).")
@click.option("--fellowship", default="", help="Fellowship of rows that do not name one.")
@click.option("--name", default=None, help="Name of the source (default: the URL or file name).")
@click.option("--clinic", "clinic_name", default=None,
              help="Clinic whose directory gets the meetings (needed if there are several).")
def import_meetings(source: str, zone: str | None, fellowship: str, name: str | None,
                    clinic_name: str | None) -> None:
    """Import a Meeting Guide JSON feed from an http(s) URL or a file.

    Every skipped row is reported with its reason; the last line is
    `added A, updated U, removed R, skipped S`. A URL source is then refreshed on its schedule.
    """
    from sqlalchemy import select

    from companion.accounts.models import Clinic
    from companion.core.extensions import db
    from companion.core.inputs import is_time_zone
    from companion.meetings import sources as meetings
    from companion.meetings.feeds import http_url
    from companion.meetings.models import SOURCE_FILE, SOURCE_URL

    if zone is not None and not is_time_zone(zone):
        raise click.BadParameter("not a time zone name such as America/Chicago",
                                 param_hint="--timezone")
    app = click.get_current_context().find_root().obj()
    with app.app_context():
        try:
            clinics = list(db.session.scalars(select(Clinic).order_by(Clinic.id)))
            if clinic_name:
                clinics = [c for c in clinics
                           if c.name == clinic_name or str(c.id) == clinic_name]
            if len(clinics) != 1:
                raise click.ClickException(
                    "no clinic yet" if not clinics
                    else "several clinics: choose one with --clinic")
            clinic = clinics[0]
            raw: bytes | None = None
            if "://" in source:
                if http_url(source) is None:
                    raise click.ClickException("feeds are read from http:// or https:// links only")
                kind, location = SOURCE_URL, source
            else:
                path = Path(source).expanduser().resolve()
                limit = int(app.config["MEETING_FEED_MAX_BYTES"])
                try:
                    if path.stat().st_size > limit:
                        raise click.ClickException(f"the file is larger than {limit // 1024} KiB")
                    raw = path.read_bytes()
                except OSError as error:
                    raise click.ClickException(f"cannot read {source}: {error.strerror}") from None
                kind, location = SOURCE_FILE, str(path)
            found = meetings.find_source(clinic.id, kind, location)
            if found is None:
                found = meetings.create_source(
                    None, clinic.id, name=name or (location if kind == SOURCE_URL else path.name),
                    kind=kind, location=location, fellowship=fellowship, timezone=zone,
                )
            else:
                found.timezone = zone or found.timezone
                found.fellowship = fellowship or found.fellowship
                found.name = name or found.name
            report = meetings.refresh_source(found, None, raw=raw)
            for row in report.skipped_rows:
                click.echo(f"skipped row {row['row']}{_slug(row)}: {row['message']}")
            for row in report.notes:
                click.echo(f"note: row {row['row']}{_slug(row)}: {row['message']}")
            if report.error:
                click.echo(f"error: {report.error}; the directory keeps the meetings it had",
                           err=True)
                sys.exit(1)
            click.echo(report.summary())
        finally:
            db.session.remove()
            db.engine.dispose()  # no pooled connection outlives the command


def _slug(row: dict[str, object]) -> str:
    return f" ({row['slug']})" if row.get("slug") else ""


@click.command("refresh-meetings")
@click.option("--all", "everything", is_flag=True,
              help="Refresh every URL source, not only those due.")
def refresh_meetings(everything: bool) -> None:
    """Refresh meeting feeds whose refresh time has come (for cron; `serve` also does it)."""
    from sqlalchemy import select

    from companion.core.extensions import db
    from companion.meetings import sources as meetings
    from companion.meetings.models import SOURCE_URL, MeetingSource

    app = click.get_current_context().find_root().obj()
    failed = False
    with app.app_context():
        try:
            if everything:
                sources = list(db.session.scalars(
                    select(MeetingSource).where(MeetingSource.kind == SOURCE_URL)))
                results = [(s, meetings.refresh_source(s, None)) for s in sources]
            else:
                results = meetings.refresh_due()
            for source, report in results:
                if report.error:
                    failed = True
                    click.echo(f"{source.name}: error: {report.error}", err=True)
                else:
                    click.echo(f"{source.name}: {report.summary()}")
            click.echo(f"{len(results)} sources refreshed")
        finally:
            db.session.remove()
            db.engine.dispose()  # no pooled connection outlives the command
    if failed:
        sys.exit(1)
