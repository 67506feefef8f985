"""One sync cycle: updates → pull → snapshot → plan → execute → audit, under the region's lease
(and the pull under the region's GIS lease); or a pull alone, under the GIS lease only."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from importlib.metadata import version
from typing import Any

import structlog
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from domchat import metrics
from domchat.clock import Clock
from domchat.domain.actions import RemoveMember, RevokeAdmin
from domchat.domain.model import ActualChat, Domain, MemberState, Policy
from domchat.domain.plan import Plan, plan
from domchat.domain.reasons import because, joined
from domchat.domain.templates import Templates
from domchat.errors import DomchatError, GisError, LeaseLost, MaxApiError, MaxError, MaxUnavailable, SafetyFuse
from domchat.mapping.periods import effective
from domchat.max_client.types import Update
from domchat.storage import repo
from domchat.storage.audit import AuditEvent, append
from domchat.storage.db import snapshot, transaction
from domchat.storage.tables import AuditHeadRow, AuditRow, BindingRow, RunRow
from domchat.sync import handling, residents, updates
from domchat.sync import notices as notifying
from domchat.sync import pull as pulling
from domchat.sync.executor import UNAVAILABLE_STREAK, Executor, Outcome, RetryPolicy
from domchat.sync.guessing import GuessLimits
from domchat.sync.locks import Lease
from domchat.sync.memory import PlanMemory, take_all
from domchat.sync.ports import ChatPlatform, GisSource, Progress, no_progress
from domchat.sync.scheduler import rereads

log = structlog.get_logger("domchat.engine")

VERSION = version("domchat")
"""This domchat's version, recorded in each run and in the audit event closing each cycle."""

CHATS_READ = "max.chats.full_read"
"""The instant the bound chats' ring of re-reads is read up to (`scheduler.rereads`), and
`CHATS_AFTER` the last chat of the latest slice."""
CHATS_AFTER = "max.chats.reread_after"


@dataclass(frozen=True)
class EngineConfig:
    region: str
    default_tz: str
    licensees: list[str]
    policy: Policy
    templates: Templates
    max_removal_share: float
    fuse_floor: int
    reconcile_interval: timedelta
    """Every bound chat is re-read once in this period (a slice each cycle), the documents once."""
    code_attempts: int
    pull_grants: bool = False
    pull_contracts: bool = True
    hoas: tuple[pulling.Hoa, ...] = ()
    bot_username: str = ""
    resident_invite_ttl_days: int = 60
    poll_updates: bool = True
    """Fetch MAX updates in the cycle; False when `domchat updates --mode webhook` receives them."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    lease_ttl: timedelta = timedelta(minutes=10)
    guess_limits: GuessLimits = field(default_factory=GuessLimits)
    notices: notifying.NoticeConfig | None = None
    """Reminders and announcements to the houses, after everything else of a cycle; None: off."""
    reread_calls: int = 200
    """Most MAX calls a cycle's slice of chat re-reads may spend (two a chat)."""
    house_interval: timedelta = timedelta(days=7)
    """Every house's data is re-read from GIS once in this period, a slice each pull."""
    house_slice: int = 160
    """Most houses a pull re-reads."""


@dataclass(frozen=True)
class Scope:
    """Which buildings a cycle looks at (None: all), and whether to re-read their chats first."""

    buildings: frozenset[str] | None = None
    reread: bool = False


@dataclass(frozen=True)
class _Run:
    run_id: str
    actor: str
    trigger: str
    force: bool
    lease: Lease
    """The lease the run's writes are fenced by: the region's, or the GIS lease for a pull alone."""
    gis_lease: Lease | None = None
    """The region's GIS lease, held while this run pulls (the pull's store is fenced by it)."""


def gis_lease_name(region: str) -> str:
    """The lease a pull writes under: GIS and MAX are different services with different limits,
    so a pull (hours, at GIS's pace) runs beside the cycles' MAX work, which hold `region:<code>`."""
    return f"region:{region}:gis"


def load_domain(session: Session) -> Domain:
    """The stored snapshot, its GIS claims turned into effective management periods."""
    return effective(repo.load_domain(session))


def _scoped(domain: Domain, scope: Scope) -> Domain:
    if scope.buildings is None:
        return domain
    return replace(domain, bindings={b: v for b, v in domain.bindings.items() if b in scope.buildings})


