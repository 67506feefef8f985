"""Use cases of the audit trail: reading it (in the inspectorate's language) and verifying it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO, Any

from sqlmodel import Session, col, func, select

from domchat.app import monitoring
from domchat.app.progress import Progress, counted, no_progress
from domchat.app.wiring import App
from domchat.domain import reasons
from domchat.errors import ConfigError
from domchat.storage import audit
from domchat.storage.tables import (
    AuditHeadRow,
    AuditRow,
)


def audit_rows(app: App, flt: audit.AuditFilter) -> Iterator[AuditRow]:
    with Session(app.ready_db()) as s:
        yield from audit.query(s, flt)


def audit_verify(app: App, progress: Progress = no_progress) -> audit.Verdict:
    with Session(app.ready_db()) as s:
        head = s.get(AuditHeadRow, 1)
        verdict = audit.verify(counted(audit.query(s), progress, "verify", head.seq if head else 0), head)
    monitoring.record_verify(app, verdict)
    return verdict


READINGS = ("text_action", "text_outcome", "text_reason")
"""Fields added to events read in a language: not stored, not hashed (see docs/audit.md)."""
RAW = "none"
"""The `lang` that reads events as stored, with no readings added."""


def audit_texts(app: App, lang: str | None = None) -> reasons.AuditTexts:
    """The words of `lang` (default: `audit.lang`), Russian ones as the authority may have overridden them."""
    return reasons.load(lang or app.settings.audit.lang, app.settings.chats.templates_dir)


def reason_reader(app: App, lang: str | None = None) -> Callable[[str], str]:
    """Stored reasons (also those of planned actions) read in `lang` (default: `audit.lang`)."""
    return audit_texts(app, lang).reason


def _readings(app: App, lang: str | None) -> audit.Readings | None:
    if lang == RAW:
        return None
    if lang is not None and lang not in reasons.LANGS:
        raise ConfigError("--lang", f"must be {', '.join(reasons.LANGS)} or {RAW}")
    texts = audit_texts(app, lang)
    return lambda row: dict(zip(READINGS, (texts.action(row.action), texts.outcome(row.outcome), texts.reason(row.reason)), strict=True))


def audit_events(app: App, flt: audit.AuditFilter, lang: str | None = None) -> Iterator[dict[str, Any]]:
    """The events matching `flt`, oldest first, as plain documents (every field and hash), each
    with its `READINGS` in `lang` (default: `audit.lang`; `RAW`: none)."""
    readings = _readings(app, lang)
    for row in audit_rows(app, flt):
        yield audit.as_dict(row) | (readings(row) if readings else {})


def export_audit(
    app: App, flt: audit.AuditFilter, fmt: str, out: IO[str], lang: str | None = None, progress: Progress = no_progress
) -> int:
    """Write the events matching `flt` to `out` as JSON lines or CSV, with their `READINGS` in
    `lang` (as for `audit_events`); returns how many."""
    readings = _readings(app, lang)
    with Session(app.ready_db()) as s:
        total = int(s.exec(select(func.count(col(AuditRow.seq))).where(*flt.clauses())).one())
    rows = counted(audit_rows(app, flt), progress, "export", total)
    if fmt == "jsonl":
        return audit.export_jsonl(rows, out, readings)
    return audit.export_csv(rows, out, readings, READINGS if readings else ())
