"""Shared fixtures: a migrated database on SQLite, or on PostgreSQL when DOMCHAT_DATABASE_URL says so.

On PostgreSQL each test gets a schema of its own (search_path), so tests stay independent and
can run in parallel against one server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from domchat.storage import db


def _postgres_base() -> str | None:
    url = os.environ.get("DOMCHAT_DATABASE_URL", "")
    return url if url.startswith("postgresql") else None


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    base = _postgres_base()
    if base is None:
        yield f"sqlite:///{tmp_path / 'domchat.db'}"
        return
    schema = "t_" + uuid.uuid4().hex[:16]
    admin = db.make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    e = db.make_engine(db_url)
    db.upgrade(e)
    yield e
    e.dispose()
