"""The daemon: MAX cycles on the main thread, GIS pulls on a thread of their own, and updates
handled as they arrive (docs/design.md, "The daemon's threads").

    main thread    cycle (updates, plan, execute; never a pull) under `region:<code>`, then
                   wait for: the next boundary + SETTLE | `updates_interval` | the wake-up call
    pull thread    pull under `region:<code>:gis`, wake the main thread once stored, then wait
                   `pull_interval` (after a failure: the doubling pause)
    receiver       long polling (the default): store each batch, wake the main thread
                   (webhook mode: `updates --mode webhook` stores them in another process, and
                   the main thread looks for unhandled ones every `updates_check_interval`)

GIS and MAX are different services with different limits: a pull takes hours in a large region
(GIS answers at its pace) and never holds a boundary. Every wait is on the injected clock, and
each thread's failures stay its own: a failing pull never stops the cycles, nor they the pulls.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from domchat import metrics, notify
from domchat.app import cycles, monitoring
from domchat.app.progress import ticker
from domchat.app.wiring import App, log
from domchat.errors import ConfigError, DomchatError, SafetyFuse
from domchat.max_client import parse as max_parse
from domchat.max_client.types import Update
from domchat.storage.tables import UpdateRow
from domchat.sync import updates
from domchat.sync.engine import CycleReport, one_line
from domchat.sync.memory import PlanMemory
from domchat.sync.scheduler import Wake, next_pull, next_wake

JOIN_WAIT = 30.0
"""Seconds the daemon waits for each of its threads on the way out (a pull ends at its next
exchange with GIS; a long poll at its timeout). A thread still busy then is left: it is a
daemon thread, and the lease it may hold expires or is taken over (its process is gone)."""

JOIN_STEP = 0.05

PULL_TRIGGER = "schedule:pull"


@dataclass
class _Shared:
    """What the daemon's threads tell each other."""

    wake: threading.Event = field(default_factory=threading.Event)
    """Set to wake the main thread at once (updates stored, a pull stored, the stop)."""
    reasons: set[str] = field(default_factory=set)
    receiving: threading.Event = field(default_factory=threading.Event)
    """Set while the receiver long-polls: the cycles then only handle stored updates."""
    problems: dict[str, tuple[bool, str]] = field(default_factory=dict)
    """Thread ("cycle", "pull") → its readiness (`monitoring.readiness`); ready only if all are."""
    fatal: BaseException | None = None
    """A configuration error met by a helper thread: it ends the daemon, as the main thread's would."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self, reason: str) -> None:
        with self.lock:
            self.reasons.add(reason)
        self.wake.set()

    def end(self, error: ConfigError) -> None:
        """A helper thread met an unusable configuration: the main thread ends the daemon with it."""
        self.fatal = error
        self.call("configuration error")

    def take(self) -> str:
        """Why the main thread was woken ("" if it was not), and clear it."""
        with self.lock:
            self.wake.clear()
            why, self.reasons = ", ".join(sorted(self.reasons)), set()
        return why

    def ready(self, health: metrics.Health, thread: str, state: tuple[bool, str]) -> None:
        with self.lock:
            self.problems[thread] = state
            failing = [why for ok, why in self.problems.values() if not ok]
        health.set_ready(*((False, "; ".join(failing)) if failing else state))


def daemon(app: App, stop: threading.Event) -> None:
    """Cycle until `stop`: local midnights, updates as they arrive, and GIS pulls beside them.

    No error inside a cycle or a pull ends the daemon: each records it as its outcome, and
    anything that escapes (MAX or GIS unreachable while opening, the lock busy, the fuse) is
    logged in one line and waited out with a growing pause, by that thread alone. Only a
    configuration or database that cannot be used at all ends it, with its exit code; `stop` is
    then set too, so that its threads end with it.

    Under systemd (Type=notify) it reports READY once the database is current, pings the
    watchdog while it turns, and says STOPPING on the way out; /metrics, /healthz and /readyz
    are served on `metrics.listen` meanwhile."""
    app.ready_db()
    with monitoring.serving(app) as health, notify.on_alive(health.beat):
        monitoring.refresh_state(app)
        notify.ready("cycling")
        try:
            _run(app, stop, health)
        finally:
            notify.stopping()


def _run(app: App, stop: threading.Event, health: metrics.Health) -> None:
    shared = _Shared()
    webhook = bool(app.settings.max.webhook_url)
    receiving = not webhook and app.settings.max.poll_timeout > 0
    # The clock starts the threads (a virtual clock then lets this one drive its time).
    threads = [
        app.clock.spawn(lambda: _relay(stop, shared), "stop relay"),
        app.clock.spawn(lambda: _pulls(app, stop, shared, health), "gis pull"),
    ]
    if receiving:
        threads.append(app.clock.spawn(lambda: _receive(app, stop, shared), "max updates"))
    try:
        # Only `updates --mode webhook` stores updates in another process; without long polling the cycles fetch them.
        _cycles(app, stop, shared, health, look_for_updates=webhook)
    finally:
        stop.set()
        for thread in threads:
            _join(app, thread)


def _join(app: App, thread: threading.Thread) -> None:
    """Wait for `thread` by sleeping on the clock (`JOIN_WAIT` at most): on a virtual clock a
    worker finishing its pull may be waiting for this thread's time, which a `join` would not move."""
    for _ in range(int(JOIN_WAIT / JOIN_STEP)):
        if not thread.is_alive():
            return
        app.clock.sleep(JOIN_STEP)
    if thread.is_alive():
        log.warning("daemon.thread_left", thread=thread.name, waited=JOIN_WAIT)