def _chats(domain: Domain, buildings: frozenset[str] | None) -> set[int]:
    """The chats bound to `buildings` (None: every bound chat)."""
    bindings = domain.bindings
    return {bindings[b].chat_id for b in (bindings if buildings is None else buildings) if b in bindings}


PHASES = ("updates", "pull", "plan", "execute")
_SEVERITY = {"ok": 0, "skipped": 0, "degraded": 1, "failed": 2}


@dataclass
class CycleReport:
    """What a cycle did, as plain values (never exception objects: it is copied, stored as JSON)."""

    run_id: str
    now: datetime
    updates: int = 0
    pull: pulling.PullReport | None = None
    buildings: int = 0
    """Bound buildings planned: all of them in a whole plan, those that changed or reached a
    boundary in the daemon's incremental plans (`sync/memory.py`)."""
    planned: int = 0
    """Actions planned. It, `conflicts` and `inactive` cover only the buildings planned."""
    done: int = 0
    failed: int = 0
    retrying: int = 0
    waiting: int = 0
    reported: int = 0
    settled: int = 0
    refreshed: int = 0
    reread: int = 0
    """Chats re-read by this cycle's slice of the spread reconcile (after everything else)."""
    yielded: int = 0
    """Actions below the top lane left pending because a boundary came during execution."""
    reread_cut: bool = False
    """The slice stopped early because a boundary came (its rights go first, in the next cycle)."""
    conflicts: list[str] = field(default_factory=list)
    inactive: list[int] = field(default_factory=list)
    next_change: datetime | None = None
    notices: int = 0
    """Notices to houses handed to MAX this cycle (docs/notices.md)."""
    phases: dict[str, str] = field(default_factory=dict)
    """Each phase of `PHASES` → ok, degraded (partial: some parts or actions failed), failed
    (nothing of it could be done), or skipped."""
    problems: list[str] = field(default_factory=list)
    """One line for each thing that went wrong, prefixed with its phase."""
    exit_code: int = 0
    """What `sync --once` ends with (README): the failed phase's error's, 1 if only degraded."""

    @property
    def status(self) -> str:
        """The run's outcome: the worst of its phases (never ok after a failed one)."""
        return max(self.phases.values(), key=lambda v: _SEVERITY[v], default="ok").replace("skipped", "ok")

    @property
    def error(self) -> str:
        return f"cycle {self.status}: " + "; ".join(self.problems) if self.problems else ""

    def degrade(self, phase: str, problem: str) -> None:
        if self.phases.get(phase) != "failed":
            self.phases[phase] = "degraded"
        self.problems.append(f"{phase}: {problem}")
        self.exit_code = self.exit_code or 1

    def fail(self, phase: str, error: BaseException) -> None:
        self.phases[phase] = "failed"
        self.problems.append(f"{phase}: {one_line(error)}")
        code = error.exit_code if isinstance(error, DomchatError) else 3 if isinstance(error, SQLAlchemyError) else 1
        self.exit_code = code if self.exit_code in (0, 1) else self.exit_code

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["now"] = self.now.isoformat()
        d["next_change"] = self.next_change.isoformat() if self.next_change else None
        d["status"] = self.status
        return d


def one_line(error: BaseException) -> str:
    """An error as one line for the log and the run row; library errors are cut to their first
    line (SQLAlchemy appends the statement and its parameters)."""
    if isinstance(error, DomchatError):
        return str(error)
    first = (str(error).splitlines() or [""])[0][:300]
    return f"{type(error).__name__}: {first}"


