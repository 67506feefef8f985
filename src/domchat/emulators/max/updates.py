"""The bot's update queue: numbered updates read by long polling or pushed to a webhook.

Each update gets a sequence number; a `marker` names the next update the reader expects.
Passing marker `M` acknowledges every update before `M`, and only acknowledged updates are
dropped, so a reader that crashed before storing a batch gets the same batch again by
re-sending its old marker. Without a marker a reader gets everything not yet acknowledged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection
from typing import Any


class UpdateQueue:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._items: list[tuple[int, dict[str, Any]]] = []
        self._next_seq = 1
        self._acked = 1
        """Every update numbered below this has been acknowledged."""
        self._closed = False

    def push(self, update: dict[str, Any]) -> None:
        with self._cond:
            self._items.append((self._next_seq, update))
            self._next_seq += 1
            self._cond.notify_all()

    def close(self) -> None:
        """Wake every waiting reader (the emulator is stopping)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def reopen(self) -> None:
        with self._cond:
            self._closed = False

    def pending(self) -> int:
        with self._cond:
            return len(self._items)

    def poll(self, marker: int | None, *, limit: int, timeout: float, types: Collection[str] | None) -> tuple[list[dict[str, Any]], int]:
        """Updates from `marker` on (at most `limit`, waiting up to `timeout` s for the first) and the next marker."""
        deadline = time.monotonic() + timeout
        with self._cond:
            if marker is not None:
                self._ack(marker)
            start = self._acked if marker is None else min(max(marker, self._acked), self._next_seq)
            while True:
                batch = [(s, u) for s, u in self._items if s >= start and (types is None or u["update_type"] in types)][:limit]
                remaining = deadline - time.monotonic()
                if batch or self._closed or remaining <= 0:
                    break
                self._cond.wait(remaining)
            if batch and len(batch) == limit:
                return [u for _, u in batch], batch[-1][0] + 1
            # Nothing more matched: updates of other types up to here are consumed with the batch.
            return [u for _, u in batch], self._next_seq

    def next_undelivered(self, stop: threading.Event) -> tuple[int, dict[str, Any]] | None:
        """The oldest unacknowledged update, waiting for one; None once `stop` is set or closed."""
        with self._cond:
            while not stop.is_set() and not self._closed:
                if self._items:
                    return self._items[0]
                self._cond.wait()
        return None

    def ack_through(self, seq: int) -> None:
        with self._cond:
            self._ack(seq + 1)

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _ack(self, marker: int) -> None:
        if marker > self._acked:
            self._acked = min(marker, self._next_seq)
            self._items = [(s, u) for s, u in self._items if s >= self._acked]
