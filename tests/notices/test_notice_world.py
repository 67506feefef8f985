"""The generated world varies `DateDetails` and owners' meetings as real houses do."""

from __future__ import annotations

from datetime import date

from domchat.emulators import world as w


def _world() -> list[dict[str, object]]:
    gen = w.WorldGenerator(w.GeneratorOptions(buildings=400, seed=5, today=date(2026, 11, 20)))
    return [gen.building(i) for i in range(400)]


def test_date_details_come_in_every_shape() -> None:
    details = [e["document"]["date_details"] for b in _world() for e in b["management"]]  # type: ignore[attr-defined, index]
    assert any(not d for d in details)  # no DateDetails at all
    assert any(d and "metering_start" not in d for d in details)  # no PeriodMetering
    assert any(d and "payment" not in d for d in details)
    ends = [d["metering_end"] for d in details if d and "metering_end" in d]
    assert any(e["next_month"] for e in ends)
    assert any(e["day"] == "last" for e in ends)
    assert any(e["day"] == 31 for e in ends)
    assert any(d and d.get("payment", {}).get("day") == "last" for d in details)


def test_meetings_before_during_and_after_today() -> None:
    votings = [v for b in _world() for v in b["votings"]]  # type: ignore[attr-defined]
    assert {v["status"] for v in votings} >= {"Posted", "Goes", "Finished"}
    assert {v["form"] for v in votings} == {"absentee", "meeting", "mixed"}
    assert any(v["protocol"] for v in votings) and any(v["status"] == "Finished" and not v["protocol"] for v in votings)
    for v in votings:
        assert v["start"] <= v["end"]
        assert (v["status"] == "Finished") == (v["end"] < "2026-11-20") or v["status"] == "Cancelled"
        if v["protocol"]:
            assert len(v["protocol"]["results"]) == len(v["agenda"])
            assert v["protocol"]["date"] > v["end"]
