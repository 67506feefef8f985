"""The daemon's wake-ups: pulls on schedule, boundaries just after local midnight, updates between."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from domchat.sync.scheduler import SETTLE, next_pull, next_wake, rereads

NOW = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
LONG = timedelta(days=1)
DAY = timedelta(days=1)


def test_pulls_start_at_once_then_every_interval() -> None:
    assert next_pull(NOW, None, HOUR) == NOW
    assert next_pull(NOW, NOW - timedelta(minutes=50), HOUR) == NOW + timedelta(minutes=10)
    assert next_pull(NOW, NOW - 3 * HOUR, HOUR) == NOW  # overdue: at once


def test_boundary_wakes_just_after_midnight() -> None:
    midnight = datetime(2026, 11, 30, 19, 0, tzinfo=UTC)  # 1 December 00:00 in Asia/Yekaterinburg
    w = next_wake(NOW, midnight, LONG)
    assert (w.at, w.reason) == (midnight + SETTLE, f"boundary at {midnight.isoformat()}")


def test_missed_boundary_runs_at_once() -> None:
    w = next_wake(NOW, NOW - timedelta(hours=5), LONG)
    assert w.at == NOW and w.reason.startswith("boundary")


def test_updates_between_boundaries() -> None:
    w = next_wake(NOW, NOW + HOUR, timedelta(seconds=30))
    assert (w.at, w.reason) == (NOW + timedelta(seconds=30), "updates")
    assert next_wake(NOW, None, timedelta(seconds=30)) == w


RING = list(range(1, 1001))


def _spread(wakes: int, every: timedelta, most: int, ring: list[int] = RING) -> dict[int, list[datetime]]:
    """Slices taken at each of `wakes` wake-ups `every` apart: when each item was read."""
    read: dict[int, list[datetime]] = {k: [] for k in ring}
    last, after = NOW - DAY, None  # a whole lap owed at the start
    for i in range(wakes):
        wall = NOW + i * every
        again = rereads(ring, after, last, wall, DAY, most)
        for k in again.items:
            read[k].append(wall)
        if again.items:
            last, after = again.read_up_to(len(again.items), wall), again.items[-1]
    return read


def test_a_slice_is_owed_in_proportion_to_the_time_since_the_last_and_bounded() -> None:
    assert len(rereads(RING, None, None, NOW, DAY, 10_000).items) == 1000  # nothing read yet: a whole lap
    assert len(rereads(RING, None, None, NOW, DAY, 100).items) == 100  # but never more than `most`
    assert len(rereads(RING, None, NOW - timedelta(hours=6), NOW, DAY, 10_000).items) == 250
    assert len(rereads(RING, None, NOW - 3 * DAY, NOW, DAY, 10_000).items) == 1000  # at most one lap owed
    assert rereads(RING, None, NOW + timedelta(hours=1), NOW, DAY, 10_000).items == []  # read ahead: nothing owed
    assert rereads([], None, None, NOW, DAY, 10).items == []


def test_slices_go_round_the_ring_from_where_the_last_stopped() -> None:
    again = rereads(RING, 998, NOW - timedelta(minutes=6), NOW, DAY, 100)
    assert again.items == [999, 1000, 1, 2, 3]
    assert rereads(RING, 5, NOW - timedelta(minutes=6), NOW, DAY, 100).items == [6, 7, 8, 9, 10]
    assert rereads([10, 20, 30], 25, None, NOW, DAY, 2).items == [30, 10]  # an item that left the ring


def test_a_slice_cut_short_owes_the_rest_to_the_next() -> None:
    again = rereads(RING, None, NOW - timedelta(hours=6), NOW, DAY, 10_000)
    assert again.read_up_to(250, NOW) == NOW
    assert again.read_up_to(125, NOW) == NOW - timedelta(hours=3)
    assert len(rereads(RING, again.items[124], NOW - timedelta(hours=3), NOW, DAY, 10_000).items) == 125


def test_every_item_is_read_once_a_day_in_small_slices_after_the_first_lap() -> None:
    read = _spread(wakes=2 * 2880 + 1, every=timedelta(seconds=30), most=100)  # two days of 30-s wake-ups
    first_lap_done = max(times[0] for times in read.values())
    assert first_lap_done == NOW + 9 * timedelta(seconds=30)  # the owed lap, 100 a wake-up
    for times in read.values():
        assert sum(NOW + DAY <= t < NOW + 2 * DAY for t in times) == 1  # once on the second day
        assert all(b - a <= DAY + timedelta(minutes=1) for a, b in pairwise(times))


def test_a_small_ring_is_not_read_every_wake_up() -> None:
    read = _spread(wakes=2880, every=timedelta(seconds=30), most=100, ring=[1, 2, 3, 4])
    assert all(len(times) <= 2 for times in read.values())  # the first lap, then once more within the day
