"""What an operator sees of a cycle: the version in runs and the trail, `run_id` on every log line
with stable event names, and progress (bars on a terminal only, log lines in the daemon)."""

from __future__ import annotations

import io
import json
import re
import sys
from datetime import UTC, datetime
from importlib.metadata import version

import pytest
import structlog
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from domchat import app as app_mod
from domchat import logs
from domchat.app.progress import ticker
from domchat.cli import cli
from domchat.cli.present import Presenter
from domchat.clock import VirtualClock
from domchat.storage import audit
from domchat.storage.tables import RunRow
from support.stage import Stage

VERSION = version("domchat")
runner = CliRunner()


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int]] = []

    def __call__(self, phase: str, done: int, total: int) -> None:
        self.calls.append((phase, done, total))

    def last(self, phase: str) -> tuple[int, int]:
        return next((d, t) for p, d, t in reversed(self.calls) if p == phase)


def test_each_run_and_each_cycle_that_changed_something_record_the_version(stage: Stage) -> None:
    stage.sync()
    stage.enrol_all_staff()
    stage.bind_all()
    report = stage.sync()
    quiet = stage.sync()
    with Session(stage.app().db) as s:
        runs = list(s.exec(select(RunRow).order_by(col(RunRow.started_at))))
        ours = list(audit.query(s, audit.AuditFilter(run_id=report.run_id)))
        closing = list(audit.query(s, audit.AuditFilter(action="cycle.run")))
        assert audit.verify(audit.query(s)).ok
    assert runs and all(r.version == VERSION for r in runs)
    assert app_mod.status(stage.app())["last_cycle"]["version"] == VERSION
    last = ours[-1]
    assert last.action == "cycle.run" and last.outcome == "ok"
    assert json.loads(last.after)["version"] == VERSION
    assert json.loads(last.after)["done"] == report.done
    assert last.reason == f'cycle_events {{"first":{ours[0].seq},"last":{ours[-2].seq}}}'
    # A cycle with nothing to record leaves no event of its own.
    assert quiet.run_id not in {e.run_id for e in closing}


def test_every_log_line_of_a_cycle_carries_its_run_id_and_a_stable_name(stage: Stage) -> None:
    stream = io.StringIO()
    logs.configure("debug", json=True, stream=stream)
    try:
        stage.sync()
        stage.enrol_all_staff()
        stage.bind_all()
        report = stage.sync()
        structlog.get_logger().info("test.after_the_cycle")
    finally:
        logs.configure("info", json=True)
    lines = [json.loads(ln) for ln in stream.getvalue().splitlines()]
    assert all(re.fullmatch(r"[a-z_]+(\.[a-z_]+)*", ln["event"]) for ln in lines), {ln["event"] for ln in lines}
    start = next(i for i, ln in enumerate(lines) if ln["event"] == "cycle.started" and ln.get("run_id") == report.run_id)
    end = next(i for i, ln in enumerate(lines) if ln["event"] == "cycle.finished" and ln.get("run_id") == report.run_id)
    inside = lines[start : end + 1]
    assert {ln["event"] for ln in inside} >= {"cycle.started", "action.finished", "max.call", "cycle.finished"}
    assert all(ln.get("run_id") == report.run_id for ln in inside)
    assert inside[0]["version"] == VERSION
    assert lines[-1]["event"] == "test.after_the_cycle" and "run_id" not in lines[-1]  # unbound once the cycle is over


def test_the_use_cases_tell_their_progress(stage: Stage) -> None:
    first = Recorder()
    app_mod.sync_once(stage.app(), progress=first)
    assert first.last("pull") == (5, 5)
    stage.enrol_all_staff()
    stage.bind_all()
    second = Recorder()
    report = app_mod.sync_once(stage.app(), progress=second)
    assert second.last("read_chats") == (report.refreshed, report.refreshed) and report.refreshed
    done, total = second.last("execute")
    assert done == total == report.done + report.failed + report.reported  # answers queued by updates too
    assert [d for p, d, _ in second.calls if p == "execute"] == sorted(d for p, d, _ in second.calls if p == "execute")
    verify = Recorder()
    verdict = app_mod.audit_verify(stage.app(), progress=verify).verdict
    assert verify.last("verify") == (verdict.events, verdict.events)
    export = Recorder()
    n = app_mod.export_audit(stage.app(), app_mod.AuditFilter(action="grant_admin"), "jsonl", io.StringIO(), "none", export)
    assert export.last("export") == (n, n) and n


def test_without_a_terminal_output_stays_as_it_was(stage: Stage) -> None:
    stage.sync()
    result = runner.invoke(cli, ["audit", "verify", "--config", str(stage.config)])
    assert result.exit_code == 0
    assert re.fullmatch(r"audit head: event \d+, hash [0-9a-f]{64}\naudit chain ok: \d+ events\n", result.stdout)
    assert result.stderr == ""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_bars_are_drawn_on_stderr_and_never_with_json(monkeypatch: pytest.MonkeyPatch) -> None:
    err = _Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    with Presenter(as_json=False).progress() as progress:
        progress("verify", 3, 10)
    assert "verifying the audit chain" in err.getvalue()
    err.truncate(0)
    with Presenter(as_json=True).progress() as progress:
        progress("verify", 3, 10)
    assert err.getvalue() == ""


def test_the_daemon_logs_progress_now_and_then() -> None:
    stream = io.StringIO()
    logs.configure("info", json=True, stream=stream)
    clock = VirtualClock(datetime(2026, 11, 21, tzinfo=UTC))
    try:
        tick = ticker(clock, every=30)
        for n in range(1, 101):
            tick("execute", n, 100)
            clock.sleep(1)
    finally:
        logs.configure("info", json=True)
    lines = [json.loads(ln) for ln in stream.getvalue().splitlines()]
    assert [ln["done"] for ln in lines] == [1, 31, 61, 91, 100]
    assert all(ln["event"] == "progress" and ln["phase"] == "execute" and ln["total"] == 100 for ln in lines)
