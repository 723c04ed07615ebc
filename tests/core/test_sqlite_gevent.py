"""The embedded default (SQLite under gevent): a greenlet that yields in the middle of a
transaction must not freeze the process for the others."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent("""
    from gevent import monkey
    monkey.patch_all()
    import gevent
    from flask_migrate import upgrade
    from sqlalchemy import select
    from companion import create_app
    from companion.core.extensions import db
    from companion.accounts.models import Clinic

    app = create_app()
    with app.app_context():
        upgrade()

    def holder():
        with app.app_context():
            db.session.scalar(select(Clinic.id).limit(1))  # a transaction: SQLite's write lock
            gevent.sleep(0.5)  # yields in the middle of it (network I/O, the group commit)
            db.session.commit()

    def writer():
        with app.app_context():
            db.session.add(Clinic(name="Written meanwhile"))
            db.session.commit()

    a = gevent.spawn(holder)
    gevent.sleep(0.05)
    b = gevent.spawn(writer)
    gevent.joinall([a, b], timeout=90)
    print("ok" if a.successful() and b.successful() else f"failed: {a.exception!r} {b.exception!r}")
""")


def test_a_greenlet_yielding_mid_transaction_does_not_freeze_the_others(tmp_path: Path) -> None:
    # Before the fix the writer waited inside SQLite's C busy handler, which stopped the whole
    # process, so the holder never resumed: 30 s later the writer failed ("database is locked").
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {"COMPANION_INSTANCE_PATH": str(tmp_path), "COMPANION_ASYNC_MODE": "gevent",
            "COMPANION_MEDIA_WORKER_COUNT": "0"}
    run = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                         text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert run.stdout.strip().splitlines()[-1:] == ["ok"], run.stdout + run.stderr
