"""the groups a program's phase names: admission to the phase puts a client in them, a move to
another phase takes them out of the old phase's and into the new one's

Revision ID: 0015_phase_groups
Revises: 0014_notifications
Create Date: 2026-12-12 10:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015_phase_groups'
down_revision = '0014_notifications'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "phase_group",
        sa.Column("phase_id", sa.Integer(), sa.ForeignKey("phase.id"), primary_key=True),
        sa.Column("group_id", sa.Integer(), sa.ForeignKey("therapy_group.id"), primary_key=True,
                  index=True),
    )


def downgrade():
    op.drop_table("phase_group")
