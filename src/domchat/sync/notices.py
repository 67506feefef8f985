"""Notices to houses (docs/notices.md): computed when due, stored before they are sent, sent once.

Each cycle, after the plan's actions ran (rights changes, answers to people), this module:
1. reads owners' meetings and protocols from GIS once a day (`exportVotingMessage`,
   `exportVotingProtocol`) for the bound buildings;
2. computes the notices due on each bound building's local day (`domain/notices.py`) and
   stores the new ones (`notice`, by their deterministic key: a notice stored once is never
   computed again, whatever its text);
3. releases at most `batch` notices whose hour has come and which fall outside quiet hours,
   earliest first, as `post_notice` actions — the lowest lane: they are stored and run after
   everything else of the cycle, and a cycle spends at most `batch` calls on them;
4. lets notices whose last useful day passed expire.

A crash after the action is stored and before the notice is marked queued leaves the notice
scheduled: the next cycle finds its action by key and only marks it. A crash around the call
itself is the executor's: a `post_notice` resumed after an attempt looks for its own message
before sending again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session

from domchat.domain.actions import PostNotice
from domchat.domain.model import Building, Conflict, Domain, ManagementPeriod, Manager, manager_on
from domchat.domain.notice_texts import handover_text, meeting_reminder_text, meeting_text, outcome_text, reminder_text
from domchat.domain.notices import (
    Deadlines,
    Meeting,
    MeetingOutcome,
    NoReminders,
    NoticeKind,
    NoticeRules,
    deadlines_for,
    due_at,
    handover_notice,
    meeting_notices,
    next_send,
    outcome_notice,
    reminders_on,
    spread,
)
from domchat.domain.reasons import because
from domchat.domain.templates import Templates
from domchat.errors import GisError
from domchat.mapping.notices import deadlines_by_building, meeting, outcome
from domchat.mapping.periods import effective
from domchat.storage import notices as store
from domchat.storage import repo
from domchat.storage.audit import AuditEvent, append
from domchat.storage.db import transaction
from domchat.storage.tables import ActionRow, NoticeRow
from domchat.sync.crash import crash_point
from domchat.sync.executor import Executor, Outcome
from domchat.sync.ports import GisSource

log = structlog.get_logger("domchat.notices")

VOTINGS_READ = "gis.votings_read"
"""When owners' meetings were last read from GIS for every bound building."""
VOTINGS_EVERY = timedelta(days=1)
COMPUTED = "notices.computed_at"
"""When the notices due were last computed (the planning instant)."""
COMPUTE_EVERY = timedelta(minutes=10)
"""Computing a region's notices costs about 0.2 ms per building: a daemon cycling every 30 s
does it this often, and releases what is due on every cycle (an indexed query)."""


@dataclass(frozen=True)
class NoticeConfig:
    rules: NoticeRules
    templates: Templates
    batch: int = 1500
    """Most notices released in one cycle (a minute of the bot's rate): rights changes and
    answers of the next cycle never wait longer than that behind them."""


@dataclass(frozen=True)
class Due:
    """A notice due at a building, ready to be stored."""

    key: str
    building: str
    kind: NoticeKind
    chat_id: int
    text: str
    due_at: datetime
    until: date


@dataclass
class NoticeReport:
    stored: int = 0
    released: int = 0
    expired: int = 0
    without: dict[str, str] = field(default_factory=dict)
    """Bound buildings without deadline reminders, and why (`NoReminders`)."""
    sent: Outcome = field(default_factory=Outcome)
    problems: list[str] = field(default_factory=list)
    """What went wrong (GIS not answering about meetings, a notice that could not be sent)."""


@dataclass(frozen=True)
class Inputs:
    """Everything notices are computed from, as stored."""

    raw: Domain
    """The stored snapshot with its GIS claims as read (contract claims cite their document)."""
    domain: Domain
    """The same with effective management periods (who manages each day)."""
    deadlines: Mapping[str, Mapping[str, Deadlines]]
    meetings: Mapping[str, list[Meeting]]
    outcomes: Mapping[str, list[MeetingOutcome]]
    off: frozenset[tuple[str, str]]


def load_inputs(s: Session) -> Inputs:
    raw = repo.load_domain(s)
    claims = [p for ps in raw.periods.values() for p in ps]
    meetings, outcomes = store.load_meetings(s)
    by_building: dict[str, list[Meeting]] = {}
    for m in meetings:
        by_building.setdefault(m.building, []).append(m)
    outcome_by: dict[str, list[MeetingOutcome]] = {}
    for o in outcomes:
        outcome_by.setdefault(o.building, []).append(o)
    return Inputs(
        raw=raw,
        domain=effective(raw),
        deadlines=deadlines_by_building(claims, store.load_deadlines(s)),
        meetings=by_building,
        outcomes=outcome_by,
        off=frozenset(store.turned_off(s)),
    )


