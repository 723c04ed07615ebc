"""audit log chained with a keyed MAC (HMAC-SHA256 under the audit key)

Revision ID: 0010_audit_keyed_chain
Revises: 0009_staff_mfa
Create Date: 2026-11-30 10:00:00

No column changes: ``hash`` and ``prev_hash`` keep 64 hex digits, now of HMAC-SHA256 under the
audit key (``COMPANION_AUDIT_KEY`` or the instance folder's ``audit_key``) instead of plain
SHA-256, which anyone could recompute. Existing rows are re-sealed: the plain chain is verified
first, and a chain that is already broken is not re-sealed (that would vouch for whatever was
changed); the upgrade stops with the row it found, for someone to look into. Only the two
chain columns are rewritten, with the append-only trigger lifted for that statement alone and
put back in the same transaction. The downgrade re-seals the other way, on the same terms.
"""
import hashlib
import hmac
import json
from datetime import UTC

import sqlalchemy as sa
from alembic import op
from flask import current_app

# revision identifiers, used by Alembic.
revision = '0010_audit_keyed_chain'
down_revision = '0009_staff_mfa'
branch_labels = None
depends_on = None

GENESIS = "0" * 64

audit_event = sa.table(
    "audit_event",
    sa.column("id", sa.Integer), sa.column("at", sa.DateTime(timezone=True)),
    sa.column("actor_id", sa.Integer), sa.column("action", sa.String),
    sa.column("record_type", sa.String), sa.column("record_id", sa.String),
    sa.column("subject_id", sa.Integer), sa.column("channel", sa.String),
    sa.column("ip", sa.String), sa.column("prev_hash", sa.String), sa.column("hash", sa.String),
)


def _payload(prev, row):
    # As companion/core/audit.py writes it; the app reads `at` back aware, in UTC.
    at = row.at.replace(tzinfo=UTC) if row.at.tzinfo is None else row.at.astimezone(UTC)
    fields = {"at": at.isoformat(), "actor_id": row.actor_id, "action": row.action,
              "record_type": row.record_type, "record_id": row.record_id,
              "subject_id": row.subject_id, "channel": row.channel, "ip": row.ip}
    return (prev + json.dumps(fields, sort_keys=True, separators=(",", ":"))).encode()


def _plain(prev, row):
    return hashlib.sha256(_payload(prev, row)).hexdigest()


def _keyed(prev, row):
    key = hmac.new(str(current_app.config["AUDIT_KEY"]).encode(), b"companion audit chain",
                   hashlib.sha256).digest()
    return hmac.new(key, _payload(prev, row), hashlib.sha256).hexdigest()


def _reseal(old, new, old_name):
    bind = op.get_bind()
    rows = bind.execute(sa.select(audit_event).order_by(audit_event.c.id)).all()
    prev_old = prev_new = GENESIS
    updates = []
    for row in rows:
        if row.prev_hash != prev_old or old(prev_old, row) != row.hash:
            raise RuntimeError(
                f"the audit log's {old_name} chain is already broken at row {row.id}: it is "
                "not re-sealed, so that it cannot vouch for a change; restore the audit_event "
                "table from a backup taken before that row was changed, then upgrade again")
        mac = new(prev_new, row)
        updates.append({"row_id": row.id, "prev": prev_new, "mac": mac})
        prev_old, prev_new = row.hash, mac
    if not updates:
        return
    postgres = bind.dialect.name == "postgresql"
    if postgres:
        op.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_change")
    else:
        op.execute("DROP TRIGGER audit_event_no_update")
    bind.execute(
        audit_event.update().where(audit_event.c.id == sa.bindparam("row_id"))
        .values(prev_hash=sa.bindparam("prev"), hash=sa.bindparam("mac")),
        updates)
    if postgres:
        op.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_change")
    else:
        op.execute("CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
                   "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END")


def upgrade():
    _reseal(_plain, _keyed, "unkeyed")


def downgrade():
    _reseal(_keyed, _plain, "keyed")
