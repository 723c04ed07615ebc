"""The `companion` command: serve, media, seed-demo, db upgrade, audit verify/head, create-admin,
mfa-reset, demo-code, import-meetings, refresh-meetings, dialin-prompts, dialin-line."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

import click
from flask import Flask


def _gevent_patch() -> None:
    # gevent measured best for Socket.IO fan-out (docs/benchmarks.md); it must patch the
    # standard library before anything else imports it.
    from gevent import monkey

    monkey.patch_all()


@contextlib.contextmanager
def _database() -> Iterator[None]:
    """An app context whose pooled database connections do not outlive the command."""
    from companion.core.extensions import db as database

    with _app().app_context():
        try:
            yield
        finally:
            database.session.remove()
            database.engine.dispose()


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """Companion: telehealth companion for Intensive Outpatient Programs."""
    # Commands that live in their domain (meetings' import) build the app through this, so no
    # domain imports the app factory above it.
    ctx.obj = _app
    # Whatever a command changes is audited as done from the command line.
    from companion.core import origin

    ctx.with_resource(origin.acting_from(origin.CLI))


def _app() -> Flask:
    from companion import create_app
    from companion.core.config import ConfigError

    try:
        return create_app()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-seed", is_flag=True, help="Do not seed demo data into an empty database.")
@click.option("--media-workers", default=None, type=click.IntRange(min=0),
              envvar="COMPANION_MEDIA_WORKER_COUNT",
              help="Embedded media workers for audio/video, each one process (one per core by "
              "default; 0: no media; ignored when COMPANION_MEDIA_WORKERS lists scale-out "
              "workers).")
def serve(host: str, port: int, no_seed: bool, media_workers: int | None) -> None:
    """Migrate, seed an empty embedded database with the demo clinic, and serve."""
    if os.environ.get("COMPANION_ASYNC_MODE", "gevent") == "gevent":
        _gevent_patch()
    from flask_migrate import upgrade

    from companion import demo
    from companion.server import run

    app = _app()
    with app.app_context():
        upgrade()
        production = app.config["ENV"] == "production"
        seeded_now = False
        if not production and not no_seed and not demo.is_seeded():
            demo.seed()
            seeded_now = True
        url = f"http://{host}:{port}/"
        if not production:
            click.echo(demo.logins_text(url) if (seeded_now or demo.has_demo()) else url)
    from companion.media.config import MediaConfigError
    from companion.media.process import default_worker_count

    workers = default_worker_count() if media_workers is None else media_workers
    _check_the_line()
    try:
        run(app, host, port, workers)
    except MediaConfigError as error:  # raised at start, before anything is served
        raise click.ClickException(f"The media plane did not start: {error}.") from None


def _check_the_line() -> None:
    """A configured dial-in line must be able to start (its settings, Redis) before serving."""
    from companion.dialin.line_process import LineConfig, LineConfigError, require_redis

    try:
        if LineConfig.from_env() is not None:
            require_redis()
    except LineConfigError as error:
        raise click.ClickException(str(error)) from None


@main.command("seed-demo")
def seed_demo() -> None:
    """Create the demo clinic and its accounts (refused in production or when data exists)."""
    from flask_migrate import upgrade

    from companion import demo

    app = _app()
    if app.config["ENV"] == "production":
        raise click.ClickException("demo accounts are never created in a production database")
    with app.app_context():
        upgrade()
        if demo.is_seeded():
            raise click.ClickException("the database already has data; nothing seeded")
        demo.seed()
        click.echo(demo.logins_text("http://127.0.0.1:5000/"))


@main.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from flask_migrate import upgrade

    with _app().app_context():
        upgrade(revision=revision)
    click.echo(f"database at {revision}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION."""
    from flask_migrate import downgrade

    with _app().app_context():
        downgrade(revision=revision)


@main.group()
def audit() -> None:
    """The audit log."""


@audit.command("verify")
@click.option("--head", "heads", multiple=True, metavar="HEAD",
              help="A head printed by `companion audit head` and kept elsewhere: the log must "
              "still hold it. May be given more than once.")