def due(inputs: Inputs, at: datetime, cfg: NoticeConfig) -> tuple[list[Due], dict[str, str]]:
    """The notices due at each bound building on its local day at `at` (kinds turned off left
    out), and why a bound building gets no deadline reminders."""
    d = inputs.domain
    found: list[Due] = []
    without: dict[str, str] = {}
    for building, binding in sorted(d.bindings.items()):
        b = d.buildings.get(building)
        if b is None:
            continue
        day = b.local_date(at)
        notices, why = _notices(inputs, b, day, cfg)
        if why is not None:
            without[building] = why.value
        for kind, key, text, until in notices:
            if ("", kind.value) not in inputs.off and (building, kind.value) not in inputs.off:
                found.append(Due(key, building, kind, binding.chat_id, text, due_at(b, day, key, cfg.rules), until))
    return found, without


def _notices(
    inputs: Inputs, b: Building, day: date, cfg: NoticeConfig
) -> tuple[list[tuple[NoticeKind, str, str, date]], NoReminders | None]:
    """(kind, key, text, last useful day) of each notice due at `b` on local `day`."""
    d, rules, t, building = inputs.domain, cfg.rules, cfg.templates, b.fias_guid
    out: list[tuple[NoticeKind, str, str, date]] = []
    periods = d.periods.get(building, ())
    own = deadlines_for(periods, inputs.deadlines.get(building, {}), day)
    if not isinstance(own, NoReminders):
        out += [(r.kind, r.key, reminder_text(t, r), r.until) for r in reminders_on(building, own, day, rules)]
    for m in inputs.meetings.get(building, []):
        for n in meeting_notices(m, day, rules):
            out.append((n.kind, n.key, meeting_text(t, m) if n.kind is NoticeKind.MEETING else meeting_reminder_text(t, m), n.until))
    for o in inputs.outcomes.get(building, []):
        done = outcome_notice(o, day)
        if done is not None:
            out.append((done.kind, done.key, outcome_text(t, o), done.until))
    new = _handover(periods, day)
    org = d.organisations.get(new.org) if new is not None else None
    if org is not None:
        h = handover_notice(building, org.ogrn, day)
        out.append((h.kind, h.key, handover_text(t, b.address, org, day), h.until))
    return out, own if isinstance(own, NoReminders) else None


def _handover(periods: tuple[ManagementPeriod, ...], day: date) -> Manager | None:
    """The new manager when the building changed hands at the start of `day`."""
    today = manager_on(periods, day)
    before = manager_on(periods, day - timedelta(days=1))
    if isinstance(today, Manager) and not isinstance(before, Conflict) and (before is None or before.org != today.org):
        return today
    return None


def read_votings(db: Engine, gis: GisSource, buildings: Sequence[str], at: datetime) -> int:
    """Owners' meetings and protocols of the bound buildings, from GIS; how many were stored."""
    skipped: list[str] = []

    def keep_going(house: str, error: GisError) -> None:
        skipped.append(f"{house}: {error}")

    messages = gis.voting_messages(buildings, on_error=keep_going)
    protocols = gis.voting_protocols(buildings, on_error=keep_going)
    meetings = [m for b, ms in messages.items() for msg in ms if isinstance(m := meeting(b.lower(), msg), Meeting)]
    outcomes = [o for b, ps in protocols.items() for p in ps if (o := outcome(b.lower(), p)) is not None]
    with transaction(db) as s:
        store.save_meetings(s, meetings, outcomes, at)
        repo.set_bookmark(s, VOTINGS_READ, at.isoformat(), at)
    if skipped:
        log.warning("notices.meetings_unread", houses=len(skipped), first=skipped[0])
    return len(meetings) + len(outcomes)


def votings_due(db: Engine, wall: datetime) -> bool:
    with Session(db) as s:
        last = repo.get_bookmark(s, VOTINGS_READ)
    return last is None or wall - datetime.fromisoformat(last) >= VOTINGS_EVERY


def schedule(db: Engine, found: Sequence[Due], at: datetime) -> int:
    """Store the notices not stored before; how many were new."""
    with transaction(db) as s:
        known = store.states(s, (f.key for f in found))
        new = [f for f in found if f.key not in known]
        for f in new:
            s.add(
                NoticeRow(
                    key=f.key,
                    building=f.building,
                    kind=f.kind.value,
                    chat_id=f.chat_id,
                    text=f.text,
                    due_at=f.due_at,
                    until=f.until,
                    status="scheduled",
                    created_at=at,
                )
            )
    return len(new)


