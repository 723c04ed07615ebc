"""Exactly once on any number of processes: two processes run the notification job's passes at
the same moment against one database (PostgreSQL when DATABASE_URL names one, as in CI's
PostgreSQL run; SQLite otherwise), and each reminder goes out once."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import timedelta

import pytest

from companion.accounts.models import Role
from companion.core.extensions import db
from tests.conftest import AUDIT_KEY
from tests.notifications.test_notifications import subscribe

pytestmark = pytest.mark.slow

# Each process: wait for the same start moment, then three passes in a row.
_RUNNER = """
import json, sys, time
from companion import create_app
from companion.notifications import dispatch
config, start = json.loads(sys.argv[1]), float(sys.argv[2])
app = create_app(config)
with app.app_context():
    time.sleep(max(0.0, start - time.time()))
    outcomes = [dispatch.run_pass() for _ in range(3)]
    print(json.dumps([o.sent for o in outcomes]))
"""


def test_two_processes_send_each_reminder_once(app, world, make_auth, outside):
    push, mail = outside
    counselor = world.user(Role.COUNSELOR)
    clients = [world.user(name=f"Client {n}") for n in range(3)]
    group = world.group(counselor, clients)
    endpoints = [subscribe(make_auth(c), push)[0] for c in clients]
    world.session(group, starts_in=timedelta(minutes=9))
    emails = [c.email for c in clients]
    db.session.commit()
    db.session.close()  # SQLite: the test holds no lock while the processes run
    config = {key: app.config[key] for key in (
        "DATABASE_URL", "INSTANCE_PATH", "SECRET_KEY", "PUSH_ENDPOINT_HOSTS", "MAIL_URL",
        "PUBLIC_URL")}
    config |= {"AUDIT_KEY": AUDIT_KEY, "ASYNC_MODE": "threading", "REDIS_URL": None}
    start = time.time() + 4  # both are up by then: their passes overlap
    runs = [subprocess.Popen([sys.executable, "-c", _RUNNER, json.dumps(config), str(start)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    results = [run.communicate(timeout=120) for run in runs]
    for run, (_, err) in zip(runs, results, strict=True):
        assert run.returncode == 0, err
    sent = [json.loads(out.strip().splitlines()[-1]) for out, _ in results]
    assert sum(map(sum, sent)) == 6, sent  # 3 pushes and 3 mails, whoever sent them
    for email, endpoint in zip(emails, endpoints, strict=True):
        assert len(push.pushes_to(endpoint)) == 1
        assert len(mail.to(email)) == 1
    assert push.refused == []