def _relay(stop: threading.Event, shared: _Shared) -> None:
    """The stop wakes the main thread at once, whatever it waits for."""
    stop.wait()
    shared.call("stop")


# The main thread: MAX cycles


def _cycles(app: App, stop: threading.Event, shared: _Shared, health: metrics.Health, *, look_for_updates: bool) -> None:
    s = app.settings.sync
    next_boundary: datetime | None = None
    failures = 0
    tick = ticker(app.clock)
    first = True  # the first cycle runs at once: it finds the next boundary
    memory = PlanMemory(timedelta(seconds=s.full_plan_interval))
    look = _Stored() if look_for_updates else None
    while not stop.is_set():
        app.ready_db()
        wake = Wake(app.clock.now(), "start") if first else next_wake(app.clock.now(), next_boundary, timedelta(seconds=s.updates_interval))
        at, reason, first = wake.at, wake.reason, False
        if failures:
            # Waited out whatever calls: a wake-up call does not shorten the pause after failures.
            at, reason = max(at, app.clock.now() + _backoff(failures, s.updates_interval, s.pull_interval)), "retry"
        woken = _wait(app, stop, shared, at, look if look is not None and not failures else None, failures == 0)
        if stop.is_set():
            return
        if shared.fatal is not None:
            raise shared.fatal
        notify.alive()
        try:
            report = cycles.sync_once(
                app, trigger=woken or reason, pull=False, fetch_updates=not shared.receiving.is_set(), progress=tick, memory=memory
            )
        except SafetyFuse as e:
            failures += 1
            log.error("cycle.fuse_stopped", error=str(e), hint="check 'domchat plan', then run 'domchat sync --once --force'")
            shared.ready(health, "cycle", monitoring.readiness(e))
            continue
        except ConfigError:
            raise
        except Exception as e:
            failures += 1
            log.error("cycle.failed", error=one_line(e), retry_in=_backoff(failures, s.updates_interval, s.pull_interval).seconds)
            shared.ready(health, "cycle", _readiness(e))
            continue
        failures = failures + 1 if report.status == "failed" else 0
        shared.ready(health, "cycle", (False, report.error) if report.status == "failed" else monitoring.readiness(None))
        notify.alive()
        next_boundary = report.next_change or next_boundary


def _wait(app: App, stop: threading.Event, shared: _Shared, until: datetime, look: Callable[[App], bool] | None, wakeable: bool) -> str:
    """Sleep (on the injected clock) until `until`, reporting the loop alive at least every
    `notify.IDLE_SLICE` (or half the systemd watchdog). Returns early, with why, when woken
    (`wakeable`) or when `look` finds updates waiting (every `updates_check_interval`)."""
    every = notify.watchdog_interval() or notify.IDLE_SLICE
    if look is not None:
        every = min(every, app.settings.sync.updates_check_interval)
    # Counted on the monotonic clock: the planning instant may stand still (`--now`).
    deadline = app.clock.monotonic() + (until - app.clock.now()).total_seconds()
    while (left := deadline - app.clock.monotonic()) > 0 and not stop.is_set():
        if app.clock.sleep(min(left, every), shared.wake if wakeable else stop):
            if stop.is_set():
                return ""
            if why := shared.take():
                return why
        notify.alive()
        if look is not None and look(app):
            return "updates stored"
    why = shared.take()  # a call made during a pause is answered by the cycle that ends it
    return why if wakeable else ""


