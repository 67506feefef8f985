"""The daemon's wake-ups: pulls on schedule, boundaries just after local midnight, updates between."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domchat.sync.scheduler import SETTLE, next_wake

NOW = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
LONG = timedelta(days=1)


def test_first_wake_pulls_at_once() -> None:
    w = next_wake(NOW, None, HOUR, None, LONG)
    assert (w.at, w.pull) == (NOW, True)


def test_boundary_before_the_pull_wakes_just_after_midnight() -> None:
    midnight = datetime(2026, 11, 30, 19, 0, tzinfo=UTC)  # 1 December 00:00 in Asia/Yekaterinburg
    w = next_wake(NOW, NOW - timedelta(minutes=10), 2 * HOUR, midnight, LONG)
    assert (w.at, w.pull) == (midnight + SETTLE, False)


def test_pull_before_the_boundary() -> None:
    w = next_wake(NOW, NOW - timedelta(minutes=50), HOUR, NOW + 3 * HOUR, LONG)
    assert (w.at, w.pull) == (NOW + timedelta(minutes=10), True)


def test_missed_boundary_runs_at_once() -> None:
    w = next_wake(NOW, NOW - timedelta(minutes=1), HOUR, NOW - timedelta(hours=5), LONG)
    assert (w.at, w.pull) == (NOW, False)


def test_updates_between_pulls() -> None:
    w = next_wake(NOW, NOW, HOUR, None, timedelta(seconds=30))
    assert (w.at, w.pull, w.reason) == (NOW + timedelta(seconds=30), False, "updates")
