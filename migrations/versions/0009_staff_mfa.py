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
    pass


def downgrade():
    pass