def release(db: Engine, executor: Executor, domain: Domain, at: datetime, cfg: NoticeConfig) -> tuple[list[ActionRow], int]:
    """Store the `post_notice` actions of notices whose hour has come (outside quiet hours), at
    most `batch`; expire those past their last day. Returns the stored actions and the expired count."""
    with Session(db) as s:
        waiting = store.scheduled(s, at)
    ready: list[NoticeRow] = []
    expired: list[NoticeRow] = []
    for row in waiting:
        b = domain.buildings.get(row.building)
        when = next_send(b.zone(), row.due_at, row.until, at, cfg.rules, spread(row.key, cfg.rules)) if b is not None else None
        if when is None:
            expired.append(row)
        elif when <= at and len(ready) < cfg.batch:
            ready.append(row)
    actions = [_post(r, domain.buildings[r.building], cfg.rules) for r in ready]
    with Session(db) as s:
        stored = {a.key() for a in actions if s.get(ActionRow, a.key()) is not None}
    rows = executor.persist([a for a in actions if a.key() not in stored])
    crash_point("notice", "after_persist")
    with transaction(db) as s:
        for r in ready:
            queued = s.get(NoticeRow, r.key)
            if queued is not None and queued.status == "scheduled":
                queued.status, queued.queued_at = "queued", at
                s.add(queued)
        for r in expired:
            late = s.get(NoticeRow, r.key)
            if late is not None and late.status == "scheduled":
                late.status = "expired"
                s.add(late)
                append(s, AuditEvent("daemon", "schedule", "post_notice", "skipped", building=r.building, chat_id=r.chat_id,
                                     reason=because("notice_expired", notice=r.key, until=str(r.until))), at)  # fmt: skip
    return rows, len(expired)


def _post(r: NoticeRow, b: Building, rules: NoticeRules) -> PostNotice:
    """The action of a notice: it carries the building's quiet hours, which every retry keeps to."""
    quiet = (rules.quiet_start.isoformat("minutes"), rules.quiet_end.isoformat("minutes"))
    return PostNotice(
        r.chat_id,
        r.building,
        due=r.due_at.isoformat(),
        notice=r.key,
        text=r.text,
        zone=b.zone().key,
        quiet=quiet,
        morning=int(spread(r.key, rules).total_seconds()),
        until=r.until.isoformat(),
        reason=because("notice", kind=r.kind),
    )


def _compute_due(db: Engine, at: datetime) -> bool:
    """Whether the notices due should be computed again at `at` (and note that they are)."""
    with transaction(db) as s:
        last = repo.get_bookmark(s, COMPUTED)
        if last is not None and timedelta(0) <= at - datetime.fromisoformat(last) < COMPUTE_EVERY:
            return False
        repo.set_bookmark(s, COMPUTED, at.isoformat(), at)
    return True


def cycle(
    db: Engine,
    executor: Executor,
    gis: GisSource | None,
    domain: Domain,
    at: datetime,
    wall: datetime,
    cfg: NoticeConfig,
    check: Callable[[], None],
    yield_at: datetime | None = None,
) -> NoticeReport:
    """One cycle's notices, in the lowest lane (after the plan's actions) on the cycle's
    `domain`; `check` runs before every call (the lease); none is sent once the planning clock
    reaches `yield_at` (the next boundary: its rights go first)."""
    report = NoticeReport()
    bound = sorted(domain.bindings)
    if gis is not None and bound and votings_due(db, wall):
        try:
            read_votings(db, gis, bound, wall)
        except GisError as e:
            report.problems.append(f"owners' meetings not read from GIS, the stored ones stand: {e}")
    if bound and _compute_due(db, at):
        with Session(db) as s:
            inputs = load_inputs(s)
        found, report.without = due(inputs, at, cfg)
        report.stored = schedule(db, found, at)
    rows, report.expired = release(db, executor, domain, at, cfg)
    report.released = len(rows)
    if rows:
        report.sent = executor.run(rows, check, yield_at=yield_at)
        report.problems += [f"notices: {p}" for p in report.sent.errors]
    return report


def turn(db: Engine, kind: NoticeKind, building: str, *, off: bool, actor: str, at: datetime) -> bool:
    """Turn a kind of notice off or on, for one building or (building "") the region; audited."""
    with transaction(db) as s:
        changed = store.set_off(s, building, kind, off, actor, at)
        if changed:
            why = (
                because("notices_building", kind=kind.value, building=building) if building else because("notices_region", kind=kind.value)
            )
            append(
                s,
                AuditEvent(actor, "cli:notices", "notices.off" if off else "notices.on", "done", building=building or None,
                           after={"kind": kind.value, "off": off}, reason=why),
                at,
            )  # fmt: skip
    return changed
