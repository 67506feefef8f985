"""`domchat status` tells the truth about each cycle: a failed or degraded phase is never shown as
ok, and `status --check` answers as a Nagios/Icinga plugin (exit code, one line, perfdata)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from domchat.cli import cli
from domchat.emulators.gis import GisEmulator
from domchat.sync.locks import Lease
from support.stage import NOON, SCHEMAS, Stage, make_world, write_config

runner = CliRunner()
LATER = NOON + timedelta(minutes=5)
"""The second cycle of a test runs here: runs are ordered by their (planning) start."""
PERF = re.compile(r"^(?P<label>\w+)=(?P<value>-?[\d.]+|U)(?P<uom>[a-zA-Z%]*);(?P<warn>[\d.]*);(?P<crit>[\d.]*);(?P<min>[\d.]*)$")


def _status(config: Path, *args: str, now: datetime = LATER) -> tuple[int, str]:
    result = runner.invoke(cli, ["status", *args, "--now", now.isoformat(), "--config", str(config)])
    return result.exit_code, result.stdout


def _check(config: Path, now: datetime = LATER) -> tuple[int, str, dict[str, dict[str, str]]]:
    """`status --check`: its exit code, its text, and its perfdata by label."""
    code, out = _status(config, "--check", now=now)
    lines = out.splitlines()
    assert len(lines) == 1, out
    text, _, perfdata = lines[0].partition(" | ")
    perf = {}
    for item in perfdata.split():
        m = PERF.match(item)
        assert m is not None, f"not Nagios perfdata: {item!r}"
        perf[m["label"]] = m.groupdict()
    return code, text, perf


def _doc(config: Path, now: datetime = LATER) -> dict[str, Any]:
    code, out = _status(config, "--json", now=now)
    assert code == 0, out
    doc: dict[str, Any] = json.loads(out)
    return doc


def _reconfigure(stage: Stage, db_url: str, gis_url: str, **extra: str) -> None:
    token = (stage.tmp / "token").read_text(encoding="utf-8")
    write_config(stage.tmp, stage.world, gis_url, stage.max.base_url, db_url, token, **extra)


def test_a_healthy_run_is_ok_with_its_pulls_and_perfdata(stage: Stage) -> None:
    stage.running()
    code, text, perf = _check(stage.config)
    assert code == 0 and text.startswith("DOMCHAT OK - last cycle ok"), text
    assert perf["pending"]["value"] == "0" and perf["pending"]["warn"] == "1000" and perf["pending"]["crit"] == "10000"
    assert perf["last_pull_age"]["uom"] == "s" and 0 <= float(perf["last_pull_age"]["value"]) < 600
    assert perf["failed_actions"]["value"] == "0" and perf["conflicts"]["value"] == "0"
    doc = _doc(stage.config)
    assert doc["last_cycle"]["status"] == "ok" and doc["last_cycle"] == doc["last_successful_cycle"]
    assert {"licence register", "organisations", "house data", "contracts and charters"} <= set(doc["pulls"])
    assert doc["last_successful_pull"]["at"] >= max(p["at"] for p in doc["pulls"].values())
    assert doc["pending_actions"] == 0 and doc["oldest_pending_age_s"] is None
    assert doc["failures"] == {"given_up": {}, "retrying": {}, "pull": []}
    assert doc["lease"]["name"] == "region:86" and doc["lease"]["held"] is False
    assert doc["version"] and doc["bound_chats"] == len(stage.chats) > 0
    _, out = _status(stage.config)
    assert "last cycle: ok" in out and "licence register:" in out and "lease: free" in out
    app = stage.app()
    with Lease(app.db, "region:86", app.clock) as lease:  # another instance in a cycle
        held = _doc(stage.config)["lease"]
        assert held["held"] is True and held["holder"] == lease.holder and held["expires_at"] > doc["lease"]["expires_at"]
        assert f"lease: held by {lease.holder} until" in _status(stage.config)[1]


def test_gis_down_fails_the_cycle_and_is_critical(stage: Stage, db_url: str) -> None:
    stage.sync()
    before = _doc(stage.config)["pulls"]
    stage.gis.stop()
    report = stage.sync(LATER)
    assert report.status == "failed" and report.phases["pull"] == "failed" and report.exit_code == 3
    doc = _doc(stage.config)
    assert doc["last_cycle"]["status"] == "failed" and doc["last_cycle"]["phases"]["pull"] == "failed"
    assert doc["last_successful_cycle"]["run_id"] != doc["last_cycle"]["run_id"]
    assert doc["pulls"] == {k: {**v, "age_s": doc["pulls"][k]["age_s"]} for k, v in before.items()}  # unchanged instants
    (problem,) = doc["failures"]["pull"]
    assert "GIS" in problem or "connect" in problem.lower(), problem
    code, text, perf = _check(stage.config)
    assert code == 2 and text.startswith("DOMCHAT CRITICAL - last cycle failed: cycle failed: pull:"), text
    assert float(perf["last_pull_age"]["value"]) >= 0
    _, out = _status(stage.config)
    assert "last cycle: failed (pull failed)" in out and "last cycle: ok" not in out

    # The daemon's cycles between pulls (updates only) succeed; the failed pull stays critical.
    between = stage.sync(LATER + timedelta(minutes=1), pull=False)
    assert between.status == "ok" and between.phases["pull"] == "skipped"
    code, text, _ = _check(stage.config, now=LATER + timedelta(minutes=1))
    assert code == 2 and text.startswith("DOMCHAT CRITICAL - last GIS pull failed: GIS ZhKH unreachable"), text
    assert _doc(stage.config)["last_pull_cycle"]["run_id"] == report.run_id


def test_never_pulled_is_critical(stage: Stage, db_url: str) -> None:
    stage.gis.stop()
    assert stage.sync().status == "failed"
    code, text, perf = _check(stage.config)
    assert code == 2 and "no successful GIS pull yet" in text
    assert perf["last_pull_age"]["value"] == "U"


def test_an_empty_region_is_degraded_and_a_warning(stage: Stage, db_url: str) -> None:
    stage.sync()
    empty = GisEmulator({**stage.world, "buildings": []}, SCHEMAS, processing_delay=0.02)
    try:
        _reconfigure(stage, db_url, empty.start())
        report = stage.sync(LATER)
    finally:
        empty.stop()
    assert report.status == "degraded" and report.phases["pull"] == "degraded"
    doc = _doc(stage.config)
    assert doc["last_cycle"]["status"] == "degraded"
    assert doc["failures"]["pull"] and all("answered nothing" in p for p in doc["failures"]["pull"])
    code, text, _ = _check(stage.config)
    assert code == 1 and text.startswith("DOMCHAT WARNING - last cycle degraded:"), text
    assert "answered nothing" in text


def test_failing_actions_are_counted_by_kind_and_judged_by_the_thresholds(stage: Stage, db_url: str) -> None:
    stage.sync()
    stage.enrol_all_staff()
    stage.bind_all()
    stage.act("PUT", "/faults", share_success_false=1.0)  # MAX refuses every rights change
    _reconfigure(stage, db_url, stage.gis.base_url, sync__action_attempts="1")
    report = stage.sync(LATER)
    assert report.status == "degraded" and report.phases["execute"] == "degraded" and report.failed > 0
    doc = _doc(stage.config)
    given_up = doc["failures"]["given_up"]
    assert sum(given_up.values()) == report.failed and all(n > 0 for n in given_up.values())
    code, text, perf = _check(stage.config)
    assert code == 1 and "actions given up:" in text and perf["failed_actions"]["value"] == str(report.failed)

    # The thresholds come from [status]: the same state is critical with a lower limit.
    _reconfigure(stage, db_url, stage.gis.base_url, sync__action_attempts="1", status__failed_actions_critical="1")
    code, text, perf = _check(stage.config)
    assert code == 2 and text.startswith("DOMCHAT CRITICAL - actions given up:"), text
    assert perf["failed_actions"]["crit"] == "1"


def test_retried_actions_and_their_age(stage: Stage, db_url: str) -> None:
    stage.sync()
    stage.enrol_all_staff()
    stage.bind_all()
    stage.act("PUT", "/faults", share_success_false=1.0)
    report = stage.sync(LATER)
    assert report.retrying > 0 and report.phases["execute"] == "degraded"
    _reconfigure(stage, db_url, stage.gis.base_url, status__oldest_pending_warning="600")
    hour_later = LATER + timedelta(hours=1)
    doc = _doc(stage.config, now=hour_later)
    assert doc["pending_actions"] >= report.retrying and doc["retrying_actions"] == report.retrying
    assert sum(doc["failures"]["retrying"].values()) == report.retrying
    assert doc["oldest_pending_age_s"] == 3600.0
    code, text, perf = _check(stage.config, now=hour_later)
    assert code == 1 and "oldest pending action waits 60m (warning from 10m)" in text, text
    assert perf["oldest_pending_age"]["value"] == "3600" and perf["oldest_pending_age"]["warn"] == "600"


def test_unreadable_database_is_unknown(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOMCHAT_DATABASE_URL", db_url)
    config = write_config(tmp_path, make_world(buildings=2, seed=1), "http://127.0.0.1:9", "http://127.0.0.1:9", db_url, "tok-123456")
    code, out = _status(config, "--check")
    assert code == 3 and out.startswith("DOMCHAT UNKNOWN - cannot read the state:") and "db upgrade" in out
    assert len(out.splitlines()) == 1
