"""the clinic's writes sent with a client-made id and their first answer: a retry is stored once
and answered the same

Revision ID: 0016_clinic_retried_writes
Revises: 0015_phase_groups
Create Date: 2026-12-12 14:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0016_clinic_retried_writes'
down_revision = '0015_phase_groups'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "clinic_retried_write",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=False,
                  index=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("record_type", sa.String(40), nullable=False),
        sa.Column("record_id", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )


def downgrade():
    op.drop_table("clinic_retried_write")
