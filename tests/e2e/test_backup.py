"""The runbook's backup and restore (docs/operations.md): an online SQLite backup through
Python's backup API, and pg_dump/pg_restore, give a database whose audit chain verifies and
whose region is the same."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from domchat import app as app_mod
from domchat.storage import db
from support.stage import Stage


def _facts(app: app_mod.App) -> tuple[int, int]:
    verdict = app_mod.audit_verify(app).verdict
    assert verdict.ok
    return verdict.events, app_mod.status(app)["buildings"]


def _restored(db_url: str, tmp_path: Path) -> str:
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        copy = tmp_path / "restored.db"
        source = sqlite3.connect(str(url.database))
        target = sqlite3.connect(copy)
        source.backup(target)  # as the runbook: online, consistent
        target.close()
        source.close()
        return f"sqlite:///{copy}"
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    schema = url.query["options"].removeprefix("-csearch_path=")  # type: ignore[union-attr]
    dump = tmp_path / "domchat.dump"
    plain = url.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    subprocess.run(["pg_dump", "--format=custom", f"--schema={schema}", f"--file={dump}", plain], check=True, timeout=120)
    name = "restore_" + uuid.uuid4().hex[:12]
    admin = db.make_engine(db_url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    restored = url.set(database=name)
    target = restored.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    subprocess.run(["pg_restore", "--no-owner", f"--dbname={target}", str(dump)], check=True, timeout=120)
    return restored.render_as_string(hide_password=False)


def _drop(db_url: str, restored: str) -> None:
    if make_url(restored).get_backend_name() != "postgresql":
        return
    admin = db.make_engine(db_url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE "{make_url(restored).database}" WITH (FORCE)'))
    admin.dispose()


def test_a_restored_backup_verifies_and_holds_it_all(stage: Stage, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stage.running()
    before = _facts(stage.app())
    restored = _restored(db_url, tmp_path)
    try:
        monkeypatch.setenv("DOMCHAT_DATABASE_URL", restored)
        after = _facts(stage.app())
    finally:
        _drop(db_url, restored)
    assert after == before
    assert after[1] == len(stage.world["buildings"])
