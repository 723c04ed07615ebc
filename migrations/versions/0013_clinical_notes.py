"""clinical notes, their addenda, programs' note format and payer settings, clients' birth dates

Revision ID: 0013_clinical_notes
Revises: 0012_program_operations
Create Date: 2026-12-02 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_clinical_notes'
down_revision = '0012_program_operations'
branch_labels = None
depends_on = None

# A signed note is final (docs/notes.md): the database refuses to change or delete it, to add,
# change or remove its rows per client, and to change or delete an addendum. The application
# never tries; the triggers hold against a script or a console with the database's password.
SIGNED = "a signed note is final: corrections are addenda"
APPEND_ONLY = "note_addendum is append-only"


def upgrade():
    with op.batch_alter_table('program', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note_format', sa.String(length=10), nullable=False,
                                      server_default='dap'))
        batch_op.add_column(sa.Column('payer_settings', sa.JSON(), nullable=True))
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('birth_date', sa.Date(), nullable=True))

    op.create_table('clinical_note',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('shared', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signed_by_id', sa.Integer(), nullable=True),
    sa.Column('late_entry', sa.Boolean(), nullable=False),
    sa.Column('body_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_clinical_note_author_id_user_account')),
    sa.ForeignKeyConstraint(['session_id'], ['care_session.id'], name=op.f('fk_clinical_note_session_id_care_session')),
    sa.ForeignKeyConstraint(['signed_by_id'], ['user_account.id'], name=op.f('fk_clinical_note_signed_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clinical_note')),
    sa.UniqueConstraint('session_id', name=op.f('uq_clinical_note_session_id'))
    )
    with op.batch_alter_table('clinical_note', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clinical_note_author_id'), ['author_id'], unique=False)

    op.create_table('note_participant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('note_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('attendance', sa.String(length=20), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('modality', sa.String(length=20), nullable=True),
    sa.Column('location', sa.String(length=20), nullable=True),
    sa.Column('identity_checked', sa.String(length=200), nullable=True),
    sa.Column('audio_only_reason', sa.String(length=20), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sections', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['user_account.id'], name=op.f('fk_note_participant_client_id_user_account')),
    sa.ForeignKeyConstraint(['note_id'], ['clinical_note.id'], name=op.f('fk_note_participant_note_id_clinical_note')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_note_participant')),
    sa.UniqueConstraint('note_id', 'client_id', name=op.f('uq_note_participant_note_id'))
    )
    with op.batch_alter_table('note_participant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_note_participant_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_note_participant_note_id'), ['note_id'], unique=False)

    op.create_table('note_addendum',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('note_id', sa.String(length=36), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('body_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_note_addendum_author_id_user_account')),
    sa.ForeignKeyConstraint(['note_id'], ['clinical_note.id'], name=op.f('fk_note_addendum_note_id_clinical_note')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_note_addendum'))
    )
    with op.batch_alter_table('note_addendum', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_note_addendum_note_id'), ['note_id'], unique=False)

    _create_final_note_triggers()


def _create_final_note_triggers():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION clinical_note_signed_is_final() RETURNS trigger AS $$
            BEGIN
                IF OLD.signed_at IS NOT NULL THEN
                    RAISE EXCEPTION '{SIGNED}';
                END IF;
                IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
                RETURN NEW;
            END;
            $$ LANGUAGE plpgsql
        """)
        op.execute(
            "CREATE TRIGGER clinical_note_signed_no_change BEFORE UPDATE OR DELETE "
            "ON clinical_note FOR EACH ROW EXECUTE FUNCTION clinical_note_signed_is_final()")
        op.execute(f"""
            CREATE FUNCTION note_participant_of_signed_note() RETURNS trigger AS $$
            BEGIN
                IF TG_OP <> 'INSERT' AND EXISTS (SELECT 1 FROM clinical_note
                        WHERE id = OLD.note_id AND signed_at IS NOT NULL) THEN
                    RAISE EXCEPTION '{SIGNED}';
                END IF;
                IF TG_OP <> 'DELETE' AND EXISTS (SELECT 1 FROM clinical_note
                        WHERE id = NEW.note_id AND signed_at IS NOT NULL) THEN
                    RAISE EXCEPTION '{SIGNED}';
                END IF;
                IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
                RETURN NEW;
            END;
            $$ LANGUAGE plpgsql
        """)
        op.execute(
            "CREATE TRIGGER note_participant_signed_no_change BEFORE INSERT OR UPDATE OR DELETE "
            "ON note_participant FOR EACH ROW EXECUTE FUNCTION note_participant_of_signed_note()")
        op.execute(f"""
            CREATE FUNCTION note_addendum_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{APPEND_ONLY}';
            END;
            $$ LANGUAGE plpgsql
        """)
        op.execute(
            "CREATE TRIGGER note_addendum_no_change BEFORE UPDATE OR DELETE ON note_addendum "
            "FOR EACH ROW EXECUTE FUNCTION note_addendum_append_only()")
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER clinical_note_signed_no_{verb.lower()} BEFORE {verb} ON clinical_note "
            f"WHEN OLD.signed_at IS NOT NULL BEGIN SELECT RAISE(ABORT, '{SIGNED}'); END")
        op.execute(
            f"CREATE TRIGGER note_addendum_no_{verb.lower()} BEFORE {verb} ON note_addendum "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END")
    for verb, row in (("INSERT", "NEW"), ("UPDATE", "OLD"), ("DELETE", "OLD")):
        op.execute(
            f"CREATE TRIGGER note_participant_signed_no_{verb.lower()} BEFORE {verb} "
            f"ON note_participant WHEN (SELECT signed_at FROM clinical_note "
            f"WHERE id = {row}.note_id) IS NOT NULL "
            f"BEGIN SELECT RAISE(ABORT, '{SIGNED}'); END")
    # An UPDATE that moves a row onto a signed note is refused as well.
    op.execute(
        "CREATE TRIGGER note_participant_signed_no_move BEFORE UPDATE OF note_id "
        "ON note_participant WHEN (SELECT signed_at FROM clinical_note "
        "WHERE id = NEW.note_id) IS NOT NULL "
        f"BEGIN SELECT RAISE(ABORT, '{SIGNED}'); END")


def _drop_final_note_triggers():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS note_addendum_no_change ON note_addendum")
        op.execute("DROP FUNCTION IF EXISTS note_addendum_append_only()")
        op.execute("DROP TRIGGER IF EXISTS note_participant_signed_no_change ON note_participant")
        op.execute("DROP FUNCTION IF EXISTS note_participant_of_signed_note()")
        op.execute("DROP TRIGGER IF EXISTS clinical_note_signed_no_change ON clinical_note")
        op.execute("DROP FUNCTION IF EXISTS clinical_note_signed_is_final()")
        return
    for name in ("clinical_note_signed_no_update", "clinical_note_signed_no_delete",
                 "note_addendum_no_update", "note_addendum_no_delete",
                 "note_participant_signed_no_insert", "note_participant_signed_no_update",
                 "note_participant_signed_no_delete", "note_participant_signed_no_move"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")


def downgrade():
    _drop_final_note_triggers()
    with op.batch_alter_table('note_addendum', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_note_addendum_note_id'))
    op.drop_table('note_addendum')
    with op.batch_alter_table('note_participant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_note_participant_note_id'))
        batch_op.drop_index(batch_op.f('ix_note_participant_client_id'))
    op.drop_table('note_participant')
    with op.batch_alter_table('clinical_note', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clinical_note_author_id'))
    op.drop_table('clinical_note')
    # recreate='never': SQLite (3.35+) drops these plain columns in place; copying
    # user_account, which most tables reference, is not needed and fails with foreign keys on.
    with op.batch_alter_table('user_account', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('birth_date')
    with op.batch_alter_table('program', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('payer_settings')
        batch_op.drop_column('note_format')
