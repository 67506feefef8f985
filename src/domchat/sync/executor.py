"""The durable executor: intent before effect, and every effect recorded with its audit event.

Each action is stored (by its deterministic key) before anything is sent to MAX. After the
call, one transaction marks it done, records what the chat now looks like and appends the
audit event. If the process dies between the call and that transaction, the action stays
pending; the engine re-reads the chat from MAX before the next plan, and `settle` closes such
leftovers as done (their effect is visible) or obsolete (it is not, and no longer wanted).
Calls that are not idempotent (sending a message) look for their own earlier effect first.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from domchat import metrics
from domchat.clock import Clock
from domchat.domain.actions import KINDS, Action, GrantAdmin, ReportDrift, from_stored
from domchat.domain.model import ActualChat
from domchat.domain.reasons import because, joined
from domchat.errors import MaxApiError, MaxUnavailable
from domchat.storage import repo
from domchat.storage.audit import AuditEvent, append
from domchat.storage.db import transaction
from domchat.storage.tables import ActionRow
from domchat.sync.crash import crash_point
from domchat.sync.effects import Effect, SentBefore, grant_together, perform, record
from domchat.sync.ports import ChatPlatform, Progress, no_progress

log = structlog.get_logger("domchat.executor")

# How far back a message of ours counts as "already sent" for an action (clock skew margin).
_SENT_MARGIN = timedelta(minutes=5)
# Consecutive calls MAX did not answer after which the rest waits for the next cycle: when the
# platform is down, every further call would only spend its own retries to learn the same.
UNAVAILABLE_STREAK = 3


@dataclass(frozen=True)
class RetryPolicy:
    """How a failed action is retried: later, alone, while every other action goes on."""

    attempts: int = 6
    """Failed calls after which the action is given up as failed."""
    backoff: timedelta = timedelta(minutes=1)
    """Wait before the first retry; doubled for each further one."""
    cap: timedelta = timedelta(hours=1)
    """Longest wait (a longer `Retry-After` from the platform is honoured)."""

    def delay(self, attempt: int, retry_after: float | None, draw: float) -> timedelta:
        """The wait after the `attempt`-th failure; `draw` in [0, 1) spreads retries apart
        ("equal jitter": between half and all of the capped exponential wait)."""
        wait = min(self.backoff * (1 << min(attempt - 1, 30)), self.cap) * (0.5 + draw / 2)
        return max(wait, timedelta(seconds=retry_after or 0))


@dataclass
class Outcome:
    done: int = 0
    failed: int = 0
    """Actions given up after their last attempt."""
    reported: int = 0
    retrying: int = 0
    """Actions whose call failed this time, queued again with a not-before instant."""
    waiting: int = 0
    """Pending actions left alone this time: not yet due again after an earlier failure."""
    unavailable: str = ""
    """Why execution stopped early (MAX kept not answering); the rest stays pending."""
    yielded: int = 0
    """Actions below the top lane left pending because a boundary came while they waited: the
    boundary's rights go first, in the next cycle."""
    errors: list[str] = field(default_factory=list)
    refused_users: list[tuple[int, int, str]] = field(default_factory=list)
    """(chat, user, error code) of members the platform refused to add (privacy…)."""

    def plus(self, other: Outcome) -> Outcome:
        return Outcome(
            self.done + other.done,
            self.failed + other.failed,
            self.reported + other.reported,
            self.retrying + other.retrying,
            other.waiting,
            other.unavailable or self.unavailable,
            self.yielded + other.yielded,
            self.errors + other.errors,
            self.refused_users + other.refused_users,
        )


def _no_fence(_s: Session) -> None:
    """Without a lease (a single caller in tests), there is nothing to check."""


