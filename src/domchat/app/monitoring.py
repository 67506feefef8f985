"""Monitoring use cases: a cycle's outcome and the database's state into the metrics; the
daemon's HTTP endpoint; the textfile of `sync --once`; the last audit verify."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, func, select

from domchat import metrics
from domchat.app.wiring import App, log
from domchat.errors import DomchatError, GisUnavailable, LockBusy, MaxUnavailable, SafetyFuse, StorageError
from domchat.storage import repo
from domchat.storage.audit import Verdict
from domchat.storage.db import transaction
from domchat.storage.tables import ActionRow, AuditHeadRow, BindingRow, BuildingRow
from domchat.sync.engine import CycleReport

VERIFIED = "audit.verified"
"""Bookmark: the last `audit verify` (when, whether the chain was whole), for the metrics of every process."""
PULLED = "gis.pull.succeeded"
"""Bookmark: when (wall clock) a GIS pull last succeeded; each cron run's textfile carries it on."""


def observed(app: App, run: Callable[[], CycleReport]) -> CycleReport:
    """Run one cycle and record how it ended, then the state it left (and the textfile, if set)."""
    outcome = "failed"
    report: CycleReport | None = None
    try:
        report = run()
        outcome = "pull_failed" if report.phases.get("pull") == "failed" else report.status
        return report
    except LockBusy:
        outcome = "busy"
        raise
    except SafetyFuse:
        outcome = "stopped"
        raise
    except (GisUnavailable, MaxUnavailable, StorageError):
        outcome = "unavailable"
        raise
    finally:
        metrics.cycle_ended(outcome)
        if report is not None and report.pull is not None and report.pull.ok:
            _remember_pull(app)
        planned = report is not None and "plan" in report.phases  # a pull alone says nothing of conflicts
        refresh_state(app, conflicts=len(report.conflicts) if planned and report is not None else None)
        if app.settings.metrics.textfile is not None:
            _write_textfile(app)


def refresh_state(app: App, conflicts: int | None = None) -> None:
    """Set the gauges from the database; a database that cannot be read leaves them as they were."""
    try:
        with Session(app.db) as s:
            pending = int(s.exec(select(func.count(col(ActionRow.key))).where(col(ActionRow.status) == "pending")).one())
            oldest = s.exec(select(func.min(col(ActionRow.created_at))).where(col(ActionRow.status) == "pending")).one()
            buildings = int(s.exec(select(func.count(col(BuildingRow.fias_guid)))).one())
            bound = int(s.exec(select(func.count(col(BindingRow.building)))).one())
            head = s.get(AuditHeadRow, 1)
            verified = repo.get_bookmark(s, VERIFIED)
            pulled = repo.get_bookmark(s, PULLED)
    except SQLAlchemyError as e:
        log.warning("metrics.state_unread", error=type(e).__name__)
        return
    age = (app.clock.wall() - _utc(oldest)).total_seconds() if oldest is not None else 0.0
    metrics.set_state(
        metrics.State(
            pending=pending,
            oldest_pending_age=max(age, 0.0),
            conflicts=conflicts,
            bound=bound,
            unbound=buildings - bound,
            audit_events=head.seq if head else 0,
        )
    )
    if pulled:
        metrics.LAST_PULL_OK.set(datetime.fromisoformat(pulled).timestamp())
    if verified:
        doc = json.loads(verified)
        metrics.audit_verified(bool(doc["ok"]), at=datetime.fromisoformat(doc["at"]).timestamp())


def _remember_pull(app: App) -> None:
    at = app.clock.wall()
    try:
        with transaction(app.db) as s:
            repo.set_bookmark(s, PULLED, at.isoformat(), at)
    except SQLAlchemyError as e:
        log.warning("metrics.pull_time_unstored", error=type(e).__name__)


def _utc(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _write_textfile(app: App) -> None:
    path = app.settings.metrics.textfile
    assert path is not None
    try:
        metrics.write_textfile(path)
    except OSError as e:
        log.warning("metrics.textfile_failed", path=str(path), error=e.strerror)


def record_verify(app: App, verdict: Verdict) -> None:
    """Remember this verify for the metrics (the daemon's, and the textfile of later runs)."""
    at = app.clock.wall()
    with transaction(app.db) as s:
        repo.set_bookmark(s, VERIFIED, json.dumps({"at": at.isoformat(), "ok": verdict.ok, "events": verdict.events}), at)
    metrics.audit_verified(verdict.ok, at=at.timestamp())
    if app.settings.metrics.textfile is not None:
        refresh_state(app)
        _write_textfile(app)


@contextmanager
def serving(app: App) -> Iterator[metrics.Health]:
    """The daemon's /metrics, /healthz and /readyz on `metrics.listen`, for as long as the block runs."""
    health = metrics.Health(app.settings.metrics.stale_after)
    # The daemon found its database current before serving: ready until a cycle says otherwise
    # (a first pull of a large region takes hours and is not "not ready").
    health.set_ready(True, "started")
    listen = app.settings.metrics.listen
    if not listen:
        yield health
        return
    host, _, port = listen.rpartition(":")
    try:
        server = metrics.MetricsServer(host.strip("[]"), int(port), health)
    except OSError as e:
        # The daemon's work matters more than its metrics: it runs on, and the scrape failing
        # (alert DomchatDaemonDown) tells the operator.
        log.error("metrics.listen_failed", then="/metrics, /healthz and /readyz are not served", address=listen, error=e.strerror)
        yield health
        return
    server.start()
    log.info("metrics.serving", address=f"{server.address[0]}:{server.address[1]}")
    try:
        yield health
    finally:
        server.close()


def readiness(error: DomchatError | None) -> tuple[bool, str]:
    """Whether the daemon is ready after a cycle ended with `error` (None: it ran)."""
    if error is None:
        return True, "ok"
    if isinstance(error, LockBusy):
        return True, "another instance holds the region's lease"  # a standby is healthy
    return False, str(error)
