"""A plan reads the stored snapshot as of one instant: a pull committing meanwhile (the daemon's
pull thread) is seen whole or not at all."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from domchat.storage import repo
from domchat.storage.db import snapshot, transaction
from domchat.storage.tables import BookmarkRow

AT = datetime(2026, 11, 30, 19, 0, tzinfo=UTC)


def _values(s: object) -> dict[str, str]:
    return {r.name: r.value for r in s.exec(select(BookmarkRow))}  # type: ignore[attr-defined]


def test_a_commit_between_two_reads_of_one_snapshot_is_not_seen(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite: the snapshot's BEGIN IMMEDIATE holds a writer until it ends, by construction")
    with transaction(engine) as s:
        repo.set_bookmark(s, "a", "old", AT)
        repo.set_bookmark(s, "b", "old", AT)

    def pull() -> None:  # stores both at once, as a pull stores its whole answer
        with transaction(engine) as s:
            repo.set_bookmark(s, "a", "new", AT)
            repo.set_bookmark(s, "b", "new", AT)

    writer = threading.Thread(target=pull)
    with snapshot(engine) as s:
        first = _values(s)["a"]
        writer.start()
        writer.join(30)  # committed while the snapshot is open (at READ COMMITTED the next read would see it)
        assert not writer.is_alive()
        assert (first, _values(s)["b"]) == ("old", "old")
    with snapshot(engine) as s:
        assert _values(s) == {"a": "new", "b": "new"}
