"""When the daemon's MAX cycles wake (the next local midnight, else every `updates_interval`),
when its GIS pulls run (on their own thread, every `pull_interval`), and which chats and houses
a cycle re-reads (a slice of each, spread over their periods).

Pure arithmetic on instants, so it is tested without sleeping. A boundary lands a few seconds
late on purpose (`SETTLE`): the planner then sees the new local date in that building's zone
even if this machine's clock runs slightly behind.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

SETTLE = timedelta(seconds=2)


@dataclass(frozen=True, slots=True)
class Wake:
    at: datetime
    reason: str


def next_wake(now: datetime, next_boundary: datetime | None, updates_interval: timedelta) -> Wake:
    """The next MAX cycle: just after the next boundary, or after `updates_interval` to answer
    binding codes and enrolment links whatever came (the daemon also wakes as soon as updates
    arrive or a pull is stored). A pull never holds it: pulls run beside the cycles."""
    wake = Wake(now + updates_interval, "updates")
    if next_boundary is not None and max(now, next_boundary + SETTLE) <= wake.at:
        return Wake(max(now, next_boundary + SETTLE), f"boundary at {next_boundary.isoformat()}")
    return wake


def next_pull(now: datetime, last_pull: datetime | None, pull_interval: timedelta) -> datetime:
    """When the next scheduled pull starts: at once the first time, then `pull_interval` after
    the last one started."""
    return now if last_pull is None else max(now, last_pull + pull_interval)


K = TypeVar("K", int, str)


@dataclass(frozen=True, slots=True)
class Rereads(Generic[K]):
    """One slice of a re-read spread over `interval`: the items of a ring (chats, houses) read
    longest ago, as many as are owed since the ring was last read up to `last`."""

    items: list[K]
    last: datetime
    interval: timedelta
    total: int

    def read_up_to(self, read: int, wall: datetime) -> datetime:
        """The new "read up to" instant once the first `read` items are read: each item is
        worth `interval / total`, so a slice cut short owes the rest to the next one, and one
        rounded up is credited (it may run ahead of `wall`: a small ring is not read each cycle)."""
        if not self.total:
            return wall
        return self.last + self.interval * (read / self.total)


def rereads(ring: Sequence[K], after: K | None, last: datetime | None, wall: datetime, interval: timedelta, most: int) -> Rereads[K]:
    """The next items of the sorted `ring` after `after` (wrapping round), so that the whole
    ring is read once per `interval`, and at most `most` at a time. `last` is the instant the
    ring was read up to (None: a whole lap is owed); never more than one lap is owed."""
    start = wall - interval if last is None else max(last, wall - interval)
    owed = len(ring) * ((wall - start) / interval) if interval > timedelta(0) else len(ring)
    n = max(0, min(math.ceil(owed - 1e-9), most, len(ring)))
    i = 0 if after is None else bisect.bisect_right(ring, after)
    items = [ring[(i + k) % len(ring)] for k in range(n)]
    return Rereads(items, start, interval, len(ring))
