"""The aiortc/aioice compatibility module (companion/media/compat.py): a worker refuses library
versions it was not written for, and those versions are the ones pinned for installation."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from companion.media import compat

ROOT = Path(__file__).resolve().parents[2]


def _versions(**found: str | None):  # type: ignore[no-untyped-def]
    def version_of(name: str) -> str:
        value = found[name]
        if value is None:
            raise importlib.metadata.PackageNotFoundError(name)
        return value

    return version_of


def test_the_versions_written_for_pass() -> None:
    compat.check_versions(_versions(**compat.WRITTEN_FOR))


def test_this_environment_has_the_versions_written_for() -> None:
    compat.check_versions()


def test_another_version_fails_with_a_readable_message() -> None:
    with pytest.raises(compat.IncompatibleLibraries) as refused:
        compat.check_versions(_versions(aiortc="1.17.0", aioice=compat.WRITTEN_FOR["aioice"]))
    message = str(refused.value)
    wanted = compat.WRITTEN_FOR
    assert message.startswith(f"aiortc 1.17.0 is installed (needs {wanted['aiortc']})")
    assert f"aioice {wanted['aioice']} is installed" not in message  # only what differs
    assert "compat.py" in message and "requirements.lock" in message


def test_a_missing_library_fails_too() -> None:
    with pytest.raises(compat.IncompatibleLibraries, match="aioice is not installed"):
        compat.check_versions(_versions(aiortc=compat.WRITTEN_FOR["aiortc"], aioice=None))


def test_the_versions_written_for_are_pinned_exactly() -> None:
    """pyproject.toml pins them (so pip installs nothing else) and requirements.lock agrees."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lock = (ROOT / "requirements.lock").read_text()
    for name, version in compat.WRITTEN_FOR.items():
        assert f"{name}=={version}" in project["dependencies"], name
        assert re.search(rf"^{name}=={re.escape(version)}$", lock, re.MULTILINE), name


def test_the_worker_exits_at_start_up_on_other_versions() -> None:
    """``python -m companion.media.worker`` with another aiortc: one clear line, exit 1."""
    code = ("import importlib.metadata as m\n"
            "real = m.version\n"
            "m.version = lambda name: '9.9.9' if name == 'aiortc' else real(name)\n"
            "from companion.media.worker import main\n"
            "main(['--port', '0'])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert out.returncode == 1
    assert "The media worker did not start: aiortc 9.9.9 is installed" in out.stderr
    assert "Traceback" not in out.stderr
