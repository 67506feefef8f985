"""A clock for running the real daemon into a local midnight without waiting for it."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from time import monotonic as _real


class MidnightClock:
    """Stands still at `at` until `go()`, then runs with real time. A sleep of the daemon's main
    thread (named `driver`) moves it on at once; the daemon's other threads (the pull's
    schedule) wait in real time, as the clock runs once started: only the driver moves time."""

    def __init__(self, at: datetime, driver: str = "daemon") -> None:
        self._at = at
        self._driver = driver
        self._started: float | None = None
        self._lock = threading.Lock()

    def go(self) -> None:
        with self._lock:
            if self._started is None:
                self._started = _real()

    def now(self) -> datetime:
        with self._lock:
            ran = 0.0 if self._started is None else _real() - self._started
            return self._at + timedelta(seconds=ran)

    def wall(self) -> datetime:
        return self.now()

    def monotonic(self) -> float:
        return self.now().timestamp()

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        if threading.current_thread().name != self._driver:
            return (stop or threading.Event()).wait(max(seconds, 0.0))
        if stop is not None and stop.wait(0):
            return True
        with self._lock:
            self._at += timedelta(seconds=max(seconds, 0.0))
        return False
