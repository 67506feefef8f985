"""Where time comes from: injected everywhere, so tests, `--now` and a simulation can set it.

Two instants are kept apart on purpose. `now` is the instant the domain is planned at (`--now`
may fix it in the future to preview a handover). `wall` is when things really happen: leases,
when a call was attempted (messages carry real timestamps), when the last full re-read was.
Planning at a future `--now` must neither steal a lease nor skip a due re-read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The instant to plan at, timezone-aware, in UTC."""
        ...

    def wall(self) -> datetime:
        """The instant things really happen at, timezone-aware, in UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back: deadlines and elapsed times."""
        ...

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        """Wait `seconds`, or less if `stop` is set meanwhile; True if it was set.

        On the machine's clock (`SystemClock`, `FixedClock`) this is a real wait, on any thread.

        On a clock whose time passes only when slept through (`VirtualClock`), one thread drives
        time: the one registered with `VirtualClock.drive`, else the first thread to sleep that
        the clock did not `spawn`. The driver's sleep moves time on at once. A sleep on any other
        thread really blocks until the driver's time reaches its deadline, or until `stop` is set,
        then returns; when the driver sleeps past that deadline it stops there and lets the
        thread run until it sleeps again or ends (a bounded real while: it may be blocked on
        something else than this clock), then goes on. So a lease's heartbeat renews in the
        middle of a 30-minute virtual wait for GIS, as it would on the machine's clock.

        A simulation with several worker threads (a GIS pull thread, an updates receiver) lets
        the daemon's main loop drive and starts the workers with `spawn`: each worker's sleeps
        wait for the main loop's time, workers due at the same instant run one after another in
        the order they fell asleep, and time stands still while one runs. Two rules keep it from
        hanging: a worker passes its `stop` to every sleep it may be joined in (a sleep without
        one ends only when the driver's time passes it, and a driver blocked in `join` moves no
        time), and the driver never blocks on a worker otherwise (it waits by sleeping)."""
        ...

    def spawn(self, target: Callable[[], None], name: str) -> threading.Thread:
        """Start a daemon thread that sleeps on this clock (it never drives a virtual clock).

        A virtual clock counts the thread as due from the instant it was spawned, so the
        driver's next sleep lets it reach its first sleep before moving time past it."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def wall(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        if stop is None:
            time.sleep(max(seconds, 0.0))
            return False
        return stop.wait(max(seconds, 0.0))

    def spawn(self, target: Callable[[], None], name: str) -> threading.Thread:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        return thread


class FixedClock(SystemClock):
    """Planning stopped at one instant (tests, `--now`); the wall clock still runs."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware instant")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at


_HAND_OVER_LIMIT = 2.0
"""Real seconds the driver lets a woken thread run before it moves time on without it (the
thread may be blocked on a lock the driver holds, or on a socket)."""
_LOOK = 0.002
"""Real seconds between looks at a waiting thread's `stop`: an event cannot be waited on
together with another, and a driver joining that thread moves no time to wake it."""


@dataclass
class _Sleeper:
    deadline: datetime
    woken: threading.Event


class VirtualClock:
    """Time that passes only when slept through: a simulated daemon runs days in seconds.

    `now` and `wall` are the same instant. The driving thread's `sleep` moves it on at once,
    other threads' sleeps wait for the driver's time (the contract is at `Clock.sleep`)."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("VirtualClock needs a timezone-aware instant")
        self._at = at.astimezone(UTC)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        """Notified when a thread falls asleep or a spawned thread ends."""
        self._driver: threading.Thread | None = None
        self._spawned: set[threading.Thread] = set()
        self._sleepers: dict[threading.Thread, _Sleeper] = {}
        """Threads waiting for the driver's time, in the order they fell asleep."""

    def _now(self) -> datetime:
        """The instant, with the lock held (a subclass may add to it: CPU spent, real time)."""
        return self._at

    def now(self) -> datetime:
        with self._lock:
            return self._now()

    def wall(self) -> datetime:
        return self.now()

    def monotonic(self) -> float:
        return self.now().timestamp()

    def drive(self) -> None:
        """Make the calling thread the one whose sleeps move time on."""
        with self._lock:
            self._driver = threading.current_thread()

    def spawn(self, target: Callable[[], None], name: str) -> threading.Thread:
        thread = threading.Thread(target=self._run, args=(target,), name=name, daemon=True)
        with self._lock:  # started before a driver can look at it (a thread not yet alive is passed over)
            self._spawned.add(thread)
            self._sleepers[thread] = _Sleeper(self._now(), threading.Event())
            thread.start()
        return thread

    def _run(self, target: Callable[[], None]) -> None:
        try:
            target()
        finally:
            with self._changed:
                me = threading.current_thread()
                self._spawned.discard(me)
                self._sleepers.pop(me, None)
                self._changed.notify_all()

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        if stop is not None and stop.is_set():
            return True
        me = threading.current_thread()
        with self._changed:
            if self._driver is None and me not in self._spawned:
                self._driver = me
            deadline = self._now() + timedelta(seconds=max(seconds, 0.0))
            if self._driver is me:
                sleeper = None
            else:
                self._sleepers.pop(me, None)  # a spawned thread's first sleep replaces its start
                sleeper = self._sleepers[me] = _Sleeper(deadline, threading.Event())
                self._changed.notify_all()
        if sleeper is None:
            return self._drive(deadline, stop)
        return self._wait(me, sleeper, stop)

    def _drive(self, deadline: datetime, stop: threading.Event | None) -> bool:
        """The driver's sleep: time moves on to `deadline`, stopping at each other thread due before."""
        while stop is None or not stop.is_set():
            with self._lock:
                due = min(self._sleepers.items(), key=lambda kv: kv[1].deadline, default=None)
                if due is None or due[1].deadline > deadline:
                    self._advance(deadline)
                    break
                thread, sleeper = due
                del self._sleepers[thread]
                self._advance(sleeper.deadline)
            self._hand_over(thread, sleeper.woken)
        self._slept()
        return stop is not None and stop.is_set()

    def _advance(self, to: datetime) -> None:
        ahead = to - self._now()
        if ahead > timedelta(0):
            self._at += ahead

    def _hand_over(self, thread: threading.Thread, woken: threading.Event) -> None:
        """Wake `thread`, and wait until it sleeps again or ends (`_HAND_OVER_LIMIT` at most)."""
        woken.set()
        give_up = time.monotonic() + _HAND_OVER_LIMIT
        with self._changed:
            while thread.is_alive() and thread not in self._sleepers:
                left = give_up - time.monotonic()
                if left <= 0:
                    return
                self._changed.wait(min(left, _LOOK))  # a thread not spawned here ends unannounced

    def _wait(self, me: threading.Thread, sleeper: _Sleeper, stop: threading.Event | None) -> bool:
        """A sleep off the driving thread: until the driver's time reaches it, or `stop`."""
        while not sleeper.woken.wait(None if stop is None else _LOOK):
            if stop is not None and stop.is_set():
                with self._lock:
                    if self._sleepers.get(me) is sleeper:
                        del self._sleepers[me]
                break
        return stop is not None and stop.is_set()

    def _slept(self) -> None:
        """Called on the driving thread after each of its sleeps (a simulation ends itself here)."""
