"""Where time comes from: injected everywhere, so tests, `--now` and a simulation can set it.

Two instants are kept apart on purpose. `now` is the instant the domain is planned at (`--now`
may fix it in the future to preview a handover). `wall` is when things really happen: leases,
when a call was attempted (messages carry real timestamps), when the last full re-read was.
Planning at a future `--now` must neither steal a lease nor skip a due re-read.
"""

from __future__ import annotations

import threading
import time
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
        """Wait `seconds`, or less if `stop` is set meanwhile; True if it was set."""
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


class FixedClock(SystemClock):
    """Planning stopped at one instant (tests, `--now`); the wall clock still runs."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware instant")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at


class VirtualClock:
    """Time that passes only when slept through: a simulated daemon runs days in seconds.

    `now` and `wall` are the same instant; `sleep` moves it on (at once, unless stopped)."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("VirtualClock needs a timezone-aware instant")
        self._at = at.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._at

    def wall(self) -> datetime:
        return self.now()

    def monotonic(self) -> float:
        return self.now().timestamp()

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        if stop is not None and stop.is_set():
            return True
        with self._lock:
            self._at += timedelta(seconds=max(seconds, 0.0))
        return False
