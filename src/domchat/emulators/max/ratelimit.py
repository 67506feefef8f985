"""The platform's rate limit as the emulator enforces it: N requests in any one-second window.

A sliding window is the strictest reading of "30 requests per second per bot": a client that
passes it passes a fixed-window counter too.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable


class SlidingWindow:
    def __init__(self, limit: float, *, window: float = 1.0, clock: Callable[[], float]) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, deque[float]] = {}

    def admit(self, key: str) -> bool:
        """Count one request under `key`; False when it is over the limit (and is not counted)."""
        now = self._clock()
        with self._lock:
            times = self._seen.setdefault(key, deque())
            while times and times[0] <= now - self._window:
                times.popleft()
            if len(times) >= self._limit:
                return False
            times.append(now)
            return True
