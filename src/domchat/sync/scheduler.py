"""When the daemon wakes (the earlier of the next scheduled pull and the next local midnight),
and which chats and houses a cycle re-reads (a slice of each, spread over their periods).

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
    pull: bool
    """Whether this wake-up is (also) the scheduled GIS pull."""
    reason: str


def next_wake(
    now: datetime,
    last_pull: datetime | None,
    pull_interval: timedelta,
    next_boundary: datetime | None,
    updates_interval: timedelta,
    pull_takes: timedelta = timedelta(0),
) -> Wake:
    """The next wake-up; between pulls and boundaries the daemon still wakes every
    `updates_interval` to answer binding codes and enrolment links.

    A cycle pulls before it plans, so a scheduled pull that would still be running at the next
    boundary (it takes about `pull_takes`, as the last one did) waits until that boundary's
    cycle is done: rights due at a boundary go first. The first pull never waits."""
    pull_at = now if last_pull is None else max(now, last_pull + pull_interval)
    boundary_at = None if next_boundary is None else max(now, next_boundary + SETTLE)
    held = last_pull is not None and boundary_at is not None and pull_at <= boundary_at < pull_at + pull_takes
    if held and boundary_at is not None:
        pull_at = boundary_at
    candidates = [Wake(pull_at, pull=True, reason="scheduled pull")]
    if next_boundary is not None and boundary_at is not None:
        candidates.append(Wake(boundary_at, pull=False, reason=f"boundary at {next_boundary.isoformat()}"))
    candidates.append(Wake(now + updates_interval, pull=False, reason="updates"))
    # On a tie the pull wins (it covers the boundary and the updates too), unless it was held
    # for the boundary.
    return min(candidates, key=lambda w: (w.at, w.pull == held))


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
