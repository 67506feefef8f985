"""The shape of the `domchat` command: version, help panels, options shared by every command."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

from typer.testing import CliRunner

from domchat.cli import cli

runner = CliRunner()


def test_version_is_printed() -> None:
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"domchat {version('domchat')}"


def test_developer_commands_have_their_own_panel_after_the_operators() -> None:
    result = runner.invoke(cli, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = result.stdout
    panel = text.index("Developer commands")
    assert all(text.index(f" {c} ") < panel for c in ("sync", "plan", "audit", "grants"))
    assert all(text.index(f" {c} ", panel) > panel for c in ("emulate", "world", "demo"))


def test_config_is_taken_before_or_after_the_command(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[gis]\ntimeout = "slow"\n', encoding="utf-8")
    for args in (["--config", str(config), "config", "check"], ["config", "check", "-c", str(config)]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 2
        assert result.stderr.startswith("domchat: error: config: gis.timeout: must be a number")


def test_config_check_refuses_a_password_in_a_url_without_showing_it(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[gis]\nendpoint = "https://stand:hunter2@sit01.example"\n', encoding="utf-8")
    result = runner.invoke(cli, ["config", "check", "--config", str(config)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "domchat: error: config: gis.endpoint: carries a password: remove it and put it in gis.password_file or DOMCHAT_GIS_PASSWORD"
    ]
