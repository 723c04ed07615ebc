"""The service worker keeps the app shell for offline use: every module a kept module imports
statically must be kept too, or the page fails to load offline ("This page could not be shown")
the day someone adds an import."""

from __future__ import annotations

import re
from pathlib import Path

from companion.core.config import WEBUI_PATH

IMPORT = re.compile(r"""^\s*import\s[^'"]*?from\s+['"](\.{1,2}/[^'"]+)['"]""", re.MULTILINE)


def _shell() -> set[str]:
    text = (Path(WEBUI_PATH) / "sw.js").read_text()
    listed = re.search(r"const SHELL = \[(.*?)\];", text, re.DOTALL)
    assert listed is not None
    return set(re.findall(r"'([^']+)'", listed.group(1)))


def test_every_static_import_of_the_shell_is_in_the_shell():
    shell = _shell()
    missing = []
    for path in sorted(p for p in shell if p.endswith(".js")):
        source = Path(WEBUI_PATH) / path.lstrip("/")
        for target in IMPORT.findall(source.read_text()):
            resolved = "/" + str((source.parent / target).resolve()
                                 .relative_to(Path(WEBUI_PATH).resolve()))
            if resolved not in shell:
                missing.append(f"{path} imports {resolved}")
    assert missing == []


def test_the_check_reads_both_kinds_of_relative_import():
    # The pattern reads the imports the shell's modules use (not a check that passes anyway).
    found = IMPORT.findall("import { a } from '../zones.js';\nimport { b, c } from './dom.js';\n")
    assert found == ["../zones.js", "./dom.js"]
