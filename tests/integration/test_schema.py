"""The migrations build the schema the models describe, on SQLite and on PostgreSQL.

Code reads and writes through the models; deployments get their schema from the
migrations. A column added to one and not the other would only show in
production.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import bot.storage.models  # noqa: F401 - registers every table on Base.metadata
from bot.storage.database import Base


def test_the_migrated_schema_is_the_models_schema(engine):
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