class Syncer:
    def __init__(
        self,
        db: Engine,
        gis: GisSource | None,
        platform: ChatPlatform,
        clock: Clock,
        config: EngineConfig,
        parse_update: Callable[[dict[str, Any]], Update],
        progress: Progress = no_progress,
        memory: PlanMemory | None = None,
    ) -> None:
        """`memory`: the daemon's planning state across cycles (plan only what changed); None:
        every cycle loads and plans the whole region."""
        self.db = db
        self.memory = memory
        self.progress = progress
        self.gis = gis
        self.platform = platform
        self.clock = clock
        self.cfg = config
        self.parse_update = parse_update

    def cycle(
        self,
        *,
        actor: str = "daemon",
        trigger: str = "schedule",
        pull: bool = True,
        force: bool = False,
        scope: Scope | None = None,
    ) -> CycleReport:
        """One cycle under the region's lease; `scope` limits it to some buildings (resync).

        Whatever goes wrong inside is recorded as the outcome of its phase and the run row is
        closed; only the safety fuse and a lost lease end the cycle by raising (after that)."""
        now = self.clock.now()
        run_id = str(uuid.uuid4())
        report = CycleReport(run_id=run_id, now=now)
        with structlog.contextvars.bound_contextvars(run_id=run_id), ExitStack() as leases:
            # The GIS lease first (a pull in progress elsewhere makes this cycle busy at once), then the region's.
            gis_lease = leases.enter_context(self._lease(gis_lease_name(self.cfg.region))) if pull and self.gis is not None else None
            lease = leases.enter_context(self._lease(f"region:{self.cfg.region}"))
            run = _Run(run_id, actor, trigger, force, lease, gis_lease)
            first_seq = self._start_run(run_id, actor, trigger, now)
            log.info("cycle.started", actor=actor, trigger=trigger, version=VERSION)
            stopped = False
            try:
                self._cycle(report, run, pull, scope or Scope())
            except SafetyFuse:
                stopped = True
                raise
            except LeaseLost as e:
                report.fail(next((p for p in PHASES if p not in report.phases), "execute"), e)
                raise
            finally:
                status = "stopped" if stopped else report.status
                self._finish_run(run, status, report, first_seq)
                level = log.info if report.status == "ok" else log.error
                level(
                    "cycle.finished",
                    status=status,
                    error=report.error or None,
                    planned=report.planned,
                    done=report.done,
                    failed=report.failed,
                    retrying=report.retrying,
                )
        return report

    def pull_only(self, *, actor: str = "daemon", trigger: str = "schedule:pull") -> CycleReport:
        """A GIS pull alone, under the region's GIS lease only, so that MAX cycles go on beside it
        (the daemon's pull thread). It records a run of its own with the one phase `pull`, closed
        whatever happens; like `cycle`, only a lost lease ends it by raising (after that).

        Owners' meetings are read here too when due (they come from GIS): the daemon's cycles do
        not pull, so they no longer read them."""
        assert self.gis is not None, "a pull needs the GIS client"
        now = self.clock.now()
        run_id = str(uuid.uuid4())
        report = CycleReport(run_id=run_id, now=now)
        with structlog.contextvars.bound_contextvars(run_id=run_id), self._lease(gis_lease_name(self.cfg.region)) as lease:
            run = _Run(run_id, actor, trigger, False, lease, lease)
            first_seq = self._start_run(run_id, actor, trigger, now)
            log.info("pull.started", actor=actor, trigger=trigger, version=VERSION)
            try:
                with self._phase(report, "pull"):
                    report.pull = self._pull(report, run, now, Scope())
                    self._votings(report)
            except LeaseLost as e:
                report.fail("pull", e)
                raise
            finally:
                if report.phases.get("pull") == "failed":
                    report.pull = pulling.PullReport(ok=False, error=report.problems[-1].removeprefix("pull: "))
                self._finish_run(run, report.status, report, first_seq)
                (log.info if report.status == "ok" else log.error)("pull.finished", status=report.status, error=report.error or None)
        return report

    def _votings(self, report: CycleReport) -> None:
        """Owners' meetings from GIS, when notices are on and the day's read is due."""
        if self.gis is None or self.cfg.notices is None or not notifying.votings_due(self.db, self.clock.wall()):
            return
        with Session(self.db) as s:
            bound = sorted(s.exec(select(BindingRow.building)))
        if not bound:
            return
        try:
            notifying.read_votings(self.db, self.gis, bound, self.clock.wall())
        except GisError as e:
            report.degrade("pull", f"owners' meetings not read from GIS, the stored ones stand: {e}")

    def _lease(self, name: str) -> Lease:
        return Lease(self.db, name, self.clock, self.cfg.lease_ttl)

    @contextmanager
    def _phase(self, report: CycleReport, name: str) -> Iterator[None]:
        """Run one phase: an error ends that phase only (as failed), never the cycle."""
        try:
            with metrics.phase(name):
                yield
        except (SafetyFuse, LeaseLost):
            raise
        except Exception as e:
            report.fail(name, e)
            log.error("phase.failed", phase=name, error=one_line(e))
        else:
            report.phases.setdefault(name, "ok")

    def preview(self, scope: Scope) -> Plan:
        """What a cycle would do for `scope`, reading the chats afresh; changes nothing."""
        with Session(self.db) as s:
            domain = _scoped(load_domain(s), scope)
            actual = repo.load_actual(s)
        if scope.reread:
            actual |= {c: self.read_chat(c) for c in sorted(b.chat_id for b in domain.bindings.values())}
        return plan(domain, actual, self.clock.now(), self.cfg.policy, self.cfg.templates)

    def _cycle(self, report: CycleReport, run: _Run, pull: bool, scope: Scope) -> None:
        now = report.now
        ctx = handling.Context(
            db=self.db,
            platform=self.platform,
            clock=self.clock,
            templates=self.cfg.templates,
            authority_accounts=self.cfg.policy.authority_accounts,
            bot_user_id=self.cfg.policy.bot_user_id,
            code_attempts=self.cfg.code_attempts,
            run_id=run.run_id,
            actor=run.actor,
            bot_username=self.cfg.bot_username,
            invite_ttl_days=self.cfg.resident_invite_ttl_days,
            guess_limits=self.cfg.guess_limits,
        )
        with self._phase(report, "updates"):
            if self.cfg.poll_updates:
                updates.fetch(self.db, self.platform, self.clock)
            report.updates = updates.process(ctx, self.parse_update)

        if not pull or self.gis is None:
            report.phases["pull"] = "skipped"
        with self._phase(report, "pull"):
            if pull and self.gis is not None:
                report.pull = self._pull(report, run, now, scope)
        if report.phases["pull"] == "failed":
            report.pull = pulling.PullReport(ok=False, error=report.problems[-1].removeprefix("pull: "))

        executor = Executor(
            self.db,
            self.platform,
            self.clock,
            run_id=run.run_id,
            actor=run.actor,
            trigger=run.trigger,
            retry=self.cfg.retry,
            fence=run.lease.fence,
        )
        planned: Plan | None = None
        with self._phase(report, "plan"):
            planned, domain = self._plan(report, run, executor, scope)
        if planned is None:
            report.phases["execute"] = "skipped"
            return
        with self._phase(report, "execute"):
            boundary = report.next_change
            outcome: Outcome = executor.run(executor.pending(), run.lease.check, self.progress, boundary)
            if outcome.refused_users:
                self._refusals(ctx, outcome.refused_users, {b.chat_id: k for k, b in domain.bindings.items()})
                outcome = outcome.plus(executor.run(executor.pending(), run.lease.check, self.progress, boundary))
            report.done, report.failed, report.reported = outcome.done, outcome.failed, outcome.reported
            report.retrying, report.waiting, report.yielded = outcome.retrying, outcome.waiting, outcome.yielded
            for problem in outcome.errors:
                report.degrade("execute", problem)
            if outcome.retrying:
                report.degrade("execute", f"{outcome.retrying} actions failed this time and will be retried")
            if outcome.unavailable:
                report.degrade("execute", f"stopped early, the rest waits: {outcome.unavailable}")
            if outcome.yielded:
                return  # a boundary came: its rights go first, in the next cycle (the daemon wakes for it now)
            if self.cfg.notices is not None and scope.buildings is None and not outcome.unavailable:
                # The lowest lane: after the plan's rights changes and the answers to people.
                gis = self.gis if pull else None
                sent = notifying.cycle(self.db, executor, gis, domain, now, self.clock.wall(), self.cfg.notices, run.lease.check, boundary)
                report.notices = sent.released
                for problem in sent.problems:
                    report.degrade("execute", problem)
            if scope.buildings is None and not outcome.unavailable:
                ring = self.memory.ring if self.memory is not None else sorted(b.chat_id for b in domain.bindings.values())
                self._reread(report, ring, run)

    def _pull(self, report: CycleReport, run: _Run, now: datetime, scope: Scope) -> pulling.PullReport:
        assert self.gis is not None
        pctx = pulling.PullContext(
            self.db,
            self.gis,
            self.cfg.region,
            self.cfg.default_tz,
            run.run_id,
            run.actor,
            run.trigger,
            self.clock,
            run.gis_lease.fence if run.gis_lease is not None else run.lease.fence,
            run.force,
            refresh_houses=scope.reread,
            refresh_documents=scope.reread or (scope.buildings is None and self._due(pulling.DOCUMENTS_READ)),
            house_interval=self.cfg.house_interval,
            house_slice=self.cfg.house_slice if scope.buildings is None else 0,
            pull_grants=self.cfg.pull_grants,
            pull_contracts=self.cfg.pull_contracts,
            progress=self.progress,
        )
        got = pulling.pull(pctx, self.cfg.licensees, now, self.cfg.hoas)
        for problem in got.problems:
            report.degrade("pull", problem)
        for org in got.kept_empty:
            report.degrade("pull", f"GIS answered nothing for {org}: its stored claims are kept")
        return got

    def _plan(self, report: CycleReport, run: _Run, executor: Executor, scope: Scope) -> tuple[Plan, Domain]:
        """Read the chats that need it, plan, settle leftovers, check the fuse, store the intent.

        With a memory (the daemon) only the buildings it names are planned; an error on the way
        makes it load everything again next time, since the touches it took are spent."""
        memory = self.memory if scope == Scope() else None
        try:
            return self._plan_in(report, run, executor, scope, memory)
        except BaseException:
            if memory is not None:
                memory.invalidate()
            raise

    def _plan_in(self, report: CycleReport, run: _Run, executor: Executor, scope: Scope, memory: PlanMemory | None) -> tuple[Plan, Domain]:
        now = report.now
        leftovers = [r for r in executor.pending() if r.run_id != run.run_id]
        chosen: frozenset[str] | None = None
        if memory is None:
            if scope.buildings is None:
                take_all(self.db, run.run_id, now)  # this plan loads everything: the touches are spent
            with snapshot(self.db) as s:  # a pull storing meanwhile is planned on whole or not at all
                domain = _scoped(load_domain(s), scope)
                known = repo.load_actual(s)
        else:
            memory.catch_up(self.db, now)
            domain, known = memory.domain, memory.actual
            chosen = memory.take(now, {r.chat_id for r in leftovers})
        bound = _chats(domain, chosen)
        stale = {r.chat_id for r in leftovers if r.chat_id in bound}
        # The periodic re-read of every chat is not here but spread over the day (`_reread`).
        to_read = bound if scope.reread else {c for c in bound if c not in known} | stale
        report.refreshed, unread = self._refresh(sorted(to_read), now)
        if unread:
            report.degrade("plan", f"{len(unread)} chats could not be read ({unread[0]}); planned on what was last seen")
        if memory is None:
            with Session(self.db) as s:
                actual = repo.load_actual(s)
        else:
            memory.catch_up(self.db, now)  # the chats just read
            more = memory.take(now)
            chosen = None if chosen is None or more is None else chosen | more
            domain, actual = memory.domain, memory.actual

        result = plan(domain, actual, now, self.cfg.policy, self.cfg.templates, chosen)
        planned_chats = _chats(domain, chosen)
        report.buildings = len(planned_chats)
        if memory is not None:
            result = replace(result, next_change=memory.next_change())
        report.planned = len(result.actions)
        report.next_change = result.next_change
        report.inactive = list(result.inactive)
        report.conflicts = [f"{c.building} {c.day} {'/'.join(c.orgs)}" for c in result.conflicts]
        self._audit_conflicts(result, run, now)

        # Leftovers of buildings not planned now are not obsolete: their buildings did not change.
        report.settled = executor.settle([r for r in leftovers if r.chat_id in planned_chats], {a.key() for a in result.actions}, actual)
        self._fuse(result, actual, run, now)
        executor.persist(result.actions)
        return result, domain

    def _refusals(self, ctx: handling.Context, refused: list[tuple[int, int, str]], buildings: dict[int, str]) -> None:
        """Remember who the platform would not add; residents get the chat's join link instead."""
        links: dict[int, str | None] = {}
        for chat_id, user_id, code in refused:
            if code == residents.PRIVACY and chat_id not in links:
                links[chat_id] = self.platform.get_chat(chat_id).link
            with transaction(self.db) as s:
                residents.refused(ctx, s, chat_id, buildings.get(chat_id, ""), user_id, code, links.get(chat_id))

    # Reading chats

    def _reread(self, report: CycleReport, ring: list[int], run: _Run) -> None:
        """The lowest lane, after the cycle's actions and notices: re-read the bound chats read
        longest ago, as many as keep every chat read once a `reconcile_interval` (at most
        `reread_calls` calls), so that drift is found without a day's re-reads in one cycle. It
        stops as soon as a boundary comes: the daemon wakes for it when this cycle ends."""
        wall = self.clock.wall()
        with Session(self.db) as s:
            last, after = repo.get_bookmark(s, CHATS_READ), repo.get_bookmark(s, CHATS_AFTER)
        since = datetime.fromisoformat(last) if last else None
        again = rereads(ring, int(after) if after else None, since, wall, self.cfg.reconcile_interval, self.cfg.reread_calls // 2)
        boundary = report.next_change

        def boundary_came() -> bool:
            run.lease.check()
            report.reread_cut = boundary is not None and self.clock.now() >= boundary
            return report.reread_cut

        try:
            report.reread, unread = self._refresh(again.items, report.now, boundary_came)
        except MaxError as e:
            report.degrade("execute", f"re-reading chats stopped, MAX is not answering: {e}")
            return
        tried = report.reread + len(unread)
        if unread:
            report.degrade("execute", f"{len(unread)} chats could not be re-read ({unread[0]}); read again on the next lap")
        if tried:
            with transaction(self.db) as s:
                repo.set_bookmark(s, CHATS_READ, again.read_up_to(tried, wall).isoformat(), report.now)
                repo.set_bookmark(s, CHATS_AFTER, str(again.items[tried - 1]), report.now)
        if report.reread_cut:
            log.info("chat re-reads yield to a boundary", reread=report.reread, left=len(again.items) - tried, boundary=str(boundary))

    def _refresh(self, chat_ids: list[int], now: datetime, stop: Callable[[], bool] = lambda: False) -> tuple[int, list[int]]:
        """Re-read and store chats in order until `stop()`; returns how many were read and which
        could not be (those keep what was last seen). MAX not answering several times in a row
        fails the phase instead."""
        n, unread, streak = 0, [], 0
        for done, chat_id in enumerate(chat_ids):
            if stop():
                break
            self.progress("read_chats", done, len(chat_ids))
            try:
                chat = self.read_chat(chat_id)
            except MaxError as e:
                unread.append(chat_id)
                streak = streak + 1 if isinstance(e, MaxUnavailable) else 0
                log.warning("chat.unread", chat_id=chat_id, error=str(e))
                if streak >= UNAVAILABLE_STREAK:
                    raise
                continue
            streak = 0
            with transaction(self.db) as s:
                repo.save_actual(s, chat, now)
            n += 1
        if chat_ids:
            self.progress("read_chats", len(chat_ids), len(chat_ids))
        return n, unread

    def read_chat(self, chat_id: int) -> ActualChat:
        try:
            info = self.platform.get_chat(chat_id)
        except MaxApiError as e:
            if e.status in (403, 404):
                return ActualChat(chat_id, None, None, None, {}, active=False)
            raise
        members = {
            m.user_id: MemberState(is_admin=m.is_admin, is_owner=m.is_owner, permissions=frozenset(m.permissions))
            for m in self.platform.members(chat_id)
        }
        pinned = info.pinned_message.text if info.pinned_message is not None else None
        return ActualChat(chat_id, info.title, pinned, info.owner_id, members, active=info.status == "active")

    def _due(self, bookmark: str) -> bool:
        """Full re-reads follow the wall clock: planning `--now` in the future must not trigger one."""
        with Session(self.db) as s:
            last = repo.get_bookmark(s, bookmark)
        return last is None or self.clock.wall() - datetime.fromisoformat(last) >= self.cfg.reconcile_interval

    # Safety

    def _fuse(self, result: Plan, actual: dict[int, ActualChat], run: _Run, now: datetime) -> None:
        revokes = sum(1 for a in result.actions if isinstance(a, RevokeAdmin))
        removes = sum(1 for a in result.actions if isinstance(a, RemoveMember))
        if max(revokes, removes) < self.cfg.fuse_floor:
            return  # below the floor whatever the totals: they are not counted (the region's members)
        admins = sum(1 for c in actual.values() for m in c.members.values() if m.is_admin)
        members = sum(len(c.members) for c in actual.values())
        worst = max((revokes, admins, "admins"), (removes, members, "members"), key=lambda t: t[0] / max(t[1], 1))
        n, total, what = worst
        share = n / max(total, 1)
        if n < self.cfg.fuse_floor or share <= self.cfg.max_removal_share:
            return
        why = f"the plan takes away {n} of {total} {what} ({share:.0%}), above the limit of {self.cfg.max_removal_share:.0%}"
        fuse = because("fuse", count=n, total=total, what=what, share=f"{share:.0%}", limit=f"{self.cfg.max_removal_share:.0%}")
        with transaction(self.db) as s:
            event = AuditEvent(
                actor=run.actor,
                trigger=run.trigger,
                action="cycle.forced" if run.force else "cycle.stopped",
                outcome="done" if run.force else "refused",
                run_id=run.run_id,
                reason=joined(fuse, because("forced") if run.force else ""),
            )
            append(s, event, now)
        if not run.force:
            raise SafetyFuse(why + ": check 'domchat plan', then rerun with --force")

    def _audit_conflicts(self, result: Plan, run: _Run, now: datetime) -> None:
        """Audit a conflict when it appears or changes, not on every cycle while it lasts."""
        with transaction(self.db) as s:
            for c in result.conflicts:
                name = f"conflict:{c.building}"
                value = json.dumps({"orgs": list(c.orgs), "sources": sorted({x for p in c.claims for x in p.source_ids})})
                if repo.get_bookmark(s, name) == value:
                    continue
                repo.set_bookmark(s, name, value, now)
                append(
                    s,
                    AuditEvent(
                        actor=run.actor,
                        trigger=run.trigger,
                        action="management.conflict",
                        outcome="frozen",
                        run_id=run.run_id,
                        building=c.building,
                        after=json.loads(value),
                        reason=because("conflict_frozen", day=c.day.isoformat(), orgs=list(c.orgs)),
                    ),
                    now,
                )
                log.warning("management.conflict", building=c.building, orgs=c.orgs, day=str(c.day))

    # Runs

    def _start_run(self, run_id: str, actor: str, trigger: str, now: datetime) -> int:
        """Record the run; returns the sequence number its first audit event will have."""
        with transaction(self.db) as s:
            s.add(RunRow(run_id=run_id, started_at=now, actor=actor, trigger=trigger, version=VERSION))
            head = s.get(AuditHeadRow, 1)
            return (head.seq if head else 0) + 1

    def _finish_run(self, run: _Run, status: str, report: CycleReport, first_seq: int) -> None:
        with transaction(self.db) as s:
            row = s.get(RunRow, run.run_id)
            if row is not None:
                row.status, row.finished_at = status, self.clock.now()
                row.summary = json.dumps(report.as_dict(), default=str)
                row.phases, row.error = json.dumps(report.phases), report.error or None
                s.add(row)
            # This run's own events: the daemon's pull thread and its cycles append side by side.
            mine = s.execute(
                sa_select(func.min(AuditRow.seq), func.max(AuditRow.seq)).where(
                    col(AuditRow.seq) >= first_seq, col(AuditRow.run_id) == run.run_id
                )
            ).one()
            if mine[0] is not None:
                first_seq, last_seq = mine
                # Only cycles that recorded something get an event of their own: a daemon checking
                # for updates every 30 seconds would otherwise fill the trail with empty cycles.
                try:
                    run.lease.fence(s)
                except LeaseLost:
                    return  # the region is another instance's now: the trail is its to write
                after = {
                    "version": VERSION,
                    "status": status,
                    "phases": report.phases,
                    "planned": report.planned,
                    "done": report.done,
                    "failed": report.failed,
                }
                event = AuditEvent(
                    actor=run.actor,
                    trigger=run.trigger,
                    action="cycle.run",
                    outcome=status,
                    run_id=run.run_id,
                    after=after,
                    reason=because("cycle_events", first=first_seq, last=last_seq),
                )
                append(s, event, self.clock.now())
