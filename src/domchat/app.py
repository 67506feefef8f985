"""Wiring: settings → database, clients, templates, policy → the use cases the CLI offers.

Each function here is one operator-visible use case; `cli.py` only parses arguments, calls one
of these and presents the result. The demo calls the same functions.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests
import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from domchat import settings as settings_mod
from domchat.clock import Clock, FixedClock, SystemClock
from domchat.errors import ConfigError, DomchatError, GisUnavailable, LockBusy, MaxUnavailable, SafetyFuse, StorageError
from domchat.gis_client.client import GisClient
from domchat.gis_client.grants_file import read_grants
from domchat.gis_client.types import GuestGrantRecord
from domchat.mapping import templates as templates_mod
from domchat.max_client import parse as max_parse
from domchat.max_client.client import MaxClient
from domchat.max_client.ratelimit import client_rate
from domchat.max_client.receive import receive_updates as max_receive
from domchat.max_client.types import Update
from domchat.settings import Settings
from domchat.storage import audit, db, repo
from domchat.storage.db import transaction
from domchat.storage.ratelimit import DatabaseRateLimiter
from domchat.storage.tables import (
    ActionRow,
    AuditHeadRow,
    AuditRow,
    BindingRow,
    BuildingRow,
    GrantRow,
    OrganisationRow,
    ResidentInviteRow,
    ResidentRow,
    RunRow,
    StaffRow,
)
from domchat.sync import binding, enrolment, grants, residents, updates
from domchat.sync.engine import CycleReport, EngineConfig, Scope, Syncer, load_domain
from domchat.sync.model import Building, Conflict, Domain, Manager, Permission, Policy, manager_on
from domchat.sync.plan import Plan, plan
from domchat.sync.pull import Hoa
from domchat.sync.scheduler import next_wake

log = structlog.get_logger("domchat")

BOT_BOOKMARK = "max.bot"


def operator_name(given: str | None) -> str:
    """Who runs an operator command: `--operator`, else the login name."""
    if given:
        return given
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


@dataclass
class App:
    settings: Settings
    clock: Clock
    _db: Engine | None = field(default=None, repr=False)

    @property
    def db(self) -> Engine:
        if self._db is None:
            self._db = db.make_engine(self.settings.database_url())
        return self._db

    def ready_db(self) -> Engine:
        db.require_current(self.db)
        return self.db

    def templates(self) -> templates_mod.Templates:
        return templates_mod.load(self.settings.chats.templates_dir)

    def gis(self) -> GisClient:
        return GisClient(self.settings.gis, password=self.settings.gis_password())

    def max(self) -> MaxClient:
        token = self.settings.max_token()
        limiter = None
        if self.db.dialect.name == "postgresql":
            # Several instances may share the token: they share its rate through the database.
            name = "max:" + hashlib.sha256(token.reveal().encode()).hexdigest()[:16]
            limiter = DatabaseRateLimiter(self.ready_db(), name, client_rate(replace(self.settings.max, rate_share=1.0)))
        return MaxClient(self.settings.max, token, limiter=limiter)

    def policy(self, bot_user_id: int) -> Policy:
        c = self.settings.chats
        return Policy(
            bot_user_id=bot_user_id,
            authority_accounts=frozenset(self.settings.max.authority_accounts),
            staff_permissions=frozenset(Permission(p) for p in c.staff_permissions),
            authority_permissions=frozenset(Permission(p) for p in c.authority_permissions),
            repair_admin_drift=c.repair_admin_drift,
            repair_member_drift=c.repair_member_drift,
            authority_name=self.settings.region.authority_name,
        )

    def _known_bot(self) -> tuple[int | None, str]:
        with Session(self.ready_db()) as s:
            known = repo.get_bookmark(s, BOT_BOOKMARK)
        if not known:
            return None, ""
        uid, _, name = known.partition(":")
        return int(uid), name

    def bot_user_id(self, platform: MaxClient | None = None) -> int:
        """The bot's MAX user id: asked once with /me, then remembered in the database."""
        known, _ = self._known_bot()
        if known is not None:
            return known
        if platform is None:
            raise DomchatError("the bot's identity is not known yet: run 'domchat sync --once' first")
        me = platform.me()
        with transaction(self.db) as s:
            repo.set_bookmark(s, BOT_BOOKMARK, f"{me.user_id}:{me.username or ''}", self.clock.now())
        return me.user_id

    def bot_username(self, platform: MaxClient) -> str:
        self.bot_user_id(platform)
        name = self._known_bot()[1]
        if not name:
            raise DomchatError("the bot has no username on MAX: deep links cannot be made")
        return name

    def engine_config(self, bot_user_id: int) -> EngineConfig:
        s = self.settings
        return EngineConfig(
            region=s.region.code,
            default_tz=s.region.default_tz,
            licensees=s.all_licensees(),
            policy=self.policy(bot_user_id),
            templates=self.templates(),
            max_removal_share=s.sync.max_removal_share,
            fuse_floor=s.sync.fuse_floor,
            reconcile_interval=timedelta(seconds=s.sync.full_reconcile_interval),
            code_attempts=s.chats.binding_code_attempts,
            pull_grants=s.gis.pull_guest_grants,
            pull_contracts=s.gis.pull_contracts,
            hoas=tuple(Hoa(*row) for row in s.all_hoas()),
            poll_updates=not s.max.webhook_url,
            bot_username=self._known_bot()[1],
            resident_invite_ttl_days=s.chats.resident_invite_ttl_days,
        )


