"""Database engines and migrations: SQLite (WAL) embedded, PostgreSQL by URL."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, create_engine

from domchat.errors import StorageError
from domchat.settings import redact_url
from domchat.storage import files


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout."""
    try:
        parsed = make_url(url)
    except Exception:
        raise StorageError(f"database URL is not valid: {redact_url(url)}") from None
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        path = parsed.database

        if path and path != ":memory:" and not path.startswith("file:"):

            @event.listens_for(engine, "do_connect")
            def _private_file(*_: Any) -> None:
                # Created 0600 before SQLite opens it; SQLite gives -wal and -shm the database file's mode.
                with contextlib.suppress(OSError):  # a missing folder: SQLite's own error says it better
                    files.create_private(Path(path))

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # pysqlite's own transaction handling would begin transactions lazily and break
            # BEGIN IMMEDIATE; let SQLAlchemy emit BEGIN itself.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # Take the write lock at the start, so two writers never deadlock on upgrade.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True)


def _alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("domchat.storage").joinpath("migrations")))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> str:
    """Bring the schema to the newest revision; returns it."""
    cfg = _alembic_config(engine)
    try:
        command.upgrade(cfg, "head")
    except SQLAlchemyError as e:
        raise StorageError(f"migration failed on {redact_url(str(engine.url))}: {type(e).__name__}: {e}") from None
    return head_revision(engine)


def head_revision(engine: Engine) -> str:
    head = ScriptDirectory.from_config(_alembic_config(engine)).get_current_head()
    return head or ""


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as e:
        raise StorageError(f"database unreachable at {redact_url(str(engine.url))}: {type(e).__name__}") from None


def require_current(engine: Engine) -> None:
    """Fail clearly when the schema is missing or older than this code."""
    have, want = current_revision(engine), head_revision(engine)
    if have != want:
        raise StorageError(f"database schema is at {have or 'nothing'}, this domchat needs {want}: run 'domchat db upgrade'")


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One session in one transaction: committed on success, rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def snapshot(engine: Engine) -> Iterator[Session]:
    """A session whose reads all see one instant of the database: a pull that commits meanwhile
    (on another thread or instance) is seen whole or not at all. PostgreSQL reads at REPEATABLE
    READ for it (at READ COMMITTED each statement sees its own instant); SQLite's transactions
    are one snapshot already (each begins IMMEDIATE)."""
    with Session(engine) as session:
        if engine.dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield session
