"""Use cases around sync cycles: one cycle, one pull, resync, plans, conflicts, updates (the daemon: app/daemon.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlmodel import Session

from domchat import notify
from domchat.app import monitoring
from domchat.app.notices import notices_due
from domchat.app.progress import Progress, no_progress
from domchat.app.trail import checkpointed
from domchat.app.wiring import App, clients
from domchat.domain.model import Conflict, Domain, Manager, manager_on
from domchat.domain.plan import Plan, plan
from domchat.errors import DomchatError
from domchat.gis_client.client import GisClient
from domchat.max_client import parse as max_parse
from domchat.max_client.client import MaxClient
from domchat.max_client.receive import receive_updates as max_receive
from domchat.max_client.types import Update
from domchat.storage import repo
from domchat.sync import updates
from domchat.sync.engine import CycleReport, Scope, Syncer, load_domain
from domchat.sync.memory import PlanMemory


def _syncer(
    app: App,
    gis: GisClient | None,
    platform: MaxClient,
    progress: Progress = no_progress,
    memory: PlanMemory | None = None,
    *,
    fetch_updates: bool = True,
) -> Syncer:
    config = app.engine_config(app.bot_user_id(platform))
    if not fetch_updates:
        config = replace(config, poll_updates=False)
    return Syncer(app.ready_db(), gis, platform, app.clock, config, max_parse.update, progress, memory)


@checkpointed
def sync_once(
    app: App,
    *,
    actor: str = "daemon",
    trigger: str = "schedule",
    force: bool = False,
    pull: bool = True,
    fetch_updates: bool = True,
    progress: Progress = no_progress,
    memory: PlanMemory | None = None,
) -> CycleReport:
    """One cycle; `fetch_updates=False` when a receiver of this process stores the updates
    (the cycle then only handles what is stored); `memory` (the daemon's) lets it plan only
    what changed since the last."""
    with clients(app, with_gis=pull) as (gis, platform):
        syncer = _syncer(app, gis, platform, progress, memory, fetch_updates=fetch_updates)
        return monitoring.observed(app, lambda: syncer.cycle(actor=actor, trigger=trigger, pull=pull, force=force))


@checkpointed
def pull_once(app: App, *, actor: str = "daemon", trigger: str = "schedule:pull", progress: Progress = no_progress) -> CycleReport:
    """A GIS pull alone, under the region's GIS lease (the daemon's pull thread)."""
    with clients(app) as (gis, platform):
        syncer = _syncer(app, gis, platform, progress)
        return monitoring.observed(app, lambda: syncer.pull_only(actor=actor, trigger=trigger))


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


def receive_updates(
    app: App,
    mode: str,
    stop: threading.Event,
    ready: Callable[[str], None],
    stored: Callable[[Sequence[Update]], None] | None = None,
    *,
    announce: bool = True,
) -> None:
    """`domchat updates` (and the daemon's receiver): store MAX updates as they come (a cycle
    handles them); `stored` is given each batch that brought new ones. `announce` tells
    systemd where they come from (the daemon has its own READY)."""
    engine = app.ready_db()

    def store(batch: Sequence[Update], marker: int | None) -> None:
        new = updates.store(engine, app.clock, batch, marker)
        if new and stored is not None:
            stored(batch)

    def load_marker() -> int | None:
        with Session(engine) as s:
            value = repo.get_bookmark(s, updates.MARKER)
        return int(value) if value else None

    def told(where: str) -> None:
        ready(where)
        if announce:
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
            ready=told,
        )
    finally:
        platform.close()
