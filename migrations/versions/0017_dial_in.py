"""phone dial-in: a program's switches for dial-in and outbound calls; clients' PINs (a keyed
hash, unique on the whole server, and the PIN sealed); failed tries, by a keyed hash of the
calling number; a room's phone callers (their knock marked, their attendance of modality phone)

Revision ID: 0017_dial_in
Revises: 0016_clinic_retried_writes
Create Date: 2026-12-12 10:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0017_dial_in'
down_revision = '0016_clinic_retried_writes'
branch_labels = None
depends_on = None


def upgrade():
    # Off for every program until its admin turns them on (docs/dial-in.md).
    with op.batch_alter_table("program") as t:
        t.add_column(sa.Column("dial_in_enabled", sa.Boolean(), nullable=False,
                               server_default=sa.false()))
        t.add_column(sa.Column("outbound_calls_allowed", sa.Boolean(), nullable=False,
                               server_default=sa.false()))
    op.create_table(
        "dial_in_pin",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=False),
        sa.Column("program_id", sa.Integer(), sa.ForeignKey("program.id"), nullable=False,
                  index=True),
        sa.Column("pin_lookup", sa.String(64), nullable=False),
        sa.Column("pin_sealed", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("user_id", name="uq_dial_in_pin_user_id"),
        sa.UniqueConstraint("pin_lookup", name="uq_dial_in_pin_pin_lookup"),
    )
    op.create_table(
        "dial_in_failure",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("caller_key", sa.String(64), nullable=False, index=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    )


    with op.batch_alter_table("room_participant") as t:
        t.add_column(sa.Column("by_phone", sa.Boolean(), nullable=False,
                               server_default=sa.false()))
    # SQLite stores the enum as text with no constraint: nothing to do there.
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.execute("ALTER TYPE attendance_modality ADD VALUE IF NOT EXISTS 'phone'")


def downgrade():
    # PostgreSQL cannot drop an enum value; a caller's stretches count as audio only.
    op.execute("UPDATE attendance_interval SET modality = 'audio_only' WHERE modality = 'phone'")
    with op.batch_alter_table("room_participant") as t:
        t.drop_column("by_phone")
    op.drop_table("dial_in_failure")
    op.drop_table("dial_in_pin")
    with op.batch_alter_table("program") as t:
        t.drop_column("outbound_calls_allowed")
        t.drop_column("dial_in_enabled")
