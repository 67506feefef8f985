"""The GIS parts of the world file: documents, charters, grants and fault keys."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest

from domchat.emulators import world as w
from domchat.emulators.gis import GisFaults
from domchat.errors import WorldError


def _write(opts: w.GeneratorOptions) -> str:
    out = io.StringIO()
    w.WorldGenerator(opts).write(out)
    return out.getvalue()


def test_generated_world_with_charters_validates_and_is_deterministic(tmp_path: Path) -> None:
    opts = w.GeneratorOptions(buildings=60, seed=11, today=date(2025, 3, 1), charter_share=0.25)
    text = _write(opts)
    assert text == _write(opts)
    path = tmp_path / "world.json"
    path.write_text(text, encoding="utf-8")
    world = w.load(path)
    orgs = {o["ogrn"]: o for o in world["organisations"]}
    charters = [b for b in world["buildings"] if b["management"][0]["basis"] == "charter"]
    assert charters
    for b in charters:
        (entry,) = b["management"]
        assert orgs[entry["ogrn"]]["kind"] == "tsj" and orgs[entry["ogrn"]]["licence"] is None
        assert entry["document"]["kind"] == "charter"
    staff = {u for o in world["organisations"] for u in o["staff"]}
    assert staff <= {u["user_id"] for u in world["users"]}
    for b in world["buildings"]:
        for e in b["management"]:
            doc = e["document"]
            assert doc["effective_date"] == e["start"]
            assert (doc["terminate"] or {}).get("date") == e["end"]


def test_charter_share_zero_keeps_every_earlier_value() -> None:
    opts = w.GeneratorOptions(buildings=30, seed=3, today=date(2025, 3, 1))
    gen = w.WorldGenerator(opts)
    for i in range(30):
        b = gen.building(i)
        base = gen._building(i)
        for e in b["management"]:
            e.pop("document")
        b.pop("guest_grants")
        b.pop("votings")
        assert b == base


def test_world_faults_section_is_in_the_schema(tmp_path: Path) -> None:
    world = json.loads(_write(w.GeneratorOptions(buildings=3, seed=1, today=date(2025, 3, 1))))
    world["faults"] = {"gis_stuck_share": 0.1, "gis_truncated_share": 0.2, "gis_slow_get_state": 1.5, "gis_fault_seed": 4}
    path = tmp_path / "world.json"
    path.write_text(json.dumps(world), encoding="utf-8")
    faults = GisFaults.from_world(w.load(path))
    assert (faults.stuck_share, faults.truncated_share, faults.slow_get_state, faults.seed) == (0.1, 0.2, 1.5, 4)
    world["faults"]["gis_stuck_share"] = 2
    path.write_text(json.dumps(world), encoding="utf-8")
    with pytest.raises(WorldError, match="gis_stuck_share"):
        w.load(path)
