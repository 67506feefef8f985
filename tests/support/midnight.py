"""A clock for running the real daemon into a local midnight without waiting for it."""

from __future__ import annotations

from datetime import datetime, timedelta
from time import monotonic as _real

from domchat.clock import VirtualClock


class MidnightClock(VirtualClock):
    """Stands still at `at` until `go()`, then runs with real time as well; the daemon's sleeps
    move it on at once, other threads' (the lease's heartbeat, the pull's schedule) wait for the
    daemon's time."""

    def __init__(self, at: datetime) -> None:
        super().__init__(at)
        self._started: float | None = None

    def go(self) -> None:
        with self._lock:
            if self._started is None:
                self._started = _real()

    def _now(self) -> datetime:
        return self._at + timedelta(seconds=0.0 if self._started is None else _real() - self._started)
