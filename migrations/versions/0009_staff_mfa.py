"""staff second factor (TOTP)

Revision ID: 0009_staff_mfa
Revises: 0008_family_sessions
Create Date: 2026-11-23 00:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_staff_mfa'
down_revision = '0008_family_sessions'
branch_labels = None
depends_on = None


def upgrade():
    # Staff's TOTP second factor (companion/accounts/mfa.py). Existing staff have no secret:
    # they enrol through a reset link (`companion mfa-reset EMAIL`, or an admin's reset).
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purpose', sa.String(length=20), nullable=False,
                                      server_default='join'))
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=255), nullable=True))


def downgrade():
    # recreate='never': SQLite (3.35+) drops these plain columns in place; copying
    # user_account, which most tables reference, is not needed and fails with foreign keys on.
    with op.batch_alter_table('invitation', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('totp_secret')
        batch_op.drop_column('purpose')
    with op.batch_alter_table('user_account', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_secret')
