"""Each GIS fault knob is defined once (GisFaults' fields); the world schema and the flags of
`domchat emulate` are derived from that definition."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import requests
from typer.testing import CliRunner

from domchat.cli import cli
from domchat.emulators import world as worlds
from domchat.emulators.gis.faults import GisFaults, knobs
from support.stage import make_world

runner = CliRunner()


def test_the_world_schema_has_every_knob_from_its_definition_only() -> None:
    properties = worlds.schema()["$defs"]["faults"]["properties"]
    for name, knob in knobs():
        assert properties[knob.key]["description"] == knob.help, name
    assert properties["gis_5xx_share"] == {
        "type": "number",
        "minimum": 0,
        "maximum": 1,
        "description": properties["gis_5xx_share"]["description"],
    }
    assert properties["gis_fault_seed"]["type"] == "integer"
    static = resources.files("domchat.emulators").joinpath("world.schema.json").read_text(encoding="utf-8")
    assert '"gis_' not in static  # written nowhere else


def test_every_knob_is_a_flag_of_emulate() -> None:
    result = runner.invoke(cli, ["emulate", "--help"], env={"COLUMNS": "300"})
    assert result.exit_code == 0
    for _, knob in knobs():
        assert knob.flag in result.stdout


def test_a_flag_out_of_range_is_refused_naming_the_knob(tmp_path: Path) -> None:
    path = tmp_path / "world.json"
    path.write_text(json.dumps(make_world(buildings=2, seed=1)), encoding="utf-8")
    result = runner.invoke(cli, ["emulate", "--world", str(path), "--max-token", "t", "--gis-stuck-share", "2"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "domchat: error: fault stuck_share (gis_stuck_share) must be between 0 and 1, got 2.0"


def test_a_flag_overrides_the_world_file_in_the_running_emulator(tmp_path: Path) -> None:
    world = make_world(buildings=2, seed=1)
    world["faults"] = {"gis_5xx_share": 0.0, "gis_fault_seed": 7}
    path = tmp_path / "world.json"
    path.write_text(json.dumps(world), encoding="utf-8")
    cmd = [sys.executable, "-m", "domchat", "emulate", "--world", str(path), "--max-token", "t", "--gis-5xx-share", "1"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            urls = json.loads(proc.stdout.readline())
            resp = requests.post(urls["gis"] + "/ext-bus-home-management-service/services/HomeManagementAsync", data=b"<x/>", timeout=10)
            assert resp.status_code == 503
        finally:
            proc.terminate()
    assert proc.returncode == 0


def test_world_values_are_kept_where_no_flag_is_given() -> None:
    faults = GisFaults.from_world({"faults": {"gis_truncated_share": 0.5, "gis_fault_seed": 3}}, truncated_share=None, seed=None)
    assert (faults.truncated_share, faults.seed) == (0.5, 3)