def audit_verify(heads: tuple[str, ...]) -> None:
    """Check the audit log: every row's MAC under the audit key, and that it still holds every
    checkpoint in the instance folder (and each --head). Records a checkpoint when intact."""
    from companion.core import audit as audit_service

    parsed = []
    for head in heads:
        try:
            parsed.append(audit_service.parse_head(head))
        except ValueError:
            raise click.BadParameter(
                "give the whole line `companion audit head` printed, in quotes "
                f"(\"{audit_service.HEAD_VERSION} rows=... mac=... at=... sig=...\").",
                param_hint="--head") from None
    with _database():
        result = audit_service.verify(parsed)
        if result.intact:
            audit_service.checkpoint()
    if not result.intact:
        click.echo(f"The audit log is NOT intact. {result.problem}", err=True)
        sys.exit(1)
    if result.latest is not None:
        held = (f"it holds the {result.checkpoints} checkpoint(s) in the instance folder "
                f"(the latest of {result.latest.when}, "
                f"{audit_service.count_of_rows(result.latest.rows)})")
    else:
        held = "there was no checkpoint yet"
    given = f" and the head you gave ({len(parsed)})" if parsed else ""
    click.echo(f"audit log intact: {audit_service.count_of_rows(result.rows)}, every MAC right; "
               f"{held}{given}. Checkpoint recorded.")


@audit.command("head")
def audit_head() -> None:
    """Print the audit log's current head, signed (also appended to the checkpoints): keep it
    somewhere the server cannot write, and check against it with `audit verify --head`."""
    from companion.core import audit as audit_service

    with _database():
        click.echo(str(audit_service.checkpoint()))


@main.command("create-admin")
@click.argument("email")
@click.option("--clinic", "clinic_name", required=True, help="Name of the clinic to create.")
def create_admin(email: str, clinic_name: str) -> None:
    """Create a clinic and print an invitation link for its first admin."""
    from companion.clinic import bootstrap
    from companion.core.extensions import db as database

    app = _app()
    with app.app_context():
        try:
            url, enrolment = bootstrap.first_admin(clinic_name, email, app.config["PUBLIC_URL"]
                                                   or "http://127.0.0.1:5000/")
        finally:
            database.session.remove()
            database.engine.dispose()  # no pooled connection outlives the command
    click.echo(f"Invitation link for {email}: {url}")
    # Shown once here (and on the invitation page until they enrol): the admin's second factor.
    click.echo(f"Second factor (TOTP) secret for an authenticator app: {enrolment.secret}")
    click.echo(f"  otpauth URI: {enrolment.otpauth_uri}")


@main.command("mfa-reset")
@click.argument("email")
def mfa_reset(email: str) -> None:
    """Reset a staff member's second factor and print a link to enrol a new one (for an admin
    who lost their authenticator; admins reset others' in the app)."""
    from sqlalchemy import select

    from companion.accounts import services as accounts
    from companion.accounts.models import User
    from companion.core.extensions import db as database

    app = _app()
    with app.app_context():
        try:
            user = database.session.scalar(
                select(User).where(User.email == accounts.normalise_email(email))
            )
            if user is None:
                raise click.ClickException(f"no account {email}")
            # A running server's enforcer drops the sockets of the logins this ends.
            issued = accounts.reset_second_factor(
                None, user, app.config["PUBLIC_URL"] or "http://127.0.0.1:5000/"
            )
        except accounts.AccountError as error:
            raise click.ClickException(error.message) from None
        finally:
            database.session.remove()
            database.engine.dispose()
    click.echo(f"Second factor of {email} reset; link to enrol a new one: {issued.url}")


@main.command("demo-code")
@click.argument("email")
def demo_code(email: str) -> None:
    """Print the current sign-in code of a demo staff account (demo data only)."""
    from companion import demo
    from companion.core.extensions import db as database

    app = _app()
    if app.config["ENV"] == "production":
        raise click.ClickException("demo codes are never given out in production")
    with app.app_context():
        try:
            code, seconds_left, next_code = demo.current_code(email)
        except ValueError as error:
            raise click.ClickException(str(error)) from None
        finally:
            database.session.remove()
            database.engine.dispose()
    click.echo(f"{code}  (for {seconds_left} more s; then {next_code}, which works already)")


from companion.dialin.commands import dialin_line, dialin_prompts  # noqa: E402
from companion.meetings.commands import import_meetings, refresh_meetings  # noqa: E402

main.add_command(import_meetings)
main.add_command(refresh_meetings)
main.add_command(dialin_prompts)
main.add_command(dialin_line)


@main.command()
@click.option("--host", default=None, help="Channel address (default COMPANION_MEDIA_HOST or "
              "127.0.0.1; keep it on a private network).")
@click.option("--port", default=None, type=int,
              help="Channel port (default COMPANION_MEDIA_PORT or 7990; 0 picks a free one).")
def media(host: str | None, port: int | None) -> None:
    """Run one media worker (aiortc: mixes audio, forwards video) for scale-out deployments."""
    from companion.media.worker import main as worker_main

    argv = []
    if host is not None:
        argv += ["--host", host]
    if port is not None:
        argv += ["--port", str(port)]
    worker_main(argv)


if __name__ == "__main__":  # pragma: no cover
    main()
