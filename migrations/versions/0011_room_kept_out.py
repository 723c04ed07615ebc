"""room participants kept out by a locked room

Revision ID: 0011_room_kept_out
Revises: 0010_audit_keyed_chain
Create Date: 2026-11-30 12:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0011_room_kept_out'
down_revision = '0010_audit_keyed_chain'
branch_labels = None
depends_on = None


def upgrade():
    # Someone who comes to a locked room is kept at its door (staff see them; unlocking lets
    # them knock). SQLite stores the enum as text with no constraint: nothing to do there.
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.execute("ALTER TYPE participant_state ADD VALUE IF NOT EXISTS 'kept_out'")


def downgrade():
    # PostgreSQL cannot drop an enum value; rows kept out go back to being nobody at the door.
    op.execute("DELETE FROM room_participant WHERE state = 'kept_out'")
