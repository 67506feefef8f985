"""The real daemon, both emulators on loopback: a reconcile in progress at a building's local
midnight yields to it, and the handover lands within its floor (write calls at 27/s) + 5 s.

The daemon runs on a clock that starts just before the midnight and then follows real time, so
the lag is what a machine under load really gives; its sleeps pass at once (they move the clock
on), so the test waits for nothing but the work itself."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from time import monotonic as _real
from typing import Any

import pytest
from sqlmodel import Session, col, select

from domchat.app import cycles
from domchat.clock import VirtualClock
from domchat.max_client.client import MaxClient
from domchat.storage import repo
from domchat.storage.db import transaction
from domchat.storage.tables import ActionRow, AuditRow, BuildingRow, LeaseRow, RunRow
from domchat.sync.engine import CHATS_AFTER, CHATS_READ
from domchat.sync.pull import HOUSES_AFTER
from support.stage import Stage

RATE = 27.0
"""The bot's calls per second that domchat keeps to (10 % below MAX's 30)."""


class MidnightClock(VirtualClock):
    """Stands still at `at` until `go()`, then runs with real time as well; the daemon's sleeps
    move it on at once, other threads' (the lease's heartbeat) wait for the daemon's time."""

    def __init__(self, at: datetime) -> None:
        super().__init__(at)
        self._started: float | None = None

    def go(self) -> None:
        with self._lock:
            if self._started is None:
                self._started = _real()

    def _now(self) -> datetime:
        return self._at + timedelta(seconds=0.0 if self._started is None else _real() - self._started)


def _handover_done(stage: Stage, chat: int, new_staff: set[int]) -> list[AuditRow]:
    with Session(stage.app().db) as s:
        rows = s.exec(select(AuditRow).where(col(AuditRow.chat_id) == chat, col(AuditRow.action) == "grant_admin"))
        return [r for r in rows if r.outcome == "done" and r.user_id in new_staff]


def _runs(stage: Stage) -> list[RunRow]:
    with Session(stage.app().db) as s:
        return list(s.exec(select(RunRow).order_by(col(RunRow.started_at))))


def _wait_for(condition: Any, thread: threading.Thread, timeout: float = 180.0) -> None:
    """Wait until `condition()` holds, checking as the daemon turns (never a fixed sleep)."""
    deadline = _real() + timeout
    done = threading.Event()
    while not condition():
        assert thread.is_alive(), "the daemon ended"
        assert _real() < deadline, "the condition did not come within the timeout"
        done.wait(0.1)


@pytest.mark.world(buildings=30)
def test_a_reconcile_in_progress_at_local_midnight_yields_and_the_handover_lands_within_its_floor(
    stage: Stage, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage.running()
    b, midnight = stage.next_handover()
    chat = stage.chats[b["fias_guid"]]
    new_staff = stage.staff_of(b["management"][1]["ogrn"])
    with stage.config.open("a", encoding="utf-8") as f:
        f.write('[metrics]\nlisten = ""\n')
    start = midnight - timedelta(milliseconds=50)
    app = stage.app()
    with transaction(app.db) as s:  # a whole lap of chat re-reads is owed: the day's reconcile
        repo.set_bookmark(s, CHATS_READ, (start - timedelta(days=1)).isoformat(), start)
        repo.set_bookmark(s, CHATS_AFTER, str(max(stage.chats.values())), start)
        for lease in s.exec(select(LeaseRow)):  # released at the machine's time, days after `start`
            lease.expires_at = start
            s.add(lease)
    clock = MidnightClock(start)
    app = replace(app, clock=clock)

    # Time starts to run once the reconcile's slice is under way (its third chat read).
    read = MaxClient.members
    reads: list[int] = []

    def members(self: MaxClient, chat_id: int) -> Sequence[Any]:
        reads.append(chat_id)
        if len(reads) == 3:
            clock.go()
        return read(self, chat_id)

    monkeypatch.setattr(MaxClient, "members", members)
    stop = threading.Event()
    thread = threading.Thread(target=cycles.daemon, args=(app, stop), name="daemon", daemon=True)
    thread.start()
    try:
        _wait_for(lambda: {r.user_id for r in _handover_done(stage, chat, new_staff)} >= new_staff, thread)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()

    first, *later = [r for r in _runs(stage) if r.started_at >= start]
    summary = json.loads(first.summary)
    assert first.started_at < midnight and summary["reread_cut"]  # the reconcile was in progress at midnight
    assert 3 <= summary["reread"] < len(stage.chats)
    handing = next(r for r in later if r.finished_at is not None and json.loads(r.summary)["done"])
    assert handing.started_at >= midnight

    grants = _handover_done(stage, chat, new_staff)
    landed = max(datetime.fromisoformat(r.at.replace("Z", "+00:00")) for r in grants)
    with Session(stage.app().db) as s:
        writes = [a for a in s.exec(select(ActionRow).where(col(ActionRow.chat_id) == chat)) if _due(a) == midnight]
    assert writes and all(a.status == "done" for a in writes)
    floor = len(writes) / RATE
    lag = (landed - midnight).total_seconds()
    assert 0 <= lag <= floor + 5.0, (lag, floor)


def _due(action: ActionRow) -> datetime | None:
    due = json.loads(action.payload).get("due")
    return datetime.fromisoformat(due) if due else None


def test_each_pull_re_reads_a_slice_of_the_known_houses_going_round_them(stage: Stage) -> None:
    stage.sync()  # every house is new: all read
    with stage.config.open("a", encoding="utf-8") as f:
        f.write("[sync]\nhouse_reread_interval = 0.001\nhouse_reread_slice = 4\n")  # a lap owed at each pull, 4 at a time
    ring = sorted(b["fias_guid"] for b in stage.world["buildings"])
    for guid in (ring[1], ring[6]):
        next(b for b in stage.world["buildings"] if b["fias_guid"] == guid)["termination_date"] = "2026-11-01"

    def states() -> dict[str, str]:
        with Session(stage.app().db) as s:
            return {g: s.exec(select(BuildingRow.state).where(BuildingRow.fias_guid == g)).one() for g in (ring[1], ring[6])}

    def after() -> str | None:
        with Session(stage.app().db) as s:
            return repo.get_bookmark(s, HOUSES_AFTER)

    stage.sync()
    assert states() == {ring[1]: "terminated", ring[6]: "active"} and after() == ring[3]
    stage.sync()
    assert states() == {ring[1]: "terminated", ring[6]: "terminated"} and after() == ring[7]
    stage.sync()
    stage.sync()
    assert after() == ring[(4 * 4 - 1) % len(ring)]  # round the ring and on
