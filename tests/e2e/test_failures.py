"""Bad input ends a command with one clear line and a non-zero exit code, and writes nothing half-done."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from domchat import app as app_mod
from domchat.cli import cli
from domchat.domain import reasons
from domchat.emulators.gis import GisEmulator, GisFaults
from domchat.emulators.max import MaxEmulator
from domchat.storage import audit
from domchat.storage.tables import BuildingRow, PeriodRow
from support.stage import SCHEMAS, Stage, make_world, write_config

runner = CliRunner()


EN = reasons.load("en")  # the stored reasons, read in English


def _closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def _run(config: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(cli, [*args, "--config", str(config)])
    return result.exit_code, result.stderr


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("domchat: error:")]


def test_bad_config_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[max]\nrate_limit = "fast"\n', encoding="utf-8")
    code, err = _run(config, "config", "check")
    assert code == 2
    assert _error_lines(err) == ["domchat: error: config: max.rate_limit: must be a number, got a string"]


def test_missing_token_file_is_named(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[max]\ntoken_file = "nope"\n', encoding="utf-8")
    code, err = _run(config, "sync", "--once")
    assert code == 2
    assert "max.token_file: no such file" in err


def test_unreachable_gis_exits_3_and_stores_nothing(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOMCHAT_DATABASE_URL", db_url)
    world = make_world(buildings=4, seed=3)
    bot = MaxEmulator(world, "tok-123456")
    try:
        config = write_config(tmp_path, world, _closed_port(), bot.start(), db_url, "tok-123456")
        assert _run(config, "db", "upgrade")[0] == 0
        code, err = _run(config, "sync", "--once")
    finally:
        bot.stop()
    assert code == 3
    (line,) = _error_lines(err)
    assert "GIS ZhKH unreachable" in line
    a = app_mod.open_app(config)
    with Session(a.db) as s:
        assert list(s.exec(select(BuildingRow))) == []
        events = list(audit.query(s))
    assert [e.action for e in events] == ["gis.pull", "cycle.run"]
    assert events[0].outcome == "failed" and "stored snapshot" in EN.reason(events[0].reason)
    assert events[1].outcome == "failed"  # the cycle that recorded it says how it ended


def test_unreachable_max_exits_3(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOMCHAT_DATABASE_URL", db_url)
    world = make_world(buildings=4, seed=3)
    config = write_config(tmp_path, world, _closed_port(), _closed_port(), db_url, "tok-123456")
    assert _run(config, "db", "upgrade")[0] == 0
    code, err = _run(config, "sync", "--once")
    assert code == 3
    (line,) = _error_lines(err)
    assert "MAX" in line and "tok-123456" not in err


def test_schema_invalid_answer_names_operation_and_applies_nothing(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOMCHAT_DATABASE_URL", db_url)
    world = make_world(buildings=4, seed=3)
    gis = GisEmulator(world, SCHEMAS, processing_delay=0.01, faults=GisFaults(schema_violation_share=1.0))
    bot = MaxEmulator(world, "tok-123456")
    try:
        config = write_config(tmp_path, world, gis.start(), bot.start(), db_url, "tok-123456")
        assert _run(config, "db", "upgrade")[0] == 0
        code, err = _run(config, "sync", "--once")
    finally:
        gis.stop()
        bot.stop()
    assert code == 1
    (line,) = _error_lines(err)
    assert "MessageGUID" in line and "export" in line
    with Session(app_mod.open_app(config).db) as s:
        assert list(s.exec(select(PeriodRow))) == []


def test_database_not_migrated_is_explained(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOMCHAT_DATABASE_URL", db_url)
    config = write_config(tmp_path, make_world(buildings=2, seed=1), _closed_port(), _closed_port(), db_url, "tok-123456")
    code, err = _run(config, "status")
    assert code == 3
    assert "run 'domchat db upgrade'" in err


def test_unknown_building_in_plan(stage: Stage) -> None:
    stage.sync()
    code, err = _run(stage.config, "plan", "--building", "00000000-0000-4000-8000-000000000000")
    assert code == 1
    assert "unknown building 00000000-0000-4000-8000-000000000000" in err


def test_audit_verify_cli(stage: Stage) -> None:
    stage.sync()
    stage.bind_all()
    stage.sync()
    code = runner.invoke(cli, ["audit", "verify", "--config", str(stage.config)])
    assert code.exit_code == 0 and "audit chain ok" in code.stdout


def test_database_failing_mid_command_is_one_line(stage: Stage) -> None:
    stage.sync()
    with stage.app().db.begin() as conn:  # a damaged database: a table the schema promises is gone
        conn.exec_driver_sql("DROP TABLE run")
    code, err = _run(stage.config, "status")
    assert code == 3
    (line,) = _error_lines(err)
    assert line.startswith("domchat: error: database:") and "run" in line
    assert "Traceback" not in err


def test_config_check_passes_on_a_good_config(stage: Stage) -> None:
    code = runner.invoke(cli, ["config", "check", "--config", str(stage.config)])
    assert code.exit_code == 0 and "config ok" in code.stdout
