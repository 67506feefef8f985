"""A clock for running the real daemon into a local midnight without waiting for it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from time import monotonic as _real

from sqlmodel import Session, col, select

from domchat.clock import VirtualClock
from domchat.storage.tables import AuditRow, RunRow
from support.stage import Stage


class MidnightClock(VirtualClock):
    """Stands still at `at` until `go()`, then runs with real time as well; the daemon's sleeps
    move it on at once, other threads' (the lease's heartbeat, the pull's schedule) wait for the
    daemon's time."""

    def __init__(self, at: datetime) -> None:
        super().__init__(at)
        self._started: float | None = None

    def go(self) -> None:
        with self._lock:
            if self._started is None:
                self._started = _real()

    def _now(self) -> datetime:
        return self._at + timedelta(seconds=0.0 if self._started is None else _real() - self._started)


def wait_for(condition: Callable[[], bool], thread: threading.Thread, timeout: float = 180.0) -> None:
    """Wait until `condition()` holds, checking as the daemon turns (never a fixed sleep)."""
    deadline = _real() + timeout
    pause = threading.Event()
    while not condition():
        assert thread.is_alive(), "the daemon ended"
        assert _real() < deadline, "the condition did not come within the timeout"
        pause.wait(0.05)


def runs(stage: Stage) -> list[RunRow]:
    """The runs recorded so far, in the order they started."""
    with Session(stage.app().db) as s:
        return list(s.exec(select(RunRow).order_by(col(RunRow.started_at))))


def admins_granted(stage: Stage, chat: int, staff: set[int]) -> list[AuditRow]:
    """The audited grants of admin rights to `staff` in `chat` that were done."""
    with Session(stage.app().db) as s:
        rows = s.exec(select(AuditRow).where(col(AuditRow.chat_id) == chat, col(AuditRow.action) == "grant_admin"))
        return [r for r in rows if r.outcome == "done" and r.user_id in staff]
