"""The real daemon, both emulators on loopback: a GIS pull runs on its own thread under its own
lease, so a slow one holds no local midnight, and updates are handled within seconds of arriving
(long polling, or stored by `updates --mode webhook` in another process), not at the next 30-s
wake-up."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import requests
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from domchat import app as app_mod
from domchat.app.daemon import PULL_TRIGGER, daemon
from domchat.cli import cli
from domchat.gis_client.client import GisClient
from domchat.gis_client.types import ActualLicense
from domchat.storage import repo
from domchat.storage.db import transaction
from domchat.storage.tables import ActionRow, AuditRow, LeaseRow, UpdateRow
from domchat.sync import updates
from support.midnight import MidnightClock, admins_granted, runs, wait_for
from support.stage import Stage

RATE = 27.0
"""The bot's calls per second that domchat keeps to (10 % below MAX's 30)."""


class _HeldPulls:
    """`GisClient.actual_licenses` (the first exchange of every pull) held until `release`."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, entered: Callable[[], None] = lambda: None) -> None:
        self.pulling = threading.Event()
        self.release = threading.Event()
        read = GisClient.actual_licenses

        def held(client: GisClient, ogrns: Sequence[str], region: str, **kw: Any) -> list[ActualLicense]:
            self.pulling.set()
            entered()
            assert self.release.wait(180), "the test never let the pull go"
            return read(client, ogrns, region, **kw)

        monkeypatch.setattr(GisClient, "actual_licenses", held)


def _configure(stage: Stage, **sections: str) -> None:
    """Short long polls (the daemon's receiver ends within one on the way out), no metrics port."""
    text = stage.config.read_text().replace("backoff = 0.05", "backoff = 0.05\npoll_timeout = 1")
    stage.config.write_text(text + '\n[metrics]\nlisten = ""\n' + "".join(f"\n[{k}]\n{v}\n" for k, v in sections.items()), encoding="utf-8")


def _at(row: AuditRow) -> datetime:
    return datetime.fromisoformat(row.at.replace("Z", "+00:00"))


