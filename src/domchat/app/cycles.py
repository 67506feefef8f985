"""Use cases around sync cycles: one cycle, resync, the daemon, plans, conflicts, updates (status: app/status.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from domchat import metrics, notify
from domchat.app import monitoring
from domchat.app.notices import notices_due
from domchat.app.progress import Progress, no_progress, ticker
from domchat.app.trail import checkpointed
from domchat.app.wiring import App, clients, log
from domchat.domain.model import Conflict, Domain, Manager, manager_on
from domchat.domain.plan import Plan, plan
from domchat.errors import ConfigError, DomchatError, SafetyFuse
from domchat.gis_client.client import GisClient
from domchat.max_client import parse as max_parse
from domchat.max_client.client import MaxClient
from domchat.max_client.receive import receive_updates as max_receive
from domchat.max_client.types import Update
from domchat.storage import repo
from domchat.sync import updates
from domchat.sync.engine import CycleReport, Scope, Syncer, load_domain, one_line
from domchat.sync.memory import PlanMemory
from domchat.sync.scheduler import next_wake


def _syncer(
    app: App, gis: GisClient | None, platform: MaxClient, progress: Progress = no_progress, memory: PlanMemory | None = None
) -> Syncer:
    config = app.engine_config(app.bot_user_id(platform))
    return Syncer(app.ready_db(), gis, platform, app.clock, config, max_parse.update, progress, memory)


@checkpointed
def sync_once(
    app: App,
    *,
    actor: str = "daemon",
    trigger: str = "schedule",
    force: bool = False,
    pull: bool = True,
    progress: Progress = no_progress,
    memory: PlanMemory | None = None,
) -> CycleReport:
    """One cycle; `memory` (the daemon's) lets it plan only what changed since the last."""
    with clients(app, with_gis=pull) as (gis, platform):
        syncer = _syncer(app, gis, platform, progress, memory)
        return monitoring.observed(app, lambda: syncer.cycle(actor=actor, trigger=trigger, pull=pull, force=force))


@checkpointed
def resync(
    app: App,
    *,
    operator: str,
    building: str | None = None,
    org: str | None = None,
    dry_run: bool = False,
    force: bool = False,
    progress: Progress = no_progress,
) -> CycleReport | Plan:
    """Re-read the chosen chats from MAX (and their houses from GIS) and put them right now."""
    with Session(app.ready_db()) as s:
        domain = load_domain(s)
    scope = Scope(buildings=_select(domain, app.clock.now(), building, org), reread=True)
    with clients(app, with_gis=not dry_run) as (gis, platform):
        syncer = _syncer(app, gis, platform, progress)
        if dry_run:
            return syncer.preview(scope)
        return syncer.cycle(actor=operator, trigger="cli:resync", force=force, scope=scope)


def _select(domain: Domain, now: datetime, building: str | None, org: str | None) -> frozenset[str] | None:
    if building is not None:
        b = building.lower()
        if b not in domain.buildings:
            raise DomchatError(f"unknown building {b}: not in the stored GIS snapshot")
        return frozenset({b})
    if org is not None:
        if org not in domain.organisations:
            raise DomchatError(f"unknown organisation {org}: not in the stored GIS snapshot")
        # Every building the organisation manages now, manages later, or managed until recently.
        return frozenset(b for b, periods in domain.periods.items() if any(p.org == org for p in periods))
    return None


def daemon(app: App, stop: threading.Event) -> None:
    """Cycle until `stop`: scheduled pulls, local midnights, and updates in between.

    No error inside a cycle ends the daemon: the cycle records it as its outcome, and anything
    that escapes (MAX or GIS unreachable while opening, the lock busy, the fuse) is logged in one
    line and waited out with a growing pause. Only a configuration or database that cannot be
    used at all (checked before every cycle) ends it, with its exit code.

    Under systemd (Type=notify) it reports READY once the database is current, pings the
    watchdog while it turns, and says STOPPING on the way out; /metrics, /healthz and /readyz
    are served on `metrics.listen` meanwhile."""
    app.ready_db()
    with monitoring.serving(app) as health, notify.on_alive(health.beat):
        monitoring.refresh_state(app)
        notify.ready("cycling")
        try:
            _cycle_until(app, stop, health)
        finally:
            notify.stopping()


def _wait(app: App, stop: threading.Event, seconds: float) -> bool:
    """`app.clock.sleep(seconds, stop)` in slices, reporting the loop alive after each
    (`notify.IDLE_SLICE`, or half the systemd watchdog); True if `stop` was set."""
    left = seconds
    while left > 0:
        step = min(left, notify.watchdog_interval() or notify.IDLE_SLICE)
        if app.clock.sleep(step, stop):
            return True
        notify.alive()
        left -= step
    return False


def _cycle_until(app: App, stop: threading.Event, health: metrics.Health) -> None:
    s = app.settings.sync
    last_pull: datetime | None = None
    next_boundary: datetime | None = None
    pull_takes = timedelta(0)
    """How long the last cycle with a pull took: a pull that long is not started just before a boundary."""
    failures = 0
    tick = ticker(app.clock)
    memory = PlanMemory(timedelta(seconds=s.full_plan_interval))
    while not stop.is_set():
        app.ready_db()
        wake = next_wake(
            app.clock.now(),
            last_pull,
            timedelta(seconds=s.pull_interval),
            next_boundary,
            timedelta(seconds=s.updates_interval),
            pull_takes,
        )
        if failures:
            wake = replace(wake, at=max(wake.at, app.clock.now() + _backoff(failures, s.updates_interval, s.pull_interval)))
        delay = (wake.at - app.clock.now()).total_seconds()
        if delay > 0 and _wait(app, stop, delay):
            return
        notify.alive()
        started = app.clock.monotonic()
        try:
            report = sync_once(app, trigger=wake.reason, pull=wake.pull, progress=tick, memory=memory)
        except SafetyFuse as e:
            failures += 1
            log.error("cycle.fuse_stopped", error=str(e), hint="check 'domchat plan', then run 'domchat sync --once --force'")
            health.set_ready(*monitoring.readiness(e))
            continue
        except ConfigError:
            raise
        except Exception as e:
            failures += 1
            log.error("cycle.failed", error=one_line(e), retry_in=_backoff(failures, s.updates_interval, s.pull_interval).seconds)
            health.set_ready(*(monitoring.readiness(e) if isinstance(e, DomchatError) else (False, one_line(e))))
            continue
        failures = failures + 1 if report.status == "failed" else 0
        health.set_ready(*((False, report.error) if report.status == "failed" else monitoring.readiness(None)))
        notify.alive()
        if wake.pull and report.phases.get("pull") in ("ok", "degraded"):
            last_pull = report.now
            pull_takes = timedelta(seconds=app.clock.monotonic() - started)
        elif wake.pull and last_pull is None:
            last_pull = report.now  # a failed first pull waits its interval too, instead of hammering GIS
        next_boundary = report.next_change or next_boundary


def _backoff(failures: int, base: float, cap: float) -> timedelta:
    """The pause after `failures` failed cycles in a row: doubling from `base`, at most `cap`."""
    return timedelta(seconds=min(base * 2 ** min(failures - 1, 20), cap))


def conflicts(app: App) -> list[dict[str, Any]]:
    """Buildings two or more organisations claim on today's local date, with the documents."""
    with Session(app.ready_db()) as s:
        domain = load_domain(s)
    return [
        {
            "building": c.building,
            "address": domain.buildings[c.building].address,
            "day": c.day.isoformat(),
            "claims": [p.doc() for p in c.claims],
            "chat": domain.bindings[c.building].chat_id if c.building in domain.bindings else None,
        }
        for c in domain.conflicts(app.clock.now())
    ]


@dataclass(frozen=True)
class PlanView:
    plan: Plan
    at: datetime
    managers: dict[str, str]
    """Building → a one-line account of who manages it at `at`, and why."""
    notices: list[dict[str, Any]] = field(default_factory=list)
    """The notices due on each building's local day at `at` (docs/notices.md)."""


def plan_at(app: App, at: datetime, building: str | None = None) -> PlanView:
    """What a cycle would do at `at`, on the stored snapshot and the last observed chats (no I/O)."""
    engine = app.ready_db()
    with Session(engine) as s:
        domain = load_domain(s)
        actual = repo.load_actual(s)
    if building is not None:
        building = building.lower()
        if building not in domain.buildings:
            raise DomchatError(f"unknown building {building}: not in the stored GIS snapshot")
        domain = _only(domain, building)
    cfg = app.engine_config(app.bot_user_id())
    result = plan(domain, actual, at, cfg.policy, cfg.templates)
    managers = {}
    for b in sorted(domain.bindings) if building is None else [building]:
        day = domain.buildings[b].local_date(at)
        m = manager_on(domain.periods.get(b, ()), day)
        if isinstance(m, Manager):
            managers[b] = f"{m.org} on {day} ({', '.join(m.source_ids)})"
        elif isinstance(m, Conflict):
            managers[b] = f"conflict on {day}: {', '.join(m.orgs)}"
        else:
            managers[b] = f"nobody on {day}"
    due = notices_due(app, at, building) if app.settings.chats.notices else []
    return PlanView(result, at, managers, due)


def _only(domain: Domain, building: str) -> Domain:
    return replace(domain, bindings={k: v for k, v in domain.bindings.items() if k == building})


def receive_updates(app: App, mode: str, stop: threading.Event, ready: Callable[[str], None]) -> None:
    """`domchat updates`: store MAX updates as they come (the cycle handles them)."""
    engine = app.ready_db()

    def store(batch: Sequence[Update], marker: int | None) -> None:
        updates.store(engine, app.clock, batch, marker)

    def load_marker() -> int | None:
        with Session(engine) as s:
            value = repo.get_bookmark(s, updates.MARKER)
        return int(value) if value else None

    def announce(where: str) -> None:
        ready(where)
        notify.ready(f"receiving updates: {where}")

    platform = app.max()
    try:
        max_receive(
            mode,
            platform,
            app.settings.max,
            store=store,
            load_marker=load_marker,
            stop=stop,
            webhook_secret=app.settings.max_webhook_secret(),
            ready=announce,
        )
    finally:
        platform.close()