def open_app(config: Path | None, now: datetime | None = None) -> App:
    s = settings_mod.load(config)
    return App(settings=s, clock=FixedClock(now) if now is not None else SystemClock())


@contextmanager
def clients(app: App, *, with_gis: bool = True) -> Iterator[tuple[GisClient | None, MaxClient]]:
    gis = app.gis() if with_gis else None
    platform = app.max()
    try:
        yield gis, platform
    finally:
        platform.close()
        if gis is not None:
            gis.close()


# Use cases


def upgrade_db(app: App) -> str:
    return db.upgrade(app.db)


def _syncer(app: App, gis: GisClient | None, platform: MaxClient) -> Syncer:
    return Syncer(app.ready_db(), gis, platform, app.clock, app.engine_config(app.bot_user_id(platform)), max_parse.update)


def sync_once(app: App, *, actor: str = "daemon", trigger: str = "schedule", force: bool = False, pull: bool = True) -> CycleReport:
    with clients(app, with_gis=pull) as (gis, platform):
        return _syncer(app, gis, platform).cycle(actor=actor, trigger=trigger, pull=pull, force=force)


def resync(
    app: App, *, operator: str, building: str | None = None, org: str | None = None, dry_run: bool = False, force: bool = False
) -> CycleReport | Plan:
    """Re-read the chosen chats from MAX (and their houses from GIS) and put them right now."""
    with Session(app.ready_db()) as s:
        domain = load_domain(s)
    scope = Scope(buildings=_select(domain, app.clock.now(), building, org), reread=True)
    with clients(app, with_gis=not dry_run) as (gis, platform):
        syncer = _syncer(app, gis, platform)
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
    """Cycle until `stop`: scheduled pulls, local midnights, and updates in between."""
    s = app.settings.sync
    last_pull: datetime | None = None
    next_boundary: datetime | None = None
    while not stop.is_set():
        wake = next_wake(
            app.clock.now(), last_pull, timedelta(seconds=s.pull_interval), next_boundary, timedelta(seconds=s.updates_interval)
        )
        delay = (wake.at - app.clock.now()).total_seconds()
        if delay > 0 and stop.wait(delay):
            return
        try:
            report = sync_once(app, trigger=wake.reason, pull=wake.pull)
        except (LockBusy, GisUnavailable, MaxUnavailable, StorageError) as e:
            log.warning("cycle skipped", error=str(e), retry_in=s.updates_interval)
            continue
        except SafetyFuse as e:
            log.error("cycle stopped by the safety fuse; an operator must check and run 'domchat sync --once --force'", error=str(e))
            continue
        if wake.pull and report.pull is not None and report.pull.ok:
            last_pull = report.now
        elif wake.pull and last_pull is None:
            last_pull = report.now  # a failed first pull waits its interval too, instead of hammering GIS
        next_boundary = report.next_change
        log.info("cycle done", **{k: v for k, v in report.as_dict().items() if k in ("run_id", "planned", "done", "failed", "next_change")})