def _running(app: app_mod.App, stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(target=daemon, args=(app, stop), name="daemon", daemon=True)
    thread.start()
    return thread


@pytest.mark.world(buildings=30)
def test_a_pull_in_progress_at_local_midnight_holds_no_handover_and_is_planned_on_once_stored(
    stage: Stage, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage.running()
    b, midnight = stage.next_handover()
    chat = stage.chats[b["fias_guid"]]
    new_staff = stage.staff_of(b["management"][1]["ogrn"])
    # The clock jumps ahead whenever the main thread waits: a long lease outlives the jumps.
    _configure(stage, sync="lease_ttl = 86400.0")
    start = midnight - timedelta(milliseconds=50)
    app = stage.app()
    with transaction(app.db) as s:
        for lease in s.exec(select(LeaseRow)):  # released at the machine's time, days after `start`
            lease.expires_at = start
            s.add(lease)
    clock = MidnightClock(start)
    held = _HeldPulls(monkeypatch, entered=clock.go)  # time runs from when the pull is under way

    # What the held pull will bring: another building changes manager, from the day before.
    other = next(x for x in stage.world["buildings"] if len(x["management"]) == 1 and x["fias_guid"] in stage.chats and x is not b)
    successor = next(o for o in stage.world["organisations"] if o["kind"] == "uo" and o["ogrn"] != other["management"][0]["ogrn"])
    successor_staff = set(successor["staff"])
    day_before = date.fromisoformat(b["management"][1]["start"]) - timedelta(days=1)

    stop = threading.Event()
    thread = _running(replace(app, clock=clock), stop)
    try:
        wait_for(lambda: {r.user_id for r in admins_granted(stage, chat, new_staff)} >= new_staff, thread)
        assert held.pulling.is_set() and not held.release.is_set()  # the pull is still in progress
        answer = requests.post(
            f"{stage.gis.base_url}/_emulator/buildings/{other['fias_guid']}/changes",
            json={"ogrn": successor["ogrn"], "start": day_before.isoformat()},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        held.release.set()
        wait_for(
            lambda: {r.user_id for r in admins_granted(stage, stage.chats[other["fias_guid"]], successor_staff)} >= successor_staff, thread
        )
    finally:
        held.release.set()
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()

    landed = max(_at(r) for r in admins_granted(stage, chat, new_staff))
    with Session(stage.app().db) as s:
        writes = [a for a in s.exec(select(ActionRow).where(col(ActionRow.chat_id) == chat)) if _due(a) == midnight]
    assert writes and all(a.status == "done" for a in writes)
    lag = (landed - midnight).total_seconds()
    assert 0 <= lag <= len(writes) / RATE + 5.0, lag

    since = [r for r in runs(stage) if r.started_at >= start]
    (pull, *_) = [r for r in since if r.trigger == PULL_TRIGGER]
    assert pull.started_at < midnight and pull.finished_at is not None and pull.finished_at > landed  # in progress throughout
    assert pull.status in ("ok", "degraded") and json.loads(pull.phases) == {"pull": pull.status}
    # The pull's data is planned on once stored: only it could hand `other` over, and it was held
    # until after the midnight's handover. (Here the clock jumps at each wait of the main thread,
    # so a scheduled cycle gets there first; the wake-up a stored pull gives is tested below.)
    assert min(_at(r) for r in admins_granted(stage, stage.chats[other["fias_guid"]], successor_staff)) > landed


def _due(action: ActionRow) -> datetime | None:
    due = json.loads(action.payload).get("due")
    return datetime.fromisoformat(due) if due else None


def _handled(stage: Stage, text: str) -> UpdateRow | None:
    with Session(stage.app().db) as s:
        rows = s.exec(select(UpdateRow).where(col(UpdateRow.processed_at).is_not(None)))
        return next((r for r in rows if text in r.body), None)


def _first_cycle_done(stage: Stage) -> bool:
    return any(r.finished_at is not None and r.trigger == "start" for r in runs(stage))


def _write(stage: Stage, chat: int, text: str) -> None:
    stage.act("POST", f"/chats/{chat}/messages", as_user=stage.authority, text=text)


def test_an_update_is_handled_within_seconds_while_a_pull_holds_the_gis_lease(stage: Stage, monkeypatch: pytest.MonkeyPatch) -> None:
    stage.running()
    _configure(stage)  # updates_interval stays 30 s
    app = stage.app()
    assert app.settings.sync.updates_interval == 30.0
    held = _HeldPulls(monkeypatch)
    stop = threading.Event()
    thread = _running(app, stop)
    try:
        wait_for(lambda: _first_cycle_done(stage) and held.pulling.is_set(), thread)
        # The daemon's pull thread holds the region's GIS lease: `sync --once` (which pulls) is busy.
        busy = CliRunner().invoke(cli, ["sync", "--once", "--config", str(stage.config)])
        assert busy.exit_code == 4, busy.stderr
        assert "another domchat" in busy.stderr and ":gis" in busy.stderr

        took = []
        org = next(o for o in stage.world["organisations"] if o["staff"])
        for k in range(3):  # a staff member opens the bot by an enrolment link: `bot_started`
            payload = app_mod.org_invite(app, org["ogrn"], "tester").split("start=", 1)[1]
            sent = app.clock.monotonic()
            stage.act("POST", "/start", user_id=org["staff"][k % len(org["staff"])], payload=payload)
            wait_for(lambda payload=payload: _handled(stage, payload) is not None, thread, timeout=60)  # type: ignore[misc]
            took.append(app.clock.monotonic() - sent)
        # Once the pull is let go and stored, it wakes the main thread: a cycle plans on it at once.
        held.release.set()
        wait_for(lambda: any("pull stored" in r.trigger for r in runs(stage)), thread, timeout=60)
    finally:
        held.release.set()
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()
    print(f"update handled after {', '.join(f'{t:.2f}' for t in took)} s (long polling)")
    # Well before the 30-s wake-up, and by a cycle the update woke, not the schedule.
    assert max(took) < 10.0, took
    triggers = {r.trigger for r in runs(stage)}
    assert "updates arrived" in triggers


def test_updates_stored_by_another_process_are_found_within_seconds(stage: Stage) -> None:
    stage.running()
    _configure(stage)
    stage.config.write_text(
        stage.config.read_text().replace("[max]\n", '[max]\nwebhook_url = "https://domchat.example/hook"\n'), encoding="utf-8"
    )
    app = stage.app()
    assert app.settings.sync.updates_check_interval == 2.0 and not app.engine_config(app.bot_user_id()).poll_updates
    stop = threading.Event()
    thread = _running(app, stop)
    chat = next(iter(stage.chats.values()))
    platform = app.max()
    try:
        wait_for(lambda: _first_cycle_done(stage), thread)
        took = []
        for k in range(3):
            text = f"/справка {k}"  # a command: answered at once (residents' chatter waits for the next cycle)
            _write(stage, chat, text)
            # What `updates --mode webhook` does in its own process: store it.
            assert updates.fetch(app.db, platform, app.clock) >= 1
            stored = app.clock.monotonic()
            wait_for(lambda text=text: _handled(stage, text) is not None, thread, timeout=60)  # type: ignore[misc]
            took.append(app.clock.monotonic() - stored)
    finally:
        platform.close()
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()
    print(f"update handled after {', '.join(f'{t:.2f}' for t in took)} s (stored by another process)")
    assert max(took) < 2.0 + 8.0, took  # one look every 2 s, then the cycle
    assert "updates stored" in {r.trigger for r in runs(stage)}
    with Session(app.db) as s:
        assert repo.get_bookmark(s, updates.MARKER) is not None
