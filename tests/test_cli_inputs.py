"""Every input a command takes is checked before use: a bad one ends the command with exit 2 and
one line naming the file, row or field, never a traceback, and leaves nothing half-done."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from domchat import app as app_mod
from domchat.cli import cli
from domchat.storage.tables import RunRow
from support.stage import make_world

runner = CliRunner()
NOT_UTF8 = "код".encode("cp1251")


def _refused(*args: str) -> str:
    """The single error line of a command that must exit 2."""
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("domchat: error: "), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return lines[0].removeprefix("domchat: error: ")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "token").write_text("tok-123456\n", encoding="utf-8")
    path = tmp_path / "domchat.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "d.db"}"\n[max]\ntoken_file = "token"\n', encoding="utf-8")
    return path


def _with(config: Path, extra: str) -> Path:
    config.write_text(config.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return config


def test_a_config_not_in_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes(b'[region]\nname = "' + NOT_UTF8 + b'"\n')
    assert _refused("config", "check", "-c", str(path)) == f"config: --config: {path}: not UTF-8 text (byte 17)"


@pytest.mark.parametrize(
    ("key", "line"),
    [
        ("max.token_file", ""),  # the fixture's token file, rewritten below
        ("region.licensees_file", '[region]\nlicensees_file = "bad"\n'),
        ("region.hoas_file", '[region]\nhoas_file = "bad"\n'),
    ],
)
def test_a_named_file_not_in_utf8_is_named_by_its_key(config: Path, key: str, line: str) -> None:
    if key == "max.token_file":
        (config.parent / "token").write_bytes(NOT_UTF8)
    else:
        (config.parent / "bad").write_bytes(b"ogrn,fias_guid,address\n" + NOT_UTF8 + b"\n")
        config.write_text(line + config.read_text(encoding="utf-8"), encoding="utf-8")
    assert _refused("config", "check", "-c", str(config)).startswith(f"config: {key}: ")
    assert "not UTF-8 text" in _refused("config", "check", "-c", str(config))


def test_now_far_in_the_future_is_refused_before_any_run(config: Path) -> None:
    assert runner.invoke(cli, ["db", "upgrade", "-c", str(config)]).exit_code == 0
    line = _refused("sync", "--once", "--now", "9999-12-31T23:59:59Z", "-c", str(config))
    assert line == "config: --now: '9999-12-31T23:59:59Z' is outside 2000–2099"
    assert _refused("plan", "--now", "1900-01-01", "-c", str(config)).startswith("config: --now: ")
    with Session(app_mod.open_app(config).db) as s:
        assert list(s.exec(select(RunRow))) == []


def _grants(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


GRANT = {
    "grant_id": "5f0e7a52-7a8e-4e0e-9a52-0d7e7a527a8e",
    "fias_house_guid": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
    "premises": "1",
    "person_ref": "p",
    "valid_from": "2026-01-01",
    "status": "active",
}


def test_a_grants_csv_field_over_128_kib_is_refused_naming_the_line(config: Path) -> None:
    rows = ",".join(GRANT) + "\n" + ",".join(v if k != "person_ref" else "x" * 200_000 for k, v in GRANT.items()) + "\n"
    path = _grants(config.parent, "g.csv", rows)
    line = _refused("grants", "import", str(path), "-c", str(config))
    assert line.startswith(f"{path}: line 2: field larger than field limit")


def test_a_grants_json_field_over_128_kib_is_refused_naming_the_grant_and_field(config: Path) -> None:
    path = _grants(config.parent, "g.json", json.dumps([{**GRANT, "person_ref": "x" * 200_000}]))
    assert _refused("grants", "import", str(path), "-c", str(config)) == f"{path}: grant #1: person_ref is longer than 128 KiB"


def test_grants_json_nested_100000_deep_is_refused(config: Path) -> None:
    path = _grants(config.parent, "g.json", "[" * 100_000 + "]" * 100_000)
    assert _refused("grants", "import", str(path), "-c", str(config)) == f"{path}: not a grants file: JSON nested too deeply"


def test_a_bad_grants_row_exits_2(config: Path) -> None:
    path = _grants(config.parent, "g.json", json.dumps([{**GRANT, "status": "maybe"}]))
    assert _refused("grants", "import", str(path), "-c", str(config)).startswith(f"{path}: grant #1: status must be one of")


def test_world_generate_with_a_bad_out_or_today(tmp_path: Path) -> None:
    base = ["world", "generate", "--buildings", "2", "--seed", "1"]
    missing = tmp_path / "no" / "such" / "w.json"
    assert _refused(*base, "--out", str(missing)) == f"config: --out: cannot write {missing}: No such file or directory"
    assert _refused(*base, "--out", str(tmp_path)) == f"config: --out: cannot write {tmp_path}: Is a directory"
    out = str(tmp_path / "w.json")
    assert _refused(*base, "--out", out, "--today", "2025-13-45") == "config: --today: not a date (YYYY-MM-DD): '2025-13-45'"
    assert _refused(*base, "--out", out, "--today", "9999-12-31") == "config: --today: '9999-12-31' is outside 2000–2099"
    assert _refused(*base, "--out", out, "--charter-share", "5") == "config: --charter-share: must be between 0 and 1, got 5.0"


def test_invitation_days_beyond_ten_years_are_refused(config: Path) -> None:
    args = ["invitations", "issue", "--building", GRANT["fias_house_guid"], "--premises", "1", "-c", str(config)]
    assert _refused(*args, "--days", "999999999") == "config: --days: must be between 1 and 3650, got 999999999"
    assert _refused(*args, "--days", "0") == "config: --days: must be between 1 and 3650, got 0"


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


@pytest.mark.parametrize("option", ["--gis-port", "--max-port"])
def test_emulate_on_a_port_in_use(tmp_path: Path, busy_port: int, option: str) -> None:
    world = tmp_path / "w.json"
    world.write_text(json.dumps(make_world(buildings=2, seed=1)), encoding="utf-8")
    line = _refused("emulate", "--world", str(world), "--max-token", "t", option, str(busy_port))
    assert line == f"config: {option}: cannot listen on 127.0.0.1:{busy_port}: Address already in use"


def test_emulate_token_file_not_in_utf8(tmp_path: Path) -> None:
    world = tmp_path / "w.json"
    world.write_text(json.dumps(make_world(buildings=2, seed=1)), encoding="utf-8")
    (tmp_path / "token").write_bytes(NOT_UTF8)
    line = _refused("emulate", "--world", str(world), "--max-token-file", str(tmp_path / "token"))
    assert line == f"config: --max-token-file: {tmp_path / 'token'}: not UTF-8 text (byte 0)"