class Executor:
    def __init__(
        self,
        db: Engine,
        platform: ChatPlatform,
        clock: Clock,
        *,
        run_id: str,
        actor: str,
        trigger: str,
        retry: RetryPolicy | None = None,
        fence: Callable[[Session], None] = _no_fence,
    ) -> None:
        self.db = db
        self.platform = platform
        self.clock = clock
        self.run_id = run_id
        self.actor = actor
        self.trigger = trigger
        self.retry = retry or RetryPolicy()
        self.fence = fence
        """Called inside each transaction that records an effect: raises if this process lost the
        region's lease, so the write (and the "done" it claims) is refused with it."""
        self._bot: int | None = None
        self._random = random.Random()  # noqa: S311 - spreads retries apart; nothing secret

    # Intent

    def persist(self, actions: Iterable[Action]) -> list[ActionRow]:
        """Store the actions as pending; a pending row left by a crashed run is taken over, and a
        pending or given-up row keeps its not-before instant (a new plan does not hurry a retry)."""
        now = self.clock.now()
        rows: list[ActionRow] = []
        with transaction(self.db) as s:
            ordinal = repo.next_ordinal(s)
            for a in actions:
                row = s.get(ActionRow, a.key())
                if row is None:
                    row = ActionRow(key=a.key(), run_id=self.run_id, kind=a.kind, chat_id=a.chat_id, building=a.building, created_at=now)
                elif row.status == "done" and isinstance(a, ReportDrift):
                    continue  # reported once is enough while the drift lasts
                elif row.status != "pending":
                    row.created_at, row.finished_at, row.error, row.attempts = now, None, None, 0
                row.run_id, row.status, row.ordinal, row.lane = self.run_id, "pending", ordinal, a.lane()
                ordinal += 1
                row.user_id = getattr(a, "user_id", None)
                row.payload = json.dumps(a.payload(), ensure_ascii=False, sort_keys=True)
                row.reason = a.reason
                s.add(row)
                rows.append(row)
        return rows

    def pending(self) -> list[ActionRow]:
        with Session(self.db) as s:
            query = select(ActionRow).where(ActionRow.status == "pending").order_by(col(ActionRow.lane), col(ActionRow.ordinal))
            return list(s.exec(query))

    # Effects

    def run(
        self,
        rows: Sequence[ActionRow],
        check: Callable[[], None] = lambda: None,
        progress: Progress = no_progress,
        yield_at: datetime | None = None,
    ) -> Outcome:
        """Carry out `rows` in order. A failed call touches only its own action (queued again
        with backoff, or given up after `retry.attempts`); `check` runs before every call and
        stops the work by raising (the lease is lost); `progress` hears how many were tried.

        Once the planning clock reaches `yield_at` (the next boundary), no action below the top
        lane is started: the rest stays pending, and the cycle that plans the boundary runs its
        rights first. A long run of cards or notices thus holds a midnight for one call at most."""
        out = Outcome()
        wall = self.clock.wall()
        due = [r for r in rows if r.not_before is None or r.not_before <= wall]
        out.waiting = len(rows) - len(due)
        streak = finished = 0
        for batch in _batches(due):
            if yield_at is not None and batch[0].lane > 1 and self.clock.now() >= yield_at:
                out.yielded = len(due) - finished
                log.info("execute.yields_to_boundary", boundary=yield_at.isoformat(), left=out.yielded)
                break
            progress("execute", finished, len(due))
            finished += len(batch)
            check()
            actions = [from_stored(r.kind, r.chat_id, r.building, json.loads(r.payload)) for r in batch]
            refused = {(c, u) for c, u, _ in out.refused_users}
            blocked = [a for a in actions if isinstance(a, GrantAdmin) and (a.chat_id, a.user_id) in refused]
            for row, a in zip(batch, actions, strict=True):
                if a in blocked:
                    self._finish(row, a, Effect("failed", because("not_a_member")), out)
            todo = [(row, a) for row, a in zip(batch, actions, strict=True) if a not in blocked and not self._held(row, a, out)]
            if not todo:
                continue
            kind = todo[0][1].kind
            first_attempt = self._mark_attempted([row for row, _ in todo])
            try:
                crash_point(kind, "before_call")
                effects = self._effects([a for _, a in todo], first_attempt)
                crash_point(kind, "after_call")
            except (MaxApiError, MaxUnavailable) as e:
                streak = streak + 1 if isinstance(e, MaxUnavailable) else 0
                for row, a in todo:
                    self._failed_call(row, a, e, out)
                if streak >= UNAVAILABLE_STREAK:
                    out.unavailable = str(e)
                    log.warning("max.unavailable_streak", error=str(e), then="the remaining actions wait for the next cycle")
                    break
                continue
            streak = 0
            for (row, a), effect in zip(todo, effects, strict=True):
                self._finish(row, a, effect, out)
                out.refused_users.extend(effect.refused)
            crash_point(kind, "after_commit")
        if due:
            progress("execute", finished, len(due))
        return out

    def _held(self, row: ActionRow, action: Action, out: Outcome) -> bool:
        """Whether the action may not go now (a notice in its building's quiet hours): it waits
        until it may, or is given up once it no longer may. Asked on the planning clock, the one
        notices are released on; a held action is asked again at each run."""
        now = self.clock.now()
        when = action.earliest(now)
        if when is not None and when <= now:
            return False
        if when is None:
            self._finish(row, action, Effect("failed", because("held_expired")), out)
            return True
        with transaction(self.db) as s:
            self.fence(s)
            stored = s.get(ActionRow, row.key)
            assert stored is not None
            stored.not_before = when
            s.add(stored)
        out.waiting += 1
        return True

    def _failed_call(self, row: ActionRow, action: Action, error: MaxApiError | MaxUnavailable, out: Outcome) -> None:
        """Queue the action again after a wait, or give it up once it has used its attempts."""
        with transaction(self.db) as s:
            self.fence(s)
            stored = s.get(ActionRow, row.key)
            assert stored is not None
            stored.attempts += 1
            if stored.attempts < self.retry.attempts:
                retry_after = error.retry_after if isinstance(error, MaxUnavailable) else None
                wait = self.retry.delay(stored.attempts, retry_after, self._random.random())
                stored.not_before, stored.error = self.clock.wall() + wait, str(error)
                s.add(stored)
                out.retrying += 1
                log.warning(
                    "action.retry_scheduled",
                    kind=action.kind,
                    chat_id=action.chat_id,
                    attempt=stored.attempts,
                    in_s=wait.seconds,
                    error=str(error),
                )
                return
            attempts = stored.attempts
        note = because("gave_up", attempts=attempts, detail=str(error))
        self._finish(row, action, Effect("failed", note), out)
        out.errors.append(f"{action.kind} in chat {action.chat_id}: {note}")

    def _mark_attempted(self, rows: Sequence[ActionRow]) -> datetime | None:
        """Record, before the call, when it was first attempted (wall clock: messages carry real
        time). Returns the earlier first attempt if there was one: the call may have taken effect."""
        earlier = min((r.attempted_at for r in rows if r.attempted_at is not None), default=None)
        with transaction(self.db) as s:
            for r in rows:
                stored = s.get(ActionRow, r.key)
                assert stored is not None
                if stored.attempted_at is None:
                    stored.attempted_at = self.clock.wall()
                    s.add(stored)
        return earlier

    def _finish(self, row: ActionRow, action: Action, effect: Effect, out: Outcome) -> None:
        now = self.clock.now()
        failed = effect.outcome == "failed"
        with transaction(self.db) as s:
            self.fence(s)
            stored = s.get(ActionRow, row.key)
            assert stored is not None
            stored.status = "failed" if failed else "done"
            stored.finished_at, stored.error = now, effect.note if failed else None
            # A given-up action planned again waits a full backoff before its next first attempt.
            stored.not_before = self.clock.wall() + self.retry.cap if failed else None
            s.add(stored)
            record(s, action.chat_id, effect, now)
            append(s, self._event(action, effect.outcome, effect.note), now)
        log.info(
            "action.finished", kind=action.kind, chat_id=action.chat_id, user_id=getattr(action, "user_id", None), outcome=effect.outcome
        )
        lag = (now - datetime.fromisoformat(action.due)).total_seconds() if action.due and not failed else None
        metrics.action_done(action.kind, effect.outcome, lag)
        if failed:
            out.failed += 1
            log.warning("action.failed", kind=action.kind, chat_id=action.chat_id, error=effect.note)
        elif effect.outcome == "reported":
            out.reported += 1
        else:
            out.done += 1

    def _event(self, action: Action, outcome: str, note: str = "") -> AuditEvent:
        payload = action.payload()
        reason = payload.pop("reason", "")
        late = _lateness(action.due, self.clock.now()) if outcome in ("done", "partial") else ""
        return AuditEvent(
            actor=self.actor,
            trigger=self.trigger,
            action=action.kind,
            outcome=outcome,
            run_id=self.run_id,
            building=action.building or None,
            org=payload.pop("org", None),
            chat_id=action.chat_id,
            user_id=payload.get("user_id"),
            after=payload,
            reason=joined(str(reason), note, late),
        )

    def _effects(self, actions: list[Action], retried: datetime | None) -> list[Effect]:
        grants = [a for a in actions if isinstance(a, GrantAdmin)]
        if len(grants) > 1:
            return grant_together(grants, self.platform)
        sent_before: SentBefore | None = None
        if retried is not None:
            sent_before = lambda chat_id, text: self._sent_before(chat_id, text, retried)  # noqa: E731
        return [perform(a, self.platform, sent_before) for a in actions]

    def _sent_before(self, chat_id: int, text: str, since: datetime) -> str | None:
        """The id of a message with `text` the bot already sent for this action, if any."""
        bot = self._bot_id()
        floor = int((since - _SENT_MARGIN).timestamp() * 1000)
        for m in self.platform.messages(chat_id, count=50):
            if m.sender_id == bot and m.text == text and m.timestamp >= floor:
                return m.mid
        return None

    def _bot_id(self) -> int:
        if self._bot is None:
            self._bot = self.platform.me().user_id
        return self._bot

    # Leftovers of a crashed run

    def settle(self, leftovers: Iterable[ActionRow], planned_keys: set[str], actual: Mapping[int, ActualChat]) -> int:
        """Close pending rows the new plan no longer contains: done if MAX shows their effect."""
        n = 0
        now = self.clock.now()
        for row in leftovers:
            if row.key in planned_keys or not KINDS[row.kind].planned:
                continue
            action = from_stored(row.kind, row.chat_id, row.building, json.loads(row.payload))
            chat = actual.get(row.chat_id)
            seen = chat is not None and action.observed(chat)
            with transaction(self.db) as s:
                self.fence(s)
                stored = s.get(ActionRow, row.key)
                if stored is None or stored.status != "pending":
                    continue
                stored.status, stored.finished_at = ("done" if seen else "obsolete"), now
                s.add(stored)
                note = because("settled_done" if seen else "settled_obsolete")
                append(s, self._event(action, "done" if seen else "obsolete", note), now)
            n += 1
        return n


LATE_AFTER = timedelta(minutes=10)
"""An effect this long after it was due is audited as late, with the delay."""


def _lateness(due: str, now: datetime) -> str:
    if not due:
        return ""
    delay = now - datetime.fromisoformat(due)
    if delay <= LATE_AFTER:
        return ""
    return because("late", delay=str(delay).split(".")[0], due=due)


def _batches(rows: Sequence[ActionRow]) -> Iterator[list[ActionRow]]:
    """Rows in order; consecutive grants in the same chat travel together (one API call)."""
    batch: list[ActionRow] = []
    for row in rows:
        if batch and not (row.kind == batch[0].kind == GrantAdmin.kind and row.chat_id == batch[0].chat_id):
            yield batch
            batch = []
        batch.append(row)
    if batch:
        yield batch
