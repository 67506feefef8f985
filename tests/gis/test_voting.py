"""Owners' meetings: `exportVotingMessage` and `exportVotingProtocol`, emulator and client.

test_conformance.py validates their requests and answers against the XSD with every other operation.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from domchat.emulators.gis import GisEmulator
from domchat.gis_client import GisClient


def test_messages_and_protocols_come_back_as_the_world_has_them(start_emulator: Any, make_client: Any, world_factory: Any) -> None:
    world = world_factory(buildings=60)
    emu: GisEmulator = start_emulator(world)
    client: GisClient = make_client(emu.base_url)
    houses = [b["fias_guid"] for b in world["buildings"]]
    messages = client.voting_messages(houses)
    protocols = client.voting_protocols(houses)
    forms = set()
    for b in world["buildings"]:
        want = b.get("votings", [])
        got = {m.message_guid: m for m in messages.get(b["fias_guid"], [])}
        assert set(got) == {v["message_guid"] for v in want}
        for v in want:
            m = got[v["message_guid"]]
            forms.add(m.form)
            assert m.fias_house_guids == (b["fias_guid"],)
            assert (m.status, m.annual, m.message_date) == (v["status"], v["kind"] == "annual", date.fromisoformat(v["message_date"]))
            assert m.agenda == tuple(v["agenda"])
            if v["form"] == "meeting":
                assert (m.decisions_from, m.decisions_until) == (None, None)
            else:
                assert (m.decisions_from, m.decisions_until) == (date.fromisoformat(v["start"]), date.fromisoformat(v["end"]))
                assert m.resolution_place == v["resolution_place"]
            if v["form"] != "absentee":
                assert (m.meeting_at, m.meeting_place) == (datetime.fromisoformat(v["meeting_at"]), v["place"])
        with_protocol = {v["protocol"]["guid"]: v for v in want if v.get("protocol")}
        got_p = {p.protocol_guid: p for p in protocols.get(b["fias_guid"], [])}
        assert set(got_p) == set(with_protocol)
        for guid, v in with_protocol.items():
            p = got_p[guid]
            assert p.eligible == v["protocol"]["eligible"]
            assert p.decisions == tuple((q, r["made"]) for q, r in zip(v["agenda"], v["protocol"]["results"], strict=True))
            assert p.protocol_date == date.fromisoformat(v["protocol"]["date"])
            if v["form"] != "meeting":
                assert p.decisions_until == date.fromisoformat(v["end"])
    assert forms == {"AVoting", "Meeting", "MeetingAVoting"}
    assert any(protocols.values())


def test_messages_found_by_their_guid(start_emulator: Any, make_client: Any, world_factory: Any) -> None:
    world = world_factory(buildings=40)
    emu: GisEmulator = start_emulator(world)
    client: GisClient = make_client(emu.base_url)
    without = next(b for b in world["buildings"] if not b["votings"])
    assert client.voting_messages([without["fias_guid"]]) == {without["fias_guid"]: []}
