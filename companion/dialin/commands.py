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
