"""Fault injection for the MAX emulator: 5xx answers, 429 bursts, slow answers, `success: false`.

Shares are drawn from a seeded generator so a run is reproducible; tests arm exact faults for
the next few requests instead (`FaultInjector.arm`), which needs no luck at all.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from dataclasses import dataclass
from typing import Any

KINDS = ("5xx", "429", "slow", "success_false")


@dataclass(frozen=True)
class MaxFaults:
    share_5xx: float = 0.0
    """Share of Bot API requests answered 500 before they take effect."""
    burst_429_every: int = 0
    """Every this many requests a burst of 429 answers starts; 0 for never."""
    burst_429_length: int = 3
    """Requests answered 429 in each burst."""
    retry_after: float | None = None
    """`Retry-After` seconds sent with injected 429s; none when unset (the platform sends none)."""
    slow_share: float = 0.0
    """Share of requests answered only after `slow_delay` seconds."""
    slow_delay: float = 2.0
    share_success_false: float = 0.0
    """Share of calls answering `SimpleQueryResult` that refuse with `success: false`."""
    seed: int = 0

    @classmethod
    def from_mapping(cls, raw: dict[str, Any]) -> MaxFaults:
        """From the control API's JSON (field names as above); unknown keys are an error."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - names)
        if unknown:
            raise ValueError(f"unknown fault setting: {unknown[0]}")
        return cls(**raw)

    @classmethod
    def from_world(cls, world: dict[str, Any]) -> MaxFaults:
        """From a world file's `faults` section (its `max_*` keys)."""
        f = world.get("faults") or {}
        return cls(
            share_5xx=f.get("max_5xx_share", 0.0),
            burst_429_every=f.get("max_429_burst_every", 0),
            burst_429_length=f.get("max_429_burst_length", 3),
            retry_after=f.get("max_retry_after"),
            slow_share=f.get("max_slow_share", 0.0),
            slow_delay=f.get("max_slow_delay", 2.0),
            share_success_false=f.get("max_success_false_share", 0.0),
            seed=world.get("seed", 0),
        )


class FaultInjector:
    """Decides, request by request, which fault (if any) to inject."""

    def __init__(self, faults: MaxFaults) -> None:
        self._lock = threading.Lock()
        self._armed: dict[str, int] = dict.fromkeys(KINDS, 0)
        self._routes: dict[str, str | None] = dict.fromkeys(KINDS)
        """The one route (`POST /messages`) an armed fault hits, or None for every request."""
        self._burst_left = 0
        self._count = 0
        self.replace(faults)

    def replace(self, faults: MaxFaults) -> None:
        with self._lock:
            self.faults = faults
            self._rng = random.Random(faults.seed)

    def arm(self, kind: str, count: int, route: str | None = None) -> None:
        """Inject `kind` into the next `count` requests it applies to; with `route` ("POST
        /messages"), only into requests of that method and path."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}: one of {', '.join(KINDS)}")
        with self._lock:
            self._armed[kind], self._routes[kind] = count, route

    def before_request(self, route: str = "") -> str | None:
        """`429`, `5xx` or `slow` for this request (`route`: its method and path), or None."""
        with self._lock:
            self._count += 1
            f = self.faults
            if self._take("429", route):
                return "429"
            if f.burst_429_every and self._count % f.burst_429_every == 0:
                self._burst_left = f.burst_429_length
            if self._burst_left > 0:
                self._burst_left -= 1
                return "429"
            if self._take("5xx", route) or self._rng.random() < f.share_5xx:
                return "5xx"
            if self._take("slow", route) or self._rng.random() < f.slow_share:
                return "slow"
            return None

    def refuse_simple(self) -> bool:
        """Whether this `SimpleQueryResult` call answers `success: false` instead of acting."""
        with self._lock:
            return self._take("success_false") or self._rng.random() < self.faults.share_success_false

    def _take(self, kind: str, route: str = "") -> bool:
        if self._armed[kind] > 0 and self._routes[kind] in (None, route):
            self._armed[kind] -= 1
            return True
        return False