def conflicts(app: App) -> list[dict[str, Any]]:
    """Buildings two or more organisations claim on today's local date, with the documents."""
    with Session(app.ready_db()) as s:
        domain = load_domain(s)
    now = app.clock.now()
    out = []
    for b, periods in sorted(domain.periods.items()):
        building = domain.buildings.get(b)
        if building is None:
            continue
        m = manager_on(periods, building.local_date(now))
        if isinstance(m, Conflict):
            out.append(
                {
                    "building": b,
                    "address": building.address,
                    "day": m.day.isoformat(),
                    "claims": [p.doc() for p in m.claims],
                    "chat": domain.bindings[b].chat_id if b in domain.bindings else None,
                }
            )
    return out


@dataclass(frozen=True)
class PlanView:
    plan: Plan
    at: datetime
    managers: dict[str, str]
    """Building → a one-line account of who manages it at `at`, and why."""


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
    return PlanView(result, at, managers)


def _only(domain: Domain, building: str) -> Domain:
    return replace(domain, bindings={k: v for k, v in domain.bindings.items() if k == building})


def status(app: App) -> dict[str, Any]:
    engine = app.ready_db()
    with Session(engine) as s:
        last_ok = s.exec(select(RunRow).where(RunRow.status == "ok").order_by(col(RunRow.started_at).desc())).first()
        last = s.exec(select(RunRow).order_by(col(RunRow.started_at).desc())).first()
        pending = len(list(s.exec(select(ActionRow.key).where(ActionRow.status == "pending"))))
        buildings = len(list(s.exec(select(BuildingRow.fias_guid))))
        bound = len(list(s.exec(select(BindingRow.building))))
        orgs = len(list(s.exec(select(OrganisationRow.ogrn))))
        head = s.get(AuditHeadRow, 1)
        domain = load_domain(s)
    now = app.clock.now()
    conflicts = []
    next_change = None
    for b in domain.bindings:
        m = manager_on(domain.periods.get(b, ()), domain.buildings[b].local_date(now))
        if isinstance(m, Conflict):
            conflicts.append({"building": b, "day": m.day.isoformat(), "orgs": list(m.orgs)})
        t = domain.local_midnights_after(b, now)
        if t is not None and (next_change is None or t < next_change):
            next_change = t
    return {
        "now": now.isoformat(),
        "last_cycle": _run_doc(last),
        "last_successful_cycle": _run_doc(last_ok),
        "pending_actions": pending,
        "buildings": buildings,
        "bound_chats": bound,
        "unbound_buildings": buildings - bound,
        "organisations": orgs,
        "conflicts": conflicts,
        "next_boundary": next_change.isoformat() if next_change else None,
        "audit_events": head.seq if head else 0,
    }


