"""Embedded media workers: subprocesses of ``companion serve`` (stdlib only; gevent-safe).

    workers = spawn_workers(1, secret=secret)  # ``--media-workers N``; stopped at exit
    pool = MediaPool(workers.addresses, secret=secret, on_event=..., on_rooms_moved=...)
    pool.start()
    workers.start_supervisor()                 # optional: restart a worker that died

Each worker is ``python -m companion.media.worker --port 0 --announce --parent-pid PID``: it
binds a free loopback port and prints it, and it stops by itself if the web process dies. It
gets the channel secret in its environment (``COMPANION_MEDIA_SECRET``; one made up for it
when none is given), so it answers only a process that holds that secret. A restarted worker
comes back on the same port, with the same secret; the pool has moved its rooms away meanwhile
and uses it again for new rooms.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import secrets
import select
import subprocess
import sys
import threading
import time
from collections.abc import Mapping

log = logging.getLogger("companion.media.process")


class WorkerProcess:
    def __init__(self, host: str, port: int, env: Mapping[str, str] | None = None,
                 secret: str | None = None) -> None:
        self.host = host
        self.requested_port = port
        self.port = port
        self.env = dict(env or os.environ)
        self.secret = secret or self.env.get("COMPANION_MEDIA_SECRET") or secrets.token_urlsafe(32)
        self.env["COMPANION_MEDIA_SECRET"] = self.secret
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> None:
        cmd = [sys.executable, "-m", "companion.media.worker", "--host", self.host,
               "--port", str(self.port), "--announce", "--parent-pid", str(os.getpid())]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=self.env)
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else b""
        if not line:
            try:  # its stdout closed: it is exiting, and said why on stderr
                exited = self.proc.wait(1) if ready else None
            except subprocess.TimeoutExpired:
                exited = None
            self.kill()
            self.proc.stdout.close()
            if exited is not None:
                raise RuntimeError(f"media worker exited at start-up (exit code {exited})")
            raise RuntimeError(f"media worker did not start within {timeout:g} s")
        self.host, self.port = json.loads(line)["listening"]
        self.proc.stdout.close()

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                log.warning("media worker %s did not exit after SIGKILL", self.proc.pid)


class WorkerProcesses:
    def __init__(self, count: int, host: str = "127.0.0.1", base_port: int = 0,
                 env: Mapping[str, str] | None = None, secret: str | None = None) -> None:
        env = dict(env or os.environ)
        self.secret = secret or env.get("COMPANION_MEDIA_SECRET") or secrets.token_urlsafe(32)
        self.workers = [WorkerProcess(host, base_port + i if base_port else 0, env, self.secret)
                        for i in range(count)]
        self._stop = threading.Event()
        self._supervisor: threading.Thread | None = None

    @property
    def addresses(self) -> list[tuple[str, int]]:
        return [w.address for w in self.workers]

    def start(self) -> WorkerProcesses:
        try:
            for w in self.workers:
                w.start()
        except Exception:
            self.stop()
            raise
        atexit.register(self.stop)
        return self

    def start_supervisor(self, interval: float = 2.0) -> None:
        """Restart (on the same port) any worker that exited."""
        if self._supervisor is None:
            self._supervisor = threading.Thread(target=self._supervise, args=(interval,),
                                                name="media-supervisor", daemon=True)
            self._supervisor.start()

    def _supervise(self, interval: float) -> None:
        while not self._stop.wait(interval):
            for w in self.workers:
                if not w.alive() and not self._stop.is_set():
                    log.warning("media worker on port %d exited; restarting", w.port)
                    try:
                        w.start()
                    except Exception:
                        log.exception("could not restart the media worker on port %d", w.port)
                        time.sleep(interval)

    def stop(self) -> None:
        self._stop.set()
        for w in self.workers:
            w.stop()


def default_worker_count() -> int:
    """``companion serve``'s embedded workers when not told: one per core this process may use.

    A worker is one asyncio loop, so it uses at most one core; rooms are spread over the workers
    by the pool (fewest rooms first). One group of 12 at the standard profile already takes a
    quarter to a third of a core (docs/benchmarks.md, "Capacity"), so one worker per core."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, cores)


def spawn_workers(count: int = 1, host: str = "127.0.0.1", base_port: int = 0,
                  env: Mapping[str, str] | None = None,
                  secret: str | None = None) -> WorkerProcesses:
    """Start ``count`` media workers (``companion serve --media-workers N``) on ``host``, all
    with ``secret`` (``.secret``); they are stopped at interpreter exit, and stop by
    themselves if this process dies."""
    return WorkerProcesses(count, host, base_port, env, secret).start()
