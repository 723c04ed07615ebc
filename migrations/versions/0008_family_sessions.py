"""family sessions: a session that invited family members may join

Revision ID: 0008_family_sessions
Revises: 0007_care
Create Date: 2026-11-23 00:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_family_sessions'
down_revision = '0007_care'
branch_labels = None
depends_on = None


def upgrade():
    # Existing sessions are not family sessions; the server default fills them on both engines.
    with op.batch_alter_table('care_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('family', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('care_session', schema=None) as batch_op:
        batch_op.drop_column('family')
