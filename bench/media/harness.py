"""What the media benchmarks share (compare.py, capacity.py): readings from /proc, and the
load generator's processes (load.py), driven with commands on stdin and answering JSON lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def sys_busy() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far."""
    v = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(v) - v[3] - v[4], sum(v)


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class LoadProcesses:
    """``procs`` load.py processes sharing ``peers`` round robin, each with ``spec``."""

    def __init__(self, spec: dict[str, Any], peers: list[list[Any]], procs: int) -> None:
        self.procs: list[subprocess.Popen[str]] = []
        for w in range(procs):
            own = json.dumps({**spec, "peers": peers[w::procs]})
            self.procs.append(subprocess.Popen(
                [sys.executable, str(HERE / "load.py"), own],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))

    def expect(self, key: str) -> list[dict[str, Any]]:
        """Each process's next line, which must carry ``key``."""
        outs = []
        for p in self.procs:
            assert p.stdout is not None
            line = p.stdout.readline()
            msg = json.loads(line or "{}")
            if key not in msg:
                raise RuntimeError(f"load process said {line!r}, expected {key}")
            outs.append(msg)
        return outs

    def tell(self, cmd: str) -> None:
        for p in self.procs:
            assert p.stdin is not None
            p.stdin.write(cmd + "\n")
            p.stdin.flush()

    def quit(self, timeout: float) -> None:
        self.tell("quit")
        for p in self.procs:
            p.wait(timeout)

    def kill(self) -> None:
        """Those still running (the run failed part way)."""
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(5)
