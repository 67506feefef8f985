"""Alembic environment: runs on the engine domchat hands over (no alembic.ini needed)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from domchat.storage import tables  # noqa: F401  (registers the tables on the metadata)

target_metadata = SQLModel.metadata
engine: Engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
