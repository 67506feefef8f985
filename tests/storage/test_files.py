"""Files that hold secrets or the record are created 0600, and exports are whole or absent."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from domchat.storage import db, files


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> object:
    old = os.umask(0o022)  # a usual umask: without care, files come out world-readable
    yield
    os.umask(old)


def test_the_sqlite_database_and_its_wal_and_shm_are_private(tmp_path: Path, open_umask: object) -> None:
    path = tmp_path / "domchat.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO bookmark (name, value, updated_at) VALUES ('x', 'y', '2026-01-01 00:00:00')"))
        wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
        assert wal.exists() and shm.exists()
        assert {p.name: _mode(p) for p in (path, wal, shm)} == {p.name: 0o600 for p in (path, wal, shm)}
    engine.dispose()


def test_an_atomic_export_is_private_and_whole_or_absent(tmp_path: Path, open_umask: object) -> None:
    target = tmp_path / "export.jsonl"
    with files.atomic_private(target) as out:
        out.write("one\n")
    assert target.read_text() == "one\n" and _mode(target) == 0o600

    def fail_midway() -> None:
        with files.atomic_private(target) as out:
            out.write("two, half")
            raise RuntimeError("the disk filled up")

    with pytest.raises(RuntimeError):
        fail_midway()
    assert target.read_text() == "one\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.jsonl"]


def test_appended_lines_are_private(tmp_path: Path, open_umask: object) -> None:
    target = tmp_path / "checkpoints.jsonl"
    files.append_line(target, "a")
    files.append_line(target, "b\n")
    assert target.read_text() == "a\nb\n" and _mode(target) == 0o600
