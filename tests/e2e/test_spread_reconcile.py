"""The real daemon, both emulators on loopback: a reconcile in progress at a building's local
midnight yields to it, and the handover lands within its floor (write calls at 27/s) + 5 s.

The daemon runs on a clock that starts just before the midnight and then follows real time, so
the lag is what a machine under load really gives; its main thread's sleeps pass at once (they
move the clock on), so the test waits for nothing but the work itself."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from domchat.app.daemon import PULL_TRIGGER, daemon
from domchat.max_client.client import MaxClient
from domchat.storage import repo
from domchat.storage.db import transaction
from domchat.storage.tables import ActionRow, BuildingRow, LeaseRow
from domchat.sync.engine import CHATS_AFTER, CHATS_READ
from domchat.sync.pull import HOUSES_AFTER
from support.midnight import MidnightClock, admins_granted, runs, wait_for
from support.stage import Stage

RATE = 27.0
"""The bot's calls per second that domchat keeps to (10 % below MAX's 30)."""


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
    stage.config.write_text(stage.config.read_text().replace("backoff = 0.05", "backoff = 0.05\npoll_timeout = 1"), encoding="utf-8")
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
    thread = threading.Thread(target=daemon, args=(app, stop), name="daemon", daemon=True)
    thread.start()
    try:
        wait_for(lambda: {r.user_id for r in admins_granted(stage, chat, new_staff)} >= new_staff, thread)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()

    first, *later = [r for r in runs(stage) if r.started_at >= start and r.trigger != PULL_TRIGGER]
    summary = json.loads(first.summary)
    assert first.started_at < midnight and summary["reread_cut"]  # the reconcile was in progress at midnight
    assert 3 <= summary["reread"] < len(stage.chats)
    handing = next(r for r in later if r.finished_at is not None and json.loads(r.summary)["done"])
    assert handing.started_at >= midnight

    grants = admins_granted(stage, chat, new_staff)
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
