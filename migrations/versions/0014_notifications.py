"""reaching people outside the app: notification preferences, push subscriptions,
notifications (unique per person, kind and occurrence) and their deliveries

Revision ID: 0014_notifications
Revises: 0013_clinical_notes
Create Date: 2026-12-09 10:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014_notifications'
down_revision = '0013_clinical_notes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "notification_preference",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id"), primary_key=True),
        sa.Column("push", sa.Boolean(), nullable=False),
        sa.Column("email", sa.Boolean(), nullable=False),
        sa.Column("quiet_start", sa.Time(), nullable=True),
        sa.Column("quiet_end", sa.Time(), nullable=True),
        sa.Column("checkin_reminder_at", sa.Time(), nullable=True),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "push_subscription",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=False,
                  index=True),
        sa.Column("endpoint", sa.String(2048), nullable=False, unique=True),
        sa.Column("p256dh", sa.String(128), nullable=False),
        sa.Column("auth", sa.String(64), nullable=False),
        sa.Column("login_session_id", sa.String(64), nullable=True, index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("occurrence", sa.String(160), nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("body", sa.String(300), nullable=False),
        sa.Column("url", sa.String(300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("user_id", "kind", "occurrence", name="uq_notification_occurrence"),
    )
    op.create_index("ix_notification_user_id_created_at", "notification",
                    ["user_id", "created_at"])
    op.create_table(
        "notification_delivery",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("notification_id", sa.Integer(), sa.ForeignKey("notification.id"),
                  nullable=False, index=True),
        sa.Column("channel", sa.String(30), nullable=False),
        sa.Column("target", sa.String(40), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(80), nullable=True),
        sa.UniqueConstraint("notification_id", "target",
                            name="uq_notification_delivery_target"),
    )
    op.create_index("ix_notification_delivery_status_next_attempt_at", "notification_delivery",
                    ["status", "next_attempt_at"])


def downgrade():
    op.drop_index("ix_notification_delivery_status_next_attempt_at",
                  table_name="notification_delivery")
    op.drop_table("notification_delivery")
    op.drop_index("ix_notification_user_id_created_at", table_name="notification")
    op.drop_table("notification")
    op.drop_table("push_subscription")
    op.drop_table("notification_preference")
