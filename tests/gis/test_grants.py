"""Guest-access grants: the provisional service over loopback, and the file import."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests

from domchat.emulators.gis import GisEmulator
from domchat.errors import GisAccessDenied
from domchat.gis_client import GisClient
from domchat.gis_client.grants_file import GrantsFileError, read_grants

GA_PATH = "/ext-bus-domchat-guest-access-provisional/services/GuestAccessAsync"


def _all_grants(world: dict[str, Any]) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    return {g["grant_id"]: (b, g) for b in world["buildings"] for g in b["guest_grants"]}


def test_every_grant_of_the_region(client: GisClient, world: dict[str, Any]) -> None:
    expected = _all_grants(world)
    assert expected, "the generated world should hold grants"
    got = {g.grant_id: g for g in client.guest_grants()}
    assert set(got) == set(expected)
    for gid, (b, g) in expected.items():
        r = got[gid]
        assert (r.fias_house_guid, r.premises, r.person_ref, r.status) == (b["fias_guid"], g["premises"], g["person_ref"], g["status"])
        assert r.valid_from == date.fromisoformat(g["valid_from"])
        assert r.valid_to == (date.fromisoformat(g["valid_to"]) if g["valid_to"] else None)


def test_grants_of_named_houses(client: GisClient, world: dict[str, Any]) -> None:
    with_grants = [b for b in world["buildings"] if b["guest_grants"]][:2]
    got = client.guest_grants([b["fias_guid"] for b in with_grants] + ["00000000-0000-4000-8000-000000000000"])
    assert {g.grant_id for g in got} == {g["grant_id"] for b in with_grants for g in b["guest_grants"]}


def test_grants_of_a_denied_house(start_emulator: Any, make_client: Any, world: dict[str, Any]) -> None:
    world = copy.deepcopy(world)
    world["buildings"][0]["access_denied"] = True
    emu: GisEmulator = start_emulator(world)
    client: GisClient = make_client(emu.base_url)
    with pytest.raises(GisAccessDenied):
        client.guest_grants([world["buildings"][0]["fias_guid"]])
    assert all(g.fias_house_guid != world["buildings"][0]["fias_guid"] for g in client.guest_grants())


def test_provisional_wsdl_served_and_labelled(emulator: GisEmulator) -> None:
    resp = requests.get(emulator.base_url + GA_PATH + "?wsdl", timeout=5)
    assert resp.status_code == 200 and "PROVISIONAL" in resp.text
    assert f'location="{emulator.base_url}{GA_PATH}"' in resp.text


ROWS = [
    {
        "grant_id": "5F0C1A2B-3C4D-4E5F-8A9B-0C1D2E3F4A5B",
        "fias_house_guid": "7772495f-7b6b-43f8-88f4-9b0a63914f0f",
        "premises": "кв. 12",
        "person_ref": "esia:1000000001",
        "valid_from": "2025-01-01",
        "valid_to": "",
        "status": "active",
    },
    {
        "grant_id": "6f0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
        "fias_house_guid": "7772495f-7b6b-43f8-88f4-9b0a63914f0f",
        "premises": "кв. 14",
        "person_ref": "esia:1000000002",
        "valid_from": "2025-01-01",
        "valid_to": "2025-06-30",
        "status": "Revoked",
    },
]


def _csv(tmp_path: Path, rows: list[dict[str, str]]) -> Path:
    path = tmp_path / "grants.csv"
    lines = [",".join(ROWS[0])] + [",".join(r.values()) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_import_csv_and_json_agree(tmp_path: Path) -> None:
    from_csv = read_grants(_csv(tmp_path, ROWS))
    js = tmp_path / "grants.json"
    js.write_text(json.dumps({"grants": [{**r, "valid_to": r["valid_to"] or None} for r in ROWS]}, ensure_ascii=False), encoding="utf-8")
    assert read_grants(js) == from_csv
    first, second = from_csv
    assert first.grant_id == ROWS[0]["grant_id"].lower() and first.valid_to is None and first.status == "active"
    assert second.valid_to == date(2025, 6, 30) and second.status == "revoked"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"grant_id": "nope"}, "line 2: grant_id is not a GUID"),
        ({"valid_from": "01.01.2025"}, "line 2: valid_from is not a date"),
        ({"status": "maybe"}, "line 2: status must be one of"),
        ({"premises": ""}, "line 2: premises is missing"),
        ({"valid_to": "2024-01-01"}, "line 2: valid_to 2024-01-01 is before valid_from"),
    ],
)
def test_import_names_the_bad_row_and_field(tmp_path: Path, change: dict[str, str], message: str) -> None:
    with pytest.raises(GrantsFileError, match=message):
        read_grants(_csv(tmp_path, [{**ROWS[0], **change}, ROWS[1]]))


def test_import_refuses_repeats_and_unknown_formats(tmp_path: Path) -> None:
    with pytest.raises(GrantsFileError, match="repeats line 2"):
        read_grants(_csv(tmp_path, [ROWS[0], ROWS[0]]))
    other = tmp_path / "grants.xlsx"
    other.write_text("x")
    with pytest.raises(GrantsFileError, match=r"must be \.csv or \.json"):
        read_grants(other)
    with pytest.raises(GrantsFileError, match="no such grants file"):
        read_grants(tmp_path / "missing.csv")