class _Stored:
    """Looks for urgent updates another process stored (`updates --mode webhook`) since the last
    look: only rows not looked at before are read (by primary key), and not yet handled."""

    def __init__(self) -> None:
        self.after = 0

    def __call__(self, app: App) -> bool:
        with Session(app.ready_db()) as s:
            rows = s.exec(
                select(UpdateRow.id, UpdateRow.body)
                .where(col(UpdateRow.id) > self.after, col(UpdateRow.processed_at).is_(None))
                .order_by(col(UpdateRow.id))
            ).all()
        if rows:
            self.after = max(i for i, _ in rows if i is not None)
        return any(updates.urgent(max_parse.update(json.loads(body))) for _, body in rows)


# The pull thread


def _pulls(app: App, stop: threading.Event, shared: _Shared, health: metrics.Health) -> None:
    """Pull on schedule until `stop`; a stored pull wakes the main thread to plan on it."""
    s = app.settings.sync
    last: datetime | None = None
    failures = 0
    while not stop.is_set():
        pause = (next_pull(app.clock.now(), last, timedelta(seconds=s.pull_interval)) - app.clock.now()).total_seconds()
        if failures:
            pause = max(pause, _backoff(failures, s.updates_interval, s.pull_interval).total_seconds())
        if pause > 0 and app.clock.sleep(pause, stop):
            return
        started = app.clock.now()
        try:
            report = cycles.pull_once(app, trigger=PULL_TRIGGER)
        except ConfigError as e:
            shared.end(e)
            return
        except Exception as e:
            failures += 1
            log.error("pull.failed", error=one_line(e), retry_in=_backoff(failures, s.updates_interval, s.pull_interval).seconds)
            shared.ready(health, "pull", _readiness(e))
            last = last or started  # a failed first pull waits too, instead of hammering GIS
            continue
        failures = failures + 1 if report.status == "failed" else 0
        shared.ready(health, "pull", (False, report.error) if report.status == "failed" else monitoring.readiness(None))
        last = last or started if failures else started
        if _stored(report):
            shared.call("pull stored")


def _stored(report: CycleReport) -> bool:
    return report.pull is not None and report.pull.ok and report.phases.get("pull") in ("ok", "degraded")


# The receiver thread (long polling)


def _receive(app: App, stop: threading.Event, shared: _Shared) -> None:
    """Long-poll MAX until `stop`, storing each batch and waking the main thread; while it cannot
    (a webhook subscription exists, MAX refuses), the cycles fetch updates themselves."""
    failures = 0

    def ready(where: str) -> None:
        shared.receiving.set()
        log.info("updates.receiving", source=where)

    def arrived(batch: Sequence[Update]) -> None:
        if any(updates.urgent(u) for u in batch):
            shared.call("updates arrived")

    while not stop.is_set():
        try:
            cycles.receive_updates(app, "poll", stop, ready, arrived, announce=False)
        except ConfigError as e:
            shared.end(e)
            return
        except Exception as e:
            failures += 1
            pause = _backoff(failures, app.settings.sync.updates_interval, app.settings.sync.pull_interval)
            log.error("updates.receive_failed", error=one_line(e), retry_in=pause.seconds, meanwhile="each cycle fetches updates")
            shared.receiving.clear()  # before the pause: the cycles fetch meanwhile
            if app.clock.sleep(pause.total_seconds(), stop):
                return
        else:
            failures = 0
            shared.receiving.clear()


def _readiness(error: BaseException) -> tuple[bool, str]:
    return monitoring.readiness(error) if isinstance(error, DomchatError) else (False, one_line(error))


def _backoff(failures: int, base: float, cap: float) -> timedelta:
    """The pause after `failures` failed cycles (or pulls) in a row: doubling from `base`, at most `cap`."""
    return timedelta(seconds=min(base * 2 ** min(failures - 1, 20), cap))
