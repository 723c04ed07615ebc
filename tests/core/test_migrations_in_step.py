"""`alembic upgrade head` makes the schema the models describe: a table, column, index or
constraint added to one and not the other fails here (the suite's database is migrated)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from companion.core.extensions import db


def test_the_migrated_database_matches_the_models(app):
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert differences == []
