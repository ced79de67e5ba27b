"""Alembic environment: always run programmatically by huiqi.store.migrate.upgrade,
which passes an open connection in ``config.attributes["connection"]``."""

from __future__ import annotations

from alembic import context

from huiqi.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
