"""Operator commands over the emulators: plan --at, resync (dry run and real), conflicts, the
removal fuse, the daemon, and logs that never carry a secret."""

from __future__ import annotations

import json
import threading
import time as clock
from datetime import date, timedelta

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from domchat import app as app_mod
from domchat.app.daemon import PULL_TRIGGER
from domchat.cli import cli
from domchat.errors import SafetyFuse
from domchat.storage import audit
from domchat.storage.tables import PeriodRow, RunRow
from support.stage import NOON, Stage

runner = CliRunner()


def _ready(stage: Stage) -> None:
    stage.sync()
    stage.enrol_all_staff()
    stage.bind_all()
    stage.sync()


def _changing(stage: Stage) -> dict[str, object]:
    later = [b for b in stage.world["buildings"] if len(b["management"]) > 1 and b["management"][1]["start"] > NOON.date().isoformat()]
    return min(later, key=lambda b: b["management"][1]["start"])


def test_plan_at_a_date_shows_the_coming_change_and_why(stage: Stage) -> None:
    _ready(stage)
    b = _changing(stage)
    switch = b["management"][1]["start"]  # type: ignore[index]
    args = ["plan", "--at", switch, "--building", b["fias_guid"], "--json", "--config", str(stage.config), "--now", NOON.isoformat()]
    result = runner.invoke(cli, args)  # type: ignore[arg-type]
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    kinds = {a["kind"] for a in doc["actions"]}
    assert {"revoke_admin", "grant_admin", "pin_card"} <= kinds
    new = b["management"][1]["ogrn"]  # type: ignore[index]
    assert doc["managers"][b["fias_guid"]].startswith(f"{new} on {switch}")
    grants = [a for a in doc["actions"] if a["kind"] == "grant_admin"]
    assert all(new in a["reason"] for a in grants)
    assert all(f"сотрудник управляющей организации ОГРН {new}" in a["text_reason"] for a in grants)  # read as audit.lang says
    # Planning changed nothing.
    today = runner.invoke(cli, ["plan", "--json", "--config", str(stage.config), "--now", NOON.isoformat()])
    assert json.loads(today.stdout)["actions"] == []


def test_resync_dry_run_shows_repairs_and_the_real_one_makes_them(stage: Stage) -> None:
    _ready(stage)
    building, chat = next(iter(stage.chats.items()))
    stage.act("POST", f"/chats/{chat}/title", as_user=stage.authority, title="Переименовали")
    a = stage.app()
    preview = app_mod.resync(a, operator="ivanova", building=building, dry_run=True)
    assert not isinstance(preview, app_mod.CycleReport)
    assert [x.kind for x in preview.actions] == ["set_title"]
    assert stage.chat_state(chat)["title"] == "Переименовали"
    app_mod.resync(a, operator="ivanova", building=building)
    assert stage.chat_state(chat)["title"] != "Переименовали"
    with Session(a.db) as s:
        titles = [e for e in audit.query(s, audit.AuditFilter(chat_id=chat, action="set_title"))]
    assert titles[-1].actor == "ivanova" and titles[-1].trigger == "cli:resync"


def test_conflict_is_listed_frozen_and_audited_once(stage: Stage) -> None:
    _ready(stage)
    b = next(x for x in stage.world["buildings"] if len(x["management"]) == 1)
    other = next(o["ogrn"] for o in stage.world["organisations"] if o["ogrn"] != b["management"][0]["ogrn"])
    chat = stage.chats[b["fias_guid"]]
    admins = stage.admins(chat)
    with Session(stage.app().db) as s:  # a second licence claim for the same days: inconsistent GIS data
        s.add(PeriodRow(building=b["fias_guid"], org=other, start=date(2026, 11, 1), until=None, basis="licence", source_ids="entry-x"))
        s.commit()
    for _ in range(2):
        stage.sync(pull=False)
    listed = app_mod.conflicts(stage.app())
    assert [c["building"] for c in listed] == [b["fias_guid"]]
    assert {c["org"] for c in listed[0]["claims"]} == {b["management"][0]["ogrn"], other}
    assert stage.admins(chat) == admins
    with Session(stage.app().db) as s:
        events = list(audit.query(s, audit.AuditFilter(building=b["fias_guid"], action="management.conflict")))
    assert [e.outcome for e in events] == ["frozen"]


def test_removal_fuse_stops_the_cycle_until_forced(stage: Stage) -> None:
    _ready(stage)
    for n, chat in enumerate(stage.chats.values()):
        for k in range(3):
            user = 40000 + n * 10 + k
            stage.act("POST", "/users", user_id=user, first_name="Чужой")
            stage.act("POST", "/join", user_id=user, link=stage.chat_state(chat)["link"])
    with pytest.raises(SafetyFuse, match="takes away"):  # removing them all at once is too much
        stage.sync(pull=False)
    with Session(stage.app().db) as s:
        stopped = list(audit.query(s, audit.AuditFilter(action="cycle.stopped")))
        statuses = [r.status for r in s.exec(select(RunRow))]
    assert stopped and stopped[-1].outcome == "refused"
    assert statuses.count("stopped") == 1
    report = stage.sync(pull=False, force=True)
    assert report.done >= 3 * len(stage.chats)
    assert all(u < 40000 for chat in stage.chats.values() for u in (m["user_id"] for m in stage.chat_state(chat)["members"]))


def test_daemon_cycles_until_stopped(stage: Stage) -> None:
    text = stage.config.read_text().replace("backoff = 0.05", "backoff = 0.05\npoll_timeout = 1")  # its receiver stops within a poll
    stage.config.write_text(text + "[sync]\nupdates_interval = 0.2\npull_interval = 3600.0\n", encoding="utf-8")
    a = app_mod.open_app(stage.config)
    stop = threading.Event()
    t = threading.Thread(target=app_mod.daemon, args=(a, stop))
    t.start()
    runs: list[RunRow] = []
    deadline = clock.monotonic() + 60  # generous: a loaded CI machine runs a cycle in seconds, not 0.2 s
    while len(runs) < 3 and clock.monotonic() < deadline:
        clock.sleep(0.2)
        with Session(a.db) as s:
            runs = list(s.exec(select(RunRow)))
    stop.set()
    t.join(timeout=30)
    assert not t.is_alive()
    assert len(runs) >= 3
    assert sum(1 for r in runs if r.trigger == PULL_TRIGGER) == 1  # on its own thread, beside the cycles


def test_no_secret_in_logs(stage: Stage, capsys: pytest.CaptureFixture[str]) -> None:
    token = (stage.tmp / "token").read_text()
    stage.config.write_text(stage.config.read_text().replace('level = "warning"', 'level = "debug"'), encoding="utf-8")
    result = runner.invoke(cli, ["sync", "--once", "--config", str(stage.config), "--now", NOON.isoformat()])
    assert result.exit_code == 0, result.stderr
    stage.enrol_all_staff()
    codes = app_mod.issue_binding_codes(stage.app(), "tester")
    result = runner.invoke(cli, ["sync", "--once", "--config", str(stage.config), "--now", (NOON + timedelta(minutes=1)).isoformat()])
    captured = result.stdout + result.stderr + capsys.readouterr().err
    assert "max.call" in captured  # the debug log was really written
    assert token not in captured
    assert not any(c["code"] in captured for c in codes)
