"""Alembic environment: runs on the engine domchat hands over (no alembic.ini needed).

Two instances may start together (systemd runs `domchat db upgrade` before each): the upgrade
holds a lock for its whole transaction so the second one waits, then finds the schema current.
PostgreSQL: a transaction-level advisory lock keyed by the schema (tenants in other schemas do
not wait). SQLite: the first statement opens the transaction with BEGIN IMMEDIATE (see
`storage.db.make_engine`), which holds the database's write lock until commit.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from domchat.storage import tables  # noqa: F401  (registers the tables on the metadata)

target_metadata = SQLModel.metadata
engine: Engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('domchat.migrations:' || current_schema()))"))
        context.run_migrations()
    connection.commit()
