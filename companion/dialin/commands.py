"""`companion dialin-prompts`: record every prompt a caller hears (docs/dial-in.md, "Prompts").

Only click is imported at module level: `serve` must patch the standard library with gevent
before anything else imports it.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command("dialin-prompts")
@click.option("--folder", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write them (default: dialin-prompts in the instance folder).")
def dialin_prompts(folder: Path | None) -> None:
    """Record every dial-in prompt in English and Spanish with espeak-ng, as 8 kHz mono
    16-bit WAV files (run once at install, and again after an upgrade changes the words)."""
    from companion.core.config import instance_path_from_env
    from companion.dialin import prompts

    target = folder or instance_path_from_env() / prompts.FOLDER
    try:
        written = prompts.render_all(target)
    except prompts.RecordingError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Recorded {len(written)} prompts ({len(prompts.Prompt)} in each of "
               f"{len(prompts.LANGS)} languages) into {target}.")


@click.command("dialin-line")
def dialin_line() -> None:
    """Run the phone dial-in line (docs/dial-in.md): Janus's SIP plugin registered with the
    trunk in COMPANION_SIP_*, calls put into rooms on the media workers in
    COMPANION_MEDIA_WORKERS. `companion serve` starts it when COMPANION_SIP_REGISTRAR is set."""
    import asyncio
    import os
    import signal

    from companion import create_app
    from companion.core.config import ConfigError
    from companion.dialin.line_process import (
        LineConfig,
        LineConfigError,
        require_redis,
        serve_line,
    )
    from companion.media import compat
    from companion.media.config import web_secret
    from companion.media.pool import MediaPool, parse_addresses

    try:
        app = create_app()
        config = LineConfig.from_env()
        if config is not None:
            require_redis()
    except (ConfigError, LineConfigError) as error:
        raise click.ClickException(str(error)) from None
    if config is None:
        raise click.ClickException("No dial-in line is configured: set COMPANION_SIP_REGISTRAR, "
                                   "COMPANION_SIP_USER and COMPANION_SIP_PASSWORD.")
    addresses = parse_addresses(os.environ.get("COMPANION_MEDIA_WORKERS", ""))
    if not addresses:
        raise click.ClickException("The dial-in line needs the media workers: set "
                                   "COMPANION_MEDIA_WORKERS (`companion serve` does).")
    compat.install_host_addresses(["127.0.0.1"])  # the legs are to Janus and workers here
    secret = web_secret(Path(app.config["INSTANCE_PATH"]), [host for host, _ in addresses])
    pool = MediaPool.from_env(addresses, secret=secret)
    pool.start()

    async def until_stopped() -> None:
        # SIGTERM (companion serve stopping, systemd) ends the line cleanly: calls hung up,
        # Janus stopped with it.
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        parent = os.getppid()

        async def orphaned() -> None:  # `companion serve` is gone without telling us
            while os.getppid() == parent:
                await asyncio.sleep(2)
            stop.set()

        watch = asyncio.ensure_future(orphaned())
        try:
            await serve_line(app, config, pool, stop)
        finally:
            watch.cancel()

    try:
        asyncio.run(until_stopped())
    except LineConfigError as error:
        raise click.ClickException(str(error)) from None
    except KeyboardInterrupt:
        pass
