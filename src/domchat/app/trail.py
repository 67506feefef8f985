"""Use cases of the audit trail: reading it and verifying it."""

from __future__ import annotations

from collections.abc import Iterator

from sqlmodel import Session

from domchat.app import monitoring
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
        verdict = audit.verify(audit.query(s), s.get(AuditHeadRow, 1))
    monitoring.record_verify(app, verdict)
    return verdict
