"""phone dial-in: a program's switches for dial-in and outbound calls

Revision ID: 0015_dial_in
Revises: 0014_notifications
Create Date: 2026-12-12 10:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015_dial_in'
down_revision = '0014_notifications'
branch_labels = None
depends_on = None


def upgrade():
    # Off for every program until its admin turns them on (docs/dial-in.md).
    with op.batch_alter_table("program") as t:
        t.add_column(sa.Column("dial_in_enabled", sa.Boolean(), nullable=False,
                               server_default=sa.false()))
        t.add_column(sa.Column("outbound_calls_allowed", sa.Boolean(), nullable=False,
                               server_default=sa.false()))


def downgrade():
    with op.batch_alter_table("program") as t:
        t.drop_column("outbound_calls_allowed")
        t.drop_column("dial_in_enabled")
