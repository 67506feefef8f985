"""MAX updates are stored once per key, however many receivers deliver them at the same moment."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from domchat.storage import repo
from domchat.storage.db import transaction
from domchat.storage.tables import UpdateRow

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def _stored(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count(col(UpdateRow.id)))).one())


def test_a_key_already_stored_is_skipped(engine: Engine) -> None:
    with transaction(engine) as s:
        assert repo.add_update(s, "k1", NOW, "message_created", "{}")
    with transaction(engine) as s:
        assert not repo.add_update(s, "k1", NOW, "message_created", "{}")
        assert repo.add_update(s, "k2", NOW, "bot_started", "{}")
    assert _stored(engine) == 2


def test_a_key_another_writer_is_storing_meanwhile_is_skipped_not_an_error(engine: Engine) -> None:
    results: list[bool | BaseException] = []

    def second() -> None:
        try:
            with transaction(engine) as s:
                results.append(repo.add_update(s, "k1", NOW, "message_created", "{}"))
        except BaseException as e:  # the test reports what the writer met
            results.append(e)

    with transaction(engine) as s:
        assert repo.add_update(s, "k1", NOW, "message_created", "{}")
        writer = threading.Thread(target=second)
        writer.start()
        writer.join(0.5)  # it waits for this transaction (the row or the database is locked)
    writer.join(30)
    assert results == [False]
    assert _stored(engine) == 1
