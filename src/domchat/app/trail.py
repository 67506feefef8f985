"""Use cases of the audit trail: reading it and verifying it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from sqlmodel import Session

from domchat.app.wiring import App
from domchat.storage import audit
from domchat.storage.tables import (
    AuditHeadRow,
    AuditRow,
)


def audit_rows(app: App, flt: audit.AuditFilter) -> Iterator[AuditRow]:
    with Session(app.ready_db()) as s:
        yield from audit.query(s, flt)


def audit_verify(app: App) -> audit.Verdict:
    with Session(app.ready_db()) as s:
        return audit.verify(audit.query(s), s.get(AuditHeadRow, 1))


def audit_events(app: App, flt: audit.AuditFilter) -> Iterator[dict[str, Any]]:
    """The events matching `flt`, oldest first, as plain documents (every field and hash)."""
    for row in audit_rows(app, flt):
        yield audit.as_dict(row)


def export_audit(app: App, flt: audit.AuditFilter, fmt: str, out: IO[str]) -> int:
    """Write the events matching `flt` to `out` as JSON lines or CSV; returns how many."""
    writer = audit.export_jsonl if fmt == "jsonl" else audit.export_csv
    return writer(audit_rows(app, flt), out)
