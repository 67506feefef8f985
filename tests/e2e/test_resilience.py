"""Failure isolation end to end: faults in MAX and GIS ZhKH touch only what they hit.

Every run row is closed with its outcome per phase; `sync --once` ends with one line and its
exit code; every building the fault did not hit gets its changes."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select
from typer.testing import CliRunner

from domchat.cli import cli
from domchat.emulators.gis import GisFaults
from domchat.emulators.max.faults import MaxFaults
from domchat.storage.tables import RunRow
from support.stage import NOON, Stage

runner = CliRunner()


def _fast_retries(stage: Stage, **extra: str) -> None:
    lines = ["action_backoff = 0.01", "action_backoff_cap = 0.05", *(f"{k} = {v}" for k, v in extra.items())]
    with stage.config.open("a", encoding="utf-8") as f:
        f.write("[sync]\n" + "\n".join(lines) + "\n")


def _manager(b: dict[str, Any], at: datetime) -> str:
    day = at.astimezone(ZoneInfo(b["tz"])).date()
    for m in b["management"]:
        if date.fromisoformat(m["start"]) <= day and (m["end"] is None or day < date.fromisoformat(m["end"])):
            return str(m["ogrn"])
    raise AssertionError("no manager")


def _wrong_admins(stage: Stage, at: datetime) -> dict[str, set[int]]:
    """Per building, who is admin but should not be, or should be but is not."""
    authority = set(stage.world["authority"]["max_accounts"]) | {stage.world["bot"]["user_id"]}
    wrong = {}
    for b in stage.world["buildings"]:
        want = authority | stage.staff_of(_manager(b, at))
        got = stage.admins(stage.chats[b["fias_guid"]])
        if got ^ want:
            wrong[b["address"]] = got ^ want
    return wrong


def _duplicate_messages(stage: Stage) -> list[tuple[int, str]]:
    bot = stage.world["bot"]["user_id"]
    dupes = []
    for chat in stage.chats.values():
        sent = Counter(m["text"] for m in stage.chat_state(chat)["messages"] if m["sender_id"] == bot)
        dupes += [(chat, text[:40]) for text, n in sent.items() if n > 1]
    return dupes


def _after_every_handover(stage: Stage) -> datetime:
    last = max(date.fromisoformat(m["start"]) for b in stage.world["buildings"] for m in b["management"][1:])
    return datetime.combine(last + timedelta(days=1), time(12), tzinfo=UTC)


def _setup(stage: Stage) -> None:
    stage.sync()
    stage.enrol_all_staff()
    stage.bind_all()


def _sync_once(stage: Stage, at: datetime) -> tuple[int, list[str]]:
    result = runner.invoke(cli, ["sync", "--once", "--config", str(stage.config), "--now", at.isoformat()])
    return result.exit_code, [line for line in result.stderr.splitlines() if line.startswith("domchat: error:")]


def _last_run(stage: Stage) -> RunRow:
    with Session(stage.app().db) as s:
        row = s.exec(select(RunRow).order_by(col(RunRow.started_at).desc(), col(RunRow.finished_at).desc())).first()
    assert row is not None
    return row


def test_under_max_5xx_429_bursts_and_gis_faults_every_change_lands_within_three_runs(stage: Stage) -> None:
    _fast_retries(stage)
    _setup(stage)
    stage.max.faults.replace(MaxFaults(share_5xx=0.05, burst_429_every=25, burst_429_length=3, retry_after=0.05, seed=7))
    stage.gis.faults = GisFaults(exp001000_share=0.1, http_5xx_share=0.05, seed=7)
    later = _after_every_handover(stage)
    for at in (NOON, later):
        reports = [stage.sync(now=at) for _ in range(3)]
        assert all(r.phases for r in reports)
        assert _wrong_admins(stage, at) == {}, [r.error for r in reports]
    counts = stage.max.stats()["counts"]
    assert counts["injected_5xx"] > 0 and counts["injected_429"] > 0
    assert _duplicate_messages(stage) == []
    with Session(stage.app().db) as s:
        assert all(r.status != "running" for r in s.exec(select(RunRow)))


def test_a_house_gis_refuses_degrades_the_pull_and_every_chat_still_gets_its_changes(stage: Stage) -> None:
    _fast_retries(stage, house_reread_interval="0.001")  # every pull re-reads every house
    denied = stage.world["buildings"][0]
    denied["access_denied"] = True
    _setup(stage)
    code, lines = _sync_once(stage, NOON)
    assert code == 1
    (line,) = lines
    assert "cycle degraded: pull: house" in line and "AUT011003" in line and denied["fias_guid"] in line
    run = _last_run(stage)
    assert run.status == "degraded" and run.finished_at is not None
    assert json.loads(run.phases) == {"updates": "ok", "pull": "degraded", "plan": "ok", "execute": "ok"}
    assert _wrong_admins(stage, NOON) == {}
    status = runner.invoke(cli, ["status", "--config", str(stage.config)]).stdout
    assert "last cycle: degraded (pull degraded): cycle degraded: pull: house" in status


def test_persistent_exp001000_fails_the_pull_and_the_handover_still_happens(stage: Stage) -> None:
    _fast_retries(stage)
    _setup(stage)
    stage.sync()
    stage.gis.faults = GisFaults(exp001000_share=1.0)
    later = _after_every_handover(stage)
    code, lines = _sync_once(stage, later)
    assert code == 1
    (line,) = lines
    assert line.startswith("domchat: error: cycle failed: pull: GIS EXP001000")
    run = _last_run(stage)
    assert run.status == "failed" and run.finished_at is not None
    assert json.loads(run.phases) == {"updates": "ok", "pull": "failed", "plan": "ok", "execute": "ok"}
    assert _wrong_admins(stage, later) == {}
    status = runner.invoke(cli, ["status", "--json", "--config", str(stage.config)])
    doc = json.loads(status.stdout)
    assert doc["last_cycle"]["status"] == "failed" and doc["last_cycle"]["phases"]["pull"] == "failed"


def test_a_soap_fault_on_every_request_fails_the_pull_and_the_handover_still_happens(stage: Stage) -> None:
    _fast_retries(stage)
    _setup(stage)
    stage.sync()
    text = stage.config.read_text(encoding="utf-8")
    ppa = stage.world["authority"]["ppa_guid"]
    stage.config.write_text(text.replace(ppa, "00000000-0000-4000-8000-000000000000"), encoding="utf-8")
    later = _after_every_handover(stage)
    code, lines = _sync_once(stage, later)
    assert code == 1
    (line,) = lines
    assert line.startswith("domchat: error: cycle failed: pull: GIS AUT011002:") and "exportActualLicenseState" in line
    run = _last_run(stage)
    assert run.status == "failed" and run.finished_at is not None
    assert _wrong_admins(stage, later) == {}
