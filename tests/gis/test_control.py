"""The GIS emulator's control API: the world changes between pulls without a restart, and
faults come and go; a change may carry a contract object starting on another day (E1)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from typing import Any

import pytest
import requests

from domchat.emulators.gis import GisEmulator
from domchat.errors import GisBadAnswer
from domchat.gis_client import GisClient


def _control(emu: GisEmulator, method: str, path: str, body: dict[str, Any] | None = None) -> requests.Response:
    return requests.request(method, f"{emu.base_url}/_emulator{path}", json=body, timeout=5)


def _licensed(world: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """A licensed building with one management entry, and another licensee to move it to."""
    b = next(b for b in world["buildings"] if len(b["management"]) == 1 and b["management"][0]["basis"] == "licence")
    other = next(o["ogrn"] for o in world["organisations"] if o["ogrn"] != b["management"][0]["ogrn"])
    return b, other


def _houses(client: GisClient, world: dict[str, Any], ogrn: str) -> dict[str, str]:
    """FIAS GUID → status of each house in `ogrn`'s licences."""
    lics = client.actual_licenses([ogrn], world["region"]["code"])
    return {h.fias_house_guid.lower(): h.status for lic in lics for h in lic.houses}


def test_a_change_of_manager_is_added_moved_and_cancelled_between_pulls(
    emulator: GisEmulator, client: GisClient, world: dict[str, Any]
) -> None:
    b, new = _licensed(world)
    old = b["management"][0]["ogrn"]
    fias = b["fias_guid"].lower()
    assert fias not in _houses(client, world, new)

    added = _control(emulator, "POST", f"/buildings/{fias}/changes", {"ogrn": new, "start": "2025-04-01", "contract_start": "2025-04-03"})
    assert added.status_code == 200, added.text
    assert _houses(client, world, new)[fias] == "INCLUDED"
    assert _houses(client, world, old)[fias] == "EXCLUDED"
    docs = client.contracts_and_charters([(o["root_guid"], fias) for o in world["organisations"] if o["ogrn"] == new])
    [obj] = [o for d in docs for o in d.objects if o.fias_house_guid.lower() == fias]
    assert obj.start_date == date(2025, 4, 3)  # E1: the contract's object starts later than the licence entry

    moved = _control(emulator, "PUT", f"/buildings/{fias}/changes/last", {"start": "2025-05-01"})
    assert moved.status_code == 200 and moved.json()["start"] == "2025-05-01"
    licences = client.actual_licenses([old], world["region"]["code"])
    [house] = [h for lic in licences for h in lic.houses if h.fias_house_guid.lower() == fias]
    assert house.exclusion_date == date(2025, 5, 1)

    cancelled = _control(emulator, "DELETE", f"/buildings/{fias}/changes/last")
    assert cancelled.status_code == 200
    assert fias not in _houses(client, world, new)
    assert _houses(client, world, old)[fias] == "INCLUDED"
    assert _control(emulator, "GET", f"/buildings/{fias}").json() == [{**b["management"][0], "end": None, "exclusion_entry_guid": None}]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error"),
    [
        ("POST", "/buildings/{fias}/changes", {"ogrn": "1", "start": "2025-04-01"}, 400, "no organisation"),
        ("POST", "/buildings/{fias}/changes", {"ogrn": "{other}", "start": "1990-01-01"}, 409, "must start after"),
        ("POST", "/buildings/{fias}/changes", {"ogrn": "{other}", "start": "soon"}, 400, "must be a date"),
        ("DELETE", "/buildings/{fias}/changes/last", None, 409, "no change to cancel"),
        ("POST", "/buildings/00000000-0000-4000-8000-000000000000/changes", {}, 404, "no building"),
        ("PUT", "/faults", {"stuck_share": 2}, 400, "between 0 and 1"),
        ("GET", "/nothing", None, 404, "no route"),
    ],
)
def test_control_errors_are_specific(
    emulator: GisEmulator, world: dict[str, Any], method: str, path: str, body: Any, status: int, error: str
) -> None:
    b, other = _licensed(world)
    if body:
        body = {k: v.replace("{other}", other) if isinstance(v, str) else v for k, v in body.items()}
    resp = _control(emulator, method, path.replace("{fias}", b["fias_guid"]), body)
    assert resp.status_code == status
    assert error in resp.json()["error"]


def test_faults_are_injected_and_cleared_while_running(emulator: GisEmulator, client: GisClient, world: dict[str, Any]) -> None:
    guid = world["buildings"][0]["fias_guid"]
    assert client.house_data([guid])
    resp = _control(emulator, "PUT", "/faults", {"schema_violation_share": 1.0})
    assert resp.json()["schema_violation_share"] == 1.0
    with pytest.raises(GisBadAnswer):
        client.house_data([guid])
    assert _control(emulator, "DELETE", "/faults").json()["schema_violation_share"] == 0.0
    assert client.house_data([guid])


def test_emulate_serves_only_the_gis_emulator(tmp_path: Any, world: dict[str, Any], schemas_dir: Any) -> None:
    path = tmp_path / "world.json"
    path.write_text(json.dumps(world))
    code = (
        "import sys; from pathlib import Path; from domchat.emulators.run import run_emulators; "
        "run_emulators(Path(sys.argv[1]), gis_port=0, max_port=0, max_token='', schemas_dir=Path(sys.argv[2]), only='gis')"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(path), str(schemas_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        urls = json.loads(proc.stdout.readline())
        assert list(urls) == ["gis"]
        assert requests.get(f"{urls['gis']}/_emulator/faults", timeout=5).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