def _run_doc(r: RunRow | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {
        "run_id": r.run_id,
        "started_at": r.started_at.isoformat(),
        "finished_at": r.finished_at.isoformat() if r.finished_at else None,
        "status": r.status,
        "actor": r.actor,
    }


def pending_chats(app: App, operator: str) -> list[dict[str, str]]:
    """Buildings without a chat, each with a fresh one-time binding code (earlier codes stop working)."""
    engine = app.ready_db()
    now = app.clock.now()
    ttl = timedelta(days=app.settings.chats.binding_code_ttl_days)
    out = []
    with transaction(engine) as s:
        bound = set(s.exec(select(BindingRow.building)))
        for b in s.exec(select(BuildingRow).where(BuildingRow.state == "active").order_by(col(BuildingRow.address))):
            if b.fias_guid in bound:
                continue
            code = binding.issue_code(s, b.fias_guid, now, ttl)
            out.append({"building": b.fias_guid, "address": b.address, "code": code, "expires_at": (now + ttl).isoformat()})
        audit.append(
            s,
            audit.AuditEvent(
                actor=operator,
                trigger="cli:chats-pending",
                action="chat.codes_issued",
                outcome="done",
                after={"buildings": len(out)},
                reason="binding codes issued (only their hashes are kept)",
            ),
            now,
        )
    return out


def org_invite(app: App, ogrn: str, operator: str) -> str:
    """A personal enrolment deep link for one staff member of `ogrn`."""
    engine = app.ready_db()
    now = app.clock.now()
    with Session(engine) as s:
        if s.get(OrganisationRow, ogrn) is None:
            raise DomchatError(f"unknown organisation {ogrn}: not in the stored GIS snapshot (run a sync first)")
    platform = app.max()
    try:
        username = app.bot_username(platform)
    finally:
        platform.close()
    with transaction(engine) as s:
        token = enrolment.issue_invite(s, ogrn, now, timedelta(days=app.settings.chats.invite_ttl_days), operator)
        audit.append(
            s,
            audit.AuditEvent(
                actor=operator,
                trigger="cli:org-invite",
                action="staff.invite",
                outcome="done",
                org=ogrn,
                reason="personal enrolment link issued (only its hash is kept)",
            ),
            now,
        )
    return f"https://max.ru/{username}?start={token}"


def import_grants(app: App, path: Path, operator: str) -> grants.GrantsReport:
    """Grants from a CSV/JSON file; the whole file is checked before anything is stored."""
    records = read_grants(path)
    now = app.clock.now()
    with transaction(app.ready_db()) as s:
        return grants.apply(s, records, source="file", actor=operator, trigger="cli:grants-import", run_id="", now=now)


def export_invitations(app: App, operator: str, *, everyone: bool = False) -> list[dict[str, str]]:
    """A personal link for each grant in force whose resident has not joined yet.

    Only the links' hashes are kept, so a link is shown once: by default only grants never
    invited before get one; `everyone` re-issues links for all (earlier unused links stop working).
    """
    now = app.clock.now()
    ttl = timedelta(days=app.settings.chats.resident_invite_ttl_days)
    platform = app.max()
    try:
        username = app.bot_username(platform)
    finally:
        platform.close()
    out: list[dict[str, str]] = []
    with transaction(app.ready_db()) as s:
        joined = set(s.exec(select(ResidentRow.grant_id)))
        invited = set(s.exec(select(ResidentInviteRow.grant_id)))
        for g in s.exec(select(GrantRow).where(GrantRow.status == "active").order_by(col(GrantRow.building), col(GrantRow.premises))):
            building = s.get(BuildingRow, g.building)
            if g.grant_id in joined or (g.grant_id in invited and not everyone) or building is None:
                continue
            if g.valid_to is not None and g.valid_to < Building(g.building, "", building.tz).local_date(now):
                continue
            token = residents.issue(s, g.grant_id, now, ttl, operator)
            out.append(
                {
                    "grant_id": g.grant_id,
                    "building": g.building,
                    "address": building.address,
                    "premises": g.premises,
                    "person_ref": g.person_ref,
                    "link": f"https://max.ru/{username}?start={token}",
                    "expires_at": (now + ttl).isoformat(),
                }
            )
        audit.append(
            s,
            audit.AuditEvent(
                actor=operator,
                trigger="cli:invitations-export",
                action="resident.invitations",
                outcome="done",
                after={"invitations": len(out)},
                reason="personal links issued (only their hashes are kept)",
            ),
            now,
        )
    _deliver(app, out)
    return out


def _deliver(app: App, invitations: list[dict[str, str]]) -> None:
    """POST each invitation to the authority's delivery webhook, when one is configured."""
    url = app.settings.chats.invitation_webhook_url
    if not url or not invitations:
        return
    with requests.Session() as http:
        for inv in invitations:
            try:
                http.post(url, json=inv, timeout=30).raise_for_status()
            except requests.RequestException as e:
                raise DomchatError(f"invitation webhook {url} failed for grant {inv['grant_id']}: {type(e).__name__}") from None


def issue_invitation(app: App, building: str, premises: str, days: int, operator: str) -> dict[str, str]:
    """A personal invitation for a tenant without guest access, valid `days` building-local days."""
    now = app.clock.now()
    with Session(app.ready_db()) as s:
        row = s.get(BuildingRow, building.lower())
    if row is None:
        raise DomchatError(f"unknown building {building}: not in the stored GIS snapshot")
    if days < 1:
        raise ConfigError("--days", "must be at least 1")
    local = Building(row.fias_guid, row.address, row.tz).local_date(now)
    record = GuestGrantRecord(
        grant_id=f"manual-{uuid.uuid4()}",
        fias_house_guid=row.fias_guid,
        premises=premises,
        person_ref=f"issued by {operator}",
        valid_from=local,
        valid_to=local + timedelta(days=days - 1),
        status="active",
    )
    with transaction(app.db) as s:
        grants.apply(s, [record], source="manual", actor=operator, trigger="cli:invitations-issue", run_id="", now=now)
    invitations = [i for i in export_invitations(app, operator) if i["grant_id"] == record.grant_id]
    return invitations[0]


def staff_list(app: App, ogrn: str | None = None) -> list[dict[str, Any]]:
    with Session(app.ready_db()) as s:
        stmt = select(StaffRow).order_by(col(StaffRow.org), col(StaffRow.user_id))
        if ogrn is not None:
            stmt = stmt.where(StaffRow.org == ogrn)
        return [
            {
                "org": r.org,
                "user_id": r.user_id,
                "enrolled_at": r.enrolled_at.isoformat(),
                "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
            }
            for r in s.exec(stmt)
        ]


def staff_revoke(app: App, ogrn: str, user_id: int, operator: str) -> None:
    """The user is no longer staff of `ogrn`: the next cycle takes their rights away."""
    now = app.clock.now()
    with transaction(app.ready_db()) as s:
        row = s.get(StaffRow, (ogrn, user_id))
        if row is None or row.revoked_at is not None:
            raise DomchatError(f"user {user_id} is not enrolled staff of {ogrn}")
        row.revoked_at = now
        s.add(row)
        audit.append(
            s,
            audit.AuditEvent(
                actor=operator, trigger="cli:org-staff-revoke", action="staff.revoke", outcome="done", org=ogrn, user_id=user_id
            ),
            now,
        )


def receive_updates(app: App, mode: str, stop: threading.Event, ready: Callable[[str], None]) -> None:
    """`domchat updates`: store MAX updates as they come (the cycle handles them)."""
    engine = app.ready_db()

    def store(batch: Sequence[Update], marker: int | None) -> None:
        updates.store(engine, app.clock, batch, marker)

    def load_marker() -> int | None:
        with Session(engine) as s:
            value = repo.get_bookmark(s, updates.MARKER)
        return int(value) if value else None

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
            ready=ready,
        )
    finally:
        platform.close()


