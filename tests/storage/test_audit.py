"""The audit chain: appends link up, verification finds the first altered, missing or reordered event,
and the database itself refuses to change or delete an event."""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from domchat.storage import audit
from domchat.storage.db import transaction
from domchat.storage.tables import AuditHeadRow, AuditRow

T0 = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)


def _fill(engine: Engine, n: int = 5) -> None:
    for i in range(n):
        with transaction(engine) as s:
            audit.append(
                s,
                audit.AuditEvent(
                    actor="daemon",
                    trigger="test",
                    action="grant_admin",
                    outcome="done",
                    building=f"b{i % 2}",
                    chat_id=-i,
                    user_id=i,
                    after={"i": i, "текст": "Ё"},
                ),
                T0 + timedelta(minutes=i),
            )


def _rows(engine: Engine) -> tuple[list[AuditRow], AuditHeadRow | None]:
    with Session(engine) as s:
        return list(audit.query(s)), s.get(AuditHeadRow, 1)


def test_chain_verifies_and_links(engine: Engine) -> None:
    _fill(engine)
    rows, head = _rows(engine)
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
    assert audit.verify(rows, head) == audit.Verdict(True, 5)


@pytest.mark.parametrize(
    ("seq", "change", "why"),
    [
        (3, {"reason": "edited"}, "altered"),
        (2, {"after": json.dumps({"i": 99})}, "altered"),
        (4, {"prev_hash": "f" * 64}, "prev_hash"),
    ],
)
def test_verify_names_first_broken_link(engine: Engine, seq: int, change: dict[str, str], why: str) -> None:
    _fill(engine)
    rows, head = _rows(engine)
    tampered = [r.model_copy(update=change) if r.seq == seq else r for r in rows]
    verdict = audit.verify(tampered, head)
    assert not verdict.ok and verdict.broken_at == seq and why in verdict.why


def test_verify_finds_missing_and_truncated_events(engine: Engine) -> None:
    _fill(engine)
    rows, head = _rows(engine)
    gap = audit.verify([r for r in rows if r.seq != 3], head)
    assert (gap.ok, gap.broken_at) == (False, 4)
    cut = audit.verify(rows[:-1], head)
    assert not cut.ok and "ends before" in cut.why


@pytest.mark.parametrize("statement", ["UPDATE audit_event SET reason = 'x' WHERE seq = 1", "DELETE FROM audit_event WHERE seq = 1"])
def test_database_refuses_to_change_events(engine: Engine, statement: str) -> None:
    _fill(engine, 2)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    rows, head = _rows(engine)
    assert audit.verify(rows, head).ok


def test_filters_and_exports(engine: Engine) -> None:
    _fill(engine, 6)
    with Session(engine) as s:
        only_b1 = list(audit.query(s, audit.AuditFilter(building="b1")))
        window = list(audit.query(s, audit.AuditFilter(since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=4))))
        small_batches = list(audit.query(s, batch=2))
    assert [r.seq for r in only_b1] == [2, 4, 6]
    assert [r.seq for r in window] == [3, 4]
    assert [r.seq for r in small_batches] == [1, 2, 3, 4, 5, 6]
    out = io.StringIO()
    assert audit.export_jsonl(small_batches, out) == 6
    first = json.loads(out.getvalue().splitlines()[0])
    assert first["after"] == {"i": 0, "текст": "Ё"} and first["hash"] == small_batches[0].hash
    csv_out = io.StringIO()
    audit.export_csv(small_batches, csv_out)
    assert csv_out.getvalue().splitlines()[0].split(",")[:3] == ["seq", "at", "run_id"]


def test_hash_is_reproducible_from_the_export_alone(engine: Engine) -> None:
    """What docs/audit.md tells auditors: sha256(prev_hash + canonical JSON without hash)."""
    import hashlib

    _fill(engine, 3)
    out = io.StringIO()
    with Session(engine) as s:
        audit.export_jsonl(audit.query(s), out)
    prev = "0" * 64
    for line in out.getvalue().splitlines():
        doc = json.loads(line)
        claimed = doc.pop("hash")
        body = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
        assert hashlib.sha256(prev.encode() + body).hexdigest() == claimed
        prev = claimed


def test_rejects_naive_instants() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        audit.format_instant(datetime(2026, 1, 1))


def test_event_is_frozen() -> None:
    e = audit.AuditEvent(actor="a", trigger="t", action="x", outcome="done")
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.actor = "b"  # type: ignore[misc]
