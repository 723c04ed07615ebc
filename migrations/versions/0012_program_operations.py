"""a clinic runs its own program: levels of care, phase targets, closed days, group kinds and
dates, occurrences made once per slot, cancellations, discharge and dated phase changes

Revision ID: 0012_program_operations
Revises: 0011_room_kept_out
Create Date: 2026-12-02 17:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012_program_operations'
down_revision = '0011_room_kept_out'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("program") as t:
        t.add_column(sa.Column("level_of_care", sa.String(40), nullable=False,
                               server_default="iop"))
        t.add_column(sa.Column("adolescent", sa.Boolean(), nullable=False,
                               server_default=sa.false()))
    with op.batch_alter_table("phase") as t:
        t.add_column(sa.Column("weekly_hours_target", sa.Integer(), nullable=False,
                               server_default="9"))
    op.create_table(
        "program_closed_day",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("program_id", sa.Integer(), sa.ForeignKey("program.id"), nullable=False,
                  index=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.UniqueConstraint("program_id", "day"),
    )
    with op.batch_alter_table("therapy_group") as t:
        t.add_column(sa.Column("kind", sa.String(40), nullable=False, server_default="process"))
        t.add_column(sa.Column("starts_on", sa.Date(), nullable=True))
        t.add_column(sa.Column("ends_on", sa.Date(), nullable=True))
        t.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("care_session") as t:
        t.add_column(sa.Column("slot_start", sa.DateTime(timezone=True), nullable=True))
        t.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
        t.add_column(sa.Column("cancel_reason", sa.String(300), nullable=True))
    # Sessions made from a weekly slot before now: their start was the slot's.
    op.execute("UPDATE care_session SET slot_start = starts_at WHERE group_id IS NOT NULL")
    with op.batch_alter_table("care_session") as t:
        t.create_unique_constraint("uq_session_group_slot", ["group_id", "slot_start"])
    with op.batch_alter_table("enrollment") as t:
        t.add_column(sa.Column("discharge_reason", sa.String(40), nullable=True))
        t.add_column(sa.Column("discharge_summary", sa.Text(), nullable=True))
    op.create_table(
        "enrollment_phase_change",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("enrollment_id", sa.Integer(), sa.ForeignKey("enrollment.id"),
                  nullable=False, index=True),
        sa.Column("phase_id", sa.Integer(), sa.ForeignKey("phase.id"), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("weekly_hours_target", sa.Integer(), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), sa.ForeignKey("user_account.id"),
                  nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade():
    op.drop_table("enrollment_phase_change")
    with op.batch_alter_table("enrollment") as t:
        t.drop_column("discharge_summary")
        t.drop_column("discharge_reason")
    with op.batch_alter_table("care_session") as t:
        t.drop_constraint("uq_session_group_slot", type_="unique")
        t.drop_column("cancel_reason")
        t.drop_column("cancelled_at")
        t.drop_column("slot_start")
    with op.batch_alter_table("therapy_group") as t:
        t.drop_column("archived_at")
        t.drop_column("ends_on")
        t.drop_column("starts_on")
        t.drop_column("kind")
    op.drop_table("program_closed_day")
    with op.batch_alter_table("phase") as t:
        t.drop_column("weekly_hours_target")
    with op.batch_alter_table("program") as t:
        t.drop_column("adolescent")
        t.drop_column("level_of_care")