def check_config(config: Path | None) -> Settings:
    """Load the config and everything it names; raise the first problem found."""
    s = settings_mod.load(config)
    s.max_token()
    s.gis_password()
    s.all_licensees()
    t = templates_mod.load(s.chats.templates_dir)
    sample = {
        "premises": "1",
        "link": "https://max.ru/join/x",
        "address": "г. Пример, ул. Пример, д. 1",
        "org_name": "ООО «Пример»",
        "org_phone": "+7",
        "dispatch_phone": "+7",
        "authority_name": "орган",
        "reason": "пример",
    }
    for name in templates_mod.NAMES:
        try:
            t.render(name, **sample)
        except ConfigError as e:
            raise ConfigError(f"chats.templates_dir: {name}.txt", e.problem) from None
    db.make_engine(s.database_url())
    return s


def audit_rows(app: App, flt: audit.AuditFilter) -> Iterator[AuditRow]:
    with Session(app.ready_db()) as s:
        yield from audit.query(s, flt)


def audit_verify(app: App) -> audit.Verdict:
    with Session(app.ready_db()) as s:
        return audit.verify(audit.query(s), s.get(AuditHeadRow, 1))


def schemas_dir(config: Path | None) -> Path:
    """The GIS ZhKH package the emulator serves: the config's, else the default."""
    return settings_mod.load(config).gis.schemas_dir
