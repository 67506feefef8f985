"""The audit trail: append-only, hash-chained, verifiable by anyone with a copy of the table.

Each event's hash is ``sha256(prev_hash ‖ canonical JSON of the event)``, where the canonical
JSON holds every stored field but `hash` itself, with sorted keys, no spaces and UTF-8 text.
`docs/audit.md` tells auditors how to recompute it without domchat.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy import ColumnElement, and_
from sqlmodel import Session, col, select

from domchat.storage.tables import AuditHeadRow, AuditRow

GENESIS = "0" * 64

FIELDS = (
    "seq",
    "at",
    "run_id",
    "actor",
    "trigger",
    "action",
    "building",
    "org",
    "chat_id",
    "user_id",
    "before",
    "after",
    "reason",
    "outcome",
    "prev_hash",
    "hash",
)


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """What happened, to what, why, and with which outcome (before it gets its place in the chain)."""

    actor: str
    """``daemon``, or the operator's name for operator commands."""
    trigger: str
    """What started it: ``schedule``, ``cli:resync``, ``update:message_created``…"""
    action: str
    outcome: str
    """``done``, ``refused``, ``failed``, ``reported``, ``skipped``…"""
    run_id: str = ""
    building: str | None = None
    org: str | None = None
    chat_id: int | None = None
    user_id: int | None = None
    before: Any = None
    after: Any = None
    reason: str = ""
    """The grounds: GIS document ids, the rule that applied, the error."""


def format_instant(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("audit instants must be timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def canonical(row: AuditRow) -> bytes:
    """The bytes that are hashed: every field but `hash`, as canonical JSON."""
    doc = {f: getattr(row, f) for f in FIELDS if f != "hash"}
    doc["before"] = json.loads(row.before)
    doc["after"] = json.loads(row.after)
    return _json(doc).encode("utf-8")


def link_hash(prev_hash: str, row: AuditRow) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(row)).hexdigest()


def append(session: Session, event: AuditEvent, at: datetime) -> AuditRow:
    """Append `event` in the caller's transaction; the head row lock serialises writers."""
    head = session.exec(select(AuditHeadRow).where(AuditHeadRow.id == 1).with_for_update()).one()
    row = AuditRow(
        seq=head.seq + 1,
        at=format_instant(at),
        run_id=event.run_id,
        actor=event.actor,
        trigger=event.trigger,
        action=event.action,
        building=event.building,
        org=event.org,
        chat_id=event.chat_id,
        user_id=event.user_id,
        before=_json(event.before),
        after=_json(event.after),
        reason=event.reason,
        outcome=event.outcome,
        prev_hash=head.hash,
        hash="",
    )
    row.hash = link_hash(head.hash, row)
    session.add(row)
    # The event first: the database lets the head move only onto an event that exists.
    session.flush()
    head.seq, head.hash = row.seq, row.hash
    session.add(head)
    session.flush()
    return row


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    events: int
    broken_at: int | None = None
    why: str = ""


def verify(rows: Iterable[AuditRow], head: AuditHeadRow | None = None) -> Verdict:
    """Walk the chain in `seq` order; name the first link that does not hold."""
    prev, expected_seq, n = GENESIS, 1, 0
    for row in rows:
        if row.seq != expected_seq:
            return Verdict(False, n, row.seq, f"expected event {expected_seq}, found {row.seq} (an event is missing)")
        if row.prev_hash != prev:
            return Verdict(False, n, row.seq, "prev_hash does not match the previous event's hash")
        if link_hash(prev, row) != row.hash:
            return Verdict(False, n, row.seq, "hash does not match the event's content (altered)")
        prev, expected_seq, n = row.hash, expected_seq + 1, n + 1
    if head is not None and (head.seq != n or head.hash != prev):
        return Verdict(False, n, n + 1 if head.seq > n else head.seq, "the chain ends before its recorded head (events removed at the end)")
    return Verdict(True, n)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    building: str | None = None
    org: str | None = None
    chat_id: int | None = None
    user_id: int | None = None
    actor: str | None = None
    run_id: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        for name in ("building", "org", "chat_id", "user_id", "actor", "run_id", "action"):
            value = getattr(self, name)
            if value is not None:
                out.append(col(getattr(AuditRow, name)) == value)
        if self.since is not None:
            out.append(col(AuditRow.at) >= format_instant(self.since))
        if self.until is not None:
            out.append(col(AuditRow.at) < format_instant(self.until))
        return out


def query(session: Session, flt: AuditFilter = AuditFilter(), *, batch: int = 1000) -> Iterator[AuditRow]:
    """Events in chain order, fetched in batches so memory stays flat for any trail length."""
    after = 0
    while True:
        stmt = select(AuditRow).where(and_(col(AuditRow.seq) > after, *flt.clauses())).order_by(col(AuditRow.seq)).limit(batch)
        page = list(session.exec(stmt))
        yield from page
        if len(page) < batch:
            return
        after = page[-1].seq


def as_dict(row: AuditRow) -> dict[str, Any]:
    doc = {f: getattr(row, f) for f in FIELDS}
    doc["before"] = json.loads(row.before)
    doc["after"] = json.loads(row.after)
    return doc


Readings = Callable[[AuditRow], dict[str, str]]
"""Fields added to each exported event that are not part of it (not hashed): e.g. its reason in Russian."""


def export_jsonl(rows: Iterable[AuditRow], out: IO[str], readings: Readings | None = None) -> int:
    n = 0
    for row in rows:
        out.write(_json(as_dict(row) | (readings(row) if readings else {})) + "\n")
        n += 1
    return n


def export_csv(rows: Iterable[AuditRow], out: IO[str], readings: Readings | None = None, reading_fields: Sequence[str] = ()) -> int:
    writer = csv.writer(out)
    writer.writerow((*FIELDS, *reading_fields))
    n = 0
    for row in rows:
        extra = readings(row) if readings else {}
        writer.writerow([getattr(row, f) if getattr(row, f) is not None else "" for f in FIELDS] + [extra[f] for f in reading_fields])
        n += 1
    return n
