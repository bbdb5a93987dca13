"""Alembic environment: the connection comes from `bot.storage.migrate`; SQLite uses batch mode."""

from __future__ import annotations

from alembic import context

from bot.storage import models  # noqa: F401  (registers the tables on Base.metadata)
from bot.storage.database import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
