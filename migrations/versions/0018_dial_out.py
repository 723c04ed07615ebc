"""calling a client: their own number (sealed), and the calls counselors place to it from a
session's room (docs/dial-in.md, "Calling a client")

Revision ID: 0018_dial_out
Revises: 0017_dial_in
Create Date: 2026-12-13 10:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0018_dial_out'
down_revision = '0017_dial_in'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "client_phone",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=False),
        sa.Column("number_sealed", sa.String(200), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), sa.ForeignKey("user_account.id"),
                  nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("user_id", name="uq_client_phone_user_id"),
    )
    op.create_table(
        "phone_call",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_id", sa.Integer(), sa.ForeignKey("care_session.id"), nullable=False,
                  index=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), sa.ForeignKey("user_account.id"),
                  nullable=False),
        sa.Column("state", sa.String(20), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade():
    op.drop_table("phone_call")
    op.drop_table("client_phone")
