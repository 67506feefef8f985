"""Use cases of the audit trail: reading it (in the inspectorate's language), verifying it, and
anchoring it with signed checkpoints."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import IO, Any, Concatenate, ParamSpec, TypeVar

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, func, select

from domchat.app import monitoring
from domchat.app.progress import Progress, counted, no_progress
from domchat.app.wiring import App
from domchat.domain import reasons
from domchat.errors import AuditBroken, ConfigError, DomchatError
from domchat.storage import audit, checkpoints
from domchat.storage.files import atomic_private
from domchat.storage.tables import AuditHeadRow, AuditRow

log = structlog.get_logger("domchat.audit")


def audit_rows(app: App, flt: audit.AuditFilter) -> Iterator[AuditRow]:
    with Session(app.ready_db()) as s:
        yield from audit.query(s, flt)


@dataclass(frozen=True)
class VerifyReport:
    verdict: audit.Verdict
    head_seq: int
    head_hash: str
    checkpoints: int = 0
    """How many signed checkpoints the chain was checked against."""
    vouched: int = 0
    """The newest event a checkpoint vouches for: events after it rest on the database alone."""


def audit_verify(
    app: App, checkpoint_source: Path | None = None, public_key: Path | None = None, progress: Progress = no_progress
) -> VerifyReport:
    """Walk the chain; with `checkpoint_source` (a checkpoint file or domchat's log), check it still holds every checkpoint."""
    cps: list[checkpoints.Checkpoint] = []
    public = None
    if checkpoint_source is not None:
        if public_key is None:
            raise ConfigError("--public-key", "required with --checkpoints: the key that signed them")
        public = checkpoints.load_public(public_key)
        try:
            with checkpoint_source.open(encoding="utf-8", errors="replace") as f:
                cps = checkpoints.read(f, str(checkpoint_source))
        except OSError as e:
            raise ConfigError("--checkpoints", f"cannot read {checkpoint_source}: {e.strerror}") from None
        cps = [cp for cp in cps if cp.region == app.settings.region.code]
        if not cps:
            raise ConfigError("--checkpoints", f"no checkpoint of region {app.settings.region.code} in {checkpoint_source}")
    wanted = {cp.seq for cp in cps}
    hashes: dict[int, str] = {}

    def noting(rows: Iterator[AuditRow]) -> Iterator[AuditRow]:
        for row in rows:
            if row.seq in wanted:
                hashes[row.seq] = row.hash
            yield row

    with Session(app.ready_db()) as s:
        head = s.get(AuditHeadRow, 1)
        verdict = audit.verify(noting(counted(audit.query(s), progress, "verify", head.seq if head else 0)), head)
    head_seq, head_hash = (head.seq, head.hash) if head is not None else (0, audit.GENESIS)
    if public is not None and verdict.ok:
        verdict = checkpoints.hold(cps, public, hashes, verdict.events)
    monitoring.record_verify(app, verdict)
    return VerifyReport(verdict, head_seq, head_hash, len(cps), max(wanted, default=0))


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


def export_audit_to(
    app: App, flt: audit.AuditFilter, fmt: str, path: Path, lang: str | None = None, progress: Progress = no_progress
) -> int:
    """`export_audit` into `path`, whole or not at all (a temporary file flushed and renamed), mode 0600."""
    try:
        with atomic_private(path) as out:
            return export_audit(app, flt, fmt, out, lang, progress)
    except OSError as e:
        raise ConfigError("--out", f"cannot write {path}: {e.strerror}") from None


def keygen(out: Path) -> tuple[Path, str]:
    """A checkpoint key pair: the private key for `audit.checkpoint_key_file`, the public one for auditors."""
    return checkpoints.generate_key(out)


_CHECKPOINTING = threading.Lock()
"""The daemon's threads (cycles, pulls) checkpoint one at a time: the file stays in chain order."""


def checkpoint(app: App) -> checkpoints.Checkpoint | None:
    """Sign the chain's head, when it moved since the last checkpoint: to the log and the checkpoint file.

    Before vouching for the head, the chain must still hold the last checkpoint: a chain cut or
    rewritten since is reported, never signed over.
    """
    with _CHECKPOINTING:
        return _checkpoint(app)


def _checkpoint(app: App) -> checkpoints.Checkpoint | None:
    cfg = app.settings.audit
    if cfg.checkpoint_key_file is None or cfg.checkpoint_file is None:
        return None
    key = checkpoints.load_private(cfg.checkpoint_key_file)
    previous = checkpoints.last(cfg.checkpoint_file)
    with Session(app.db) as s:
        head = s.get(AuditHeadRow, 1)
        if head is None or (previous is not None and (previous.seq, previous.hash) == (head.seq, head.hash)):
            return None
        if previous is not None:
            vouched = s.get(AuditRow, previous.seq)
            if vouched is None or vouched.hash != previous.hash or head.seq < previous.seq:
                log.error("audit.checkpoint_refused", seq=previous.seq, hash=previous.hash, head_seq=head.seq)
                raise AuditBroken(
                    f"the audit chain no longer holds event {previous.seq} as checkpointed at {previous.at}: not signing its head"
                )
        if head.seq == 0:
            return None
        cp = checkpoints.sign(key, seq=head.seq, hash=head.hash, at=audit.format_instant(app.clock.wall()), region=app.settings.region.code)
    log.info(checkpoints.LOG_EVENT, **cp.doc())
    try:
        checkpoints.append(cfg.checkpoint_file, cp)
    except OSError as e:
        raise ConfigError("audit.checkpoint_file", f"cannot append to {cfg.checkpoint_file}: {e.strerror}") from None
    return cp


P = ParamSpec("P")
R = TypeVar("R")


def checkpointed(fn: Callable[Concatenate[App, P], R]) -> Callable[Concatenate[App, P], R]:
    """Run a use case, then checkpoint the head if it recorded events.

    When the use case itself failed, its error is what the caller sees; a checkpoint that cannot
    be made then is only logged.
    """

    @wraps(fn)
    def wrapper(app: App, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = fn(app, *args, **kwargs)
        except BaseException:
            try:
                checkpoint(app)
            except (DomchatError, SQLAlchemyError, OSError) as e:
                log.warning("audit.checkpoint_failed", error=str(e))
            raise
        checkpoint(app)
        return result

    return wrapper
