"""Client-side rate limiting, so that a correct run never meets the platform's 429.

The platform allows `rate_limit` (30) requests per second per bot token. Everything in one
process that uses a token shares one `TokenBucket` (`shared_limiter`). Several processes or
machines using the same token share its rate in one of two ways:

* a configured share each (`max.rate_share`, e.g. 0.5 for two instances), which needs nothing
  shared but wastes whatever an idle instance leaves;
* a shared limiter implementing `RateLimiter`, e.g. one backed by the database: a row per token
  holding the bucket's "theoretical arrival time" (`tat`, wall-clock seconds, since several
  machines share it). `acquire` reads it under `SELECT ... FOR UPDATE` (or SQLite's write lock),
  calls `reserve(tat, time.time(), rate)`, writes the new `tat`, commits, and sleeps until the
  slot it reserved; `pause` raises `tat` to at least now + seconds. Pass it to
  `MaxClient(limiter=...)`.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Protocol

from domchat.settings import MaxSettings, Secret

HEADROOM = 0.9
"""The client sends at most 90 % of the platform's rate: the platform counts arrivals, the
client departures, and network jitter can bunch requests that left evenly spaced."""


class RateLimiter(Protocol):
    def acquire(self) -> None:
        """Block until one more request may be sent, and count it."""
        ...

    def pause(self, seconds: float) -> None:
        """Send nothing for `seconds` (the platform answered 429): holds every sender."""
        ...


def reserve(tat: float, now: float, rate: float, burst: float = 1.0) -> tuple[float, float]:
    """One step of the token bucket (as the GCRA): `(start, new_tat)`.

    `tat` is the bucket's theoretical arrival time; the request may be sent at `start`
    (`>= now`), and `new_tat` is what the bucket holds afterwards. Pure, so that an in-process
    bucket and one kept in a database row follow exactly the same rule.
    """
    interval = 1.0 / rate
    start = max(now, tat - (burst - 1) * interval)
    return start, max(tat, start) + interval


class TokenBucket:
    """A token bucket of `burst` tokens refilled at `rate` per second, thread-safe.

    Kept as the GCRA's single timestamp rather than a token count (see `reserve`): `acquire`
    reserves the earliest conforming slot under the lock and sleeps outside it, so waiting
    threads are served in order and never busy-wait.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs rate > 0 and burst >= 1")
        self.rate = rate
        self._burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tat = clock()

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            start, self._tat = reserve(self._tat, now, self.rate, self._burst)
        if start > now:
            self._sleep(start - now)

    def pause(self, seconds: float) -> None:
        with self._lock:
            tolerance = (self._burst - 1) / self.rate
            self._tat = max(self._tat, self._clock() + seconds + tolerance)


def client_rate(settings: MaxSettings) -> float:
    """Requests per second this instance may send: its share of the platform's rate, less headroom."""
    return settings.rate_limit * settings.rate_share * HEADROOM


_shared: dict[bytes, TokenBucket] = {}
_shared_lock = threading.Lock()


def shared_limiter(token: Secret, rate: float) -> TokenBucket:
    """The process-wide bucket of `token` (created at `rate` by its first user)."""
    key = hashlib.sha256(token.reveal().encode()).digest()
    with _shared_lock:
        bucket = _shared.get(key)
        if bucket is None:
            bucket = _shared[key] = TokenBucket(rate)
        return bucket
