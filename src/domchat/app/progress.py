"""Progress of long work. Use cases report through a `Progress` callback (phase, done, total);
the CLI draws bars with it on a terminal, the daemon logs a line now and then (`ticker`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

import structlog

from domchat.clock import Clock
from domchat.sync.ports import Progress, no_progress

__all__ = ["Progress", "counted", "no_progress", "ticker"]

log = structlog.get_logger("domchat.progress")

T = TypeVar("T")

TICK = 30.0
"""Seconds between the daemon's progress lines within one phase."""


def ticker(clock: Clock, every: float = TICK) -> Progress:
    """A `Progress` that logs `progress` at info at most every `every` seconds per phase, and when
    a phase completes (under a cycle the line carries its `run_id`)."""
    last: dict[str, float] = {}

    def report(phase: str, done: int, total: int) -> None:
        now = clock.monotonic()
        if done < total and phase in last and now - last[phase] < every:
            return
        last[phase] = now
        log.info("progress", phase=phase, done=done, total=total)

    return report


def counted(items: Iterable[T], progress: Progress, phase: str, total: int) -> Iterator[T]:
    """`items`, telling `progress` how many have gone by out of `total`."""
    progress(phase, 0, total)
    for n, item in enumerate(items, 1):
        yield item
        progress(phase, n, total)
