"""When the daemon wakes: the earlier of the next scheduled pull and the next local midnight.

Pure arithmetic on instants, so it is tested without sleeping. A boundary lands a few seconds
late on purpose (`SETTLE`): the planner then sees the new local date in that building's zone
even if this machine's clock runs slightly behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

SETTLE = timedelta(seconds=2)


@dataclass(frozen=True, slots=True)
class Wake:
    at: datetime
    pull: bool
    """Whether this wake-up is (also) the scheduled GIS pull."""
    reason: str


def next_wake(
    now: datetime, last_pull: datetime | None, pull_interval: timedelta, next_boundary: datetime | None, updates_interval: timedelta
) -> Wake:
    """The next wake-up; between pulls and boundaries the daemon still wakes every
    `updates_interval` to answer binding codes and enrolment links."""
    pull_at = now if last_pull is None else max(now, last_pull + pull_interval)
    candidates = [Wake(pull_at, pull=True, reason="scheduled pull")]
    if next_boundary is not None:
        candidates.append(Wake(max(now, next_boundary + SETTLE), pull=False, reason=f"boundary at {next_boundary.isoformat()}"))
    candidates.append(Wake(now + updates_interval, pull=False, reason="updates"))
    # On a tie the pull wins: it covers the boundary and the updates too.
    return min(candidates, key=lambda w: (w.at, not w.pull))
