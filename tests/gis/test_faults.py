"""Fault handling end to end: business errors, transport failures, re-sending, bad answers."""

from __future__ import annotations

import copy
import socket
import threading
from typing import Any

import pytest

from domchat.emulators.gis import GisEmulator, GisFaults
from domchat.errors import (
    GisAccessDenied,
    GisBadAnswer,
    GisError,
    GisFault,
    GisUnavailable,
)
from domchat.gis_client import GisClient
from domchat.gis_client.transport import BudgetSpent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def _sent(emu: GisEmulator, operation: str) -> list[str]:
    """MessageGUIDs the emulator acknowledged for `operation`."""
    return [e.message_guid for e in emu.log if e.operation == operation and e.status == 200]


def test_unreachable_endpoint_is_unavailable_after_retries(make_client: Any) -> None:
    slept: list[float] = []
    client: GisClient = make_client(f"http://127.0.0.1:{_free_port()}", transport_attempts=3, sleep=slept.append)
    with pytest.raises(GisUnavailable) as e:
        client.house_data(["00000000-0000-4000-8000-000000000001"])
    assert "GIS ZhKH unreachable at http://127.0.0.1:" in str(e.value)
    assert "exportHouseData" in str(e.value)
    assert len(slept) == 2  # three attempts, two waits
    assert all(0 <= s <= 0.005 for s in slept)


def test_503_is_retried_until_it_passes(start_emulator: Any, make_client: Any, world: dict[str, Any]) -> None:
    emu: GisEmulator = start_emulator(world, faults=GisFaults(http_5xx_share=0.5, seed=3))
    client: GisClient = make_client(emu.base_url, transport_attempts=20)
    guids = [b["fias_guid"] for b in world["buildings"][:5]]
    assert set(client.house_data(guids)) == set(guids)
    assert any(e.status == 503 for e in emu.log)


def test_503_forever_is_unavailable(start_emulator: Any, make_client: Any, world: dict[str, Any]) -> None:
    emu: GisEmulator = start_emulator(world, faults=GisFaults(http_5xx_share=1.0))
    client: GisClient = make_client(emu.base_url, transport_attempts=3)
    with pytest.raises(GisUnavailable, match=r"HTTP 503 \(after 3 attempts\)"):
        client.organisations([world["organisations"][0]["ogrn"]])
    assert len(emu.log) == 3


def test_truncated_answers_are_retried(start_emulator: Any, make_client: Any, world: dict[str, Any]) -> None:
    emu: GisEmulator = start_emulator(world, faults=GisFaults(truncated_share=0.4, seed=5))
    client: GisClient = make_client(emu.base_url, transport_attempts=20)
    ogrns = [o["ogrn"] for o in world["organisations"]]
    assert len(client.actual_licenses(ogrns, world["region"]["code"])) == len(ogrns)


def test_slow_get_state_times_out_and_is_retried(start_emulator: Any, make_client: Any, world: dict[str, Any]) -> None:
    emu: GisEmulator = start_emulator(world, faults=GisFaults(slow_get_state=0.5, slow_get_state_share=0.5, seed=1))
    client: GisClient = make_client(emu.base_url, timeout=0.2, transport_attempts=20)
    b = world["buildings"][0]
    assert b["fias_guid"] in client.house_data([b["fias_guid"]])


def test_exp001000_resent_as_a_new_message(start_emulator: Any, make_client: Any, world: dict[str, Any]) -> None:
    emu: GisEmulator = start_emulator(world, faults=GisFaults(exp001000_share=0.5, seed=2))
    client: GisClient = make_client(emu.base_url, max_resends=10)
    guids = [b["fias_guid"] for b in world["buildings"][:6]]
    assert set(client.house_data(guids)) == set(guids)
    sent = [e for e in emu.log if e.operation == "exportHouseData"]
    assert len(sent) > len(guids)  # some were re-sent
    requester_guids = [_header_guid(e.request) for e in sent]
    assert len(set(requester_guids)) == len(sent)  # every send is a new message, never the same packet
    assert len({e.request for e in sent}) == len(sent)
    assert any(b"EXP001000" in e.answer for e in emu.log if e.operation == "getState")


def test_exp001000_forever_is_a_fault_after_max_resends(start_emulator: Any, make_client: Any, world: dict[str, Any]) -> None:
    emu: GisEmulator = start_emulator(world, faults=GisFaults(exp001000_share=1.0))
    client: GisClient = make_client(emu.base_url, max_resends=2)
    b = world["buildings"][0]
    with pytest.raises(GisFault) as e:
        client.house_data([b["fias_guid"]])
    assert e.value.code == "EXP001000"
    assert len(_sent(emu, "exportHouseData")) == 3


def test_stuck_message_resent_after_deadline(start_emulator: Any, make_client: Any, world: dict[str, Any]) -> None:
    emu: GisEmulator = start_emulator(world, faults=GisFaults(stuck_share=0.5, seed=4))
    client: GisClient = make_client(emu.base_url, message_deadline=0.1, max_resends=10)
    guids = [b["fias_guid"] for b in world["buildings"][:6]]
    assert set(client.house_data(guids)) == set(guids)
    assert len(_sent(emu, "exportHouseData")) > len(guids)


def test_stuck_forever_gives_up(start_emulator: Any, make_client: Any, world: dict[str, Any]) -> None:
    emu: GisEmulator = start_emulator(world, faults=GisFaults(stuck_share=1.0))
    client: GisClient = make_client(emu.base_url, message_deadline=0.05, max_resends=1)
    with pytest.raises(GisUnavailable, match="gave up after 1 re-sends"):
        client.house_data([world["buildings"][0]["fias_guid"]])
    assert len(_sent(emu, "exportHouseData")) == 2


def test_schema_violating_answer_is_refused_naming_the_message(start_emulator: Any, make_client: Any, world: dict[str, Any]) -> None:
    emu: GisEmulator = start_emulator(world, faults=GisFaults(schema_violation_share=1.0))
    client: GisClient = make_client(emu.base_url)
    with pytest.raises(GisBadAnswer) as e:
        client.house_data([world["buildings"][0]["fias_guid"]])
    guid = _sent(emu, "exportHouseData")[0]
    message = str(e.value)
    assert "house-management exportHouseData" in message and f"MessageGUID={guid}" in message
    assert "UnexpectedElement" in message
    assert "\n" not in message


def test_access_denied_names_building_and_organisation(start_emulator: Any, make_client: Any, world: dict[str, Any]) -> None:
    world = copy.deepcopy(world)
    denied = world["buildings"][1]
    denied["access_denied"] = True
    emu: GisEmulator = start_emulator(world)
    client: GisClient = make_client(emu.base_url)
    with pytest.raises(GisAccessDenied) as e:
        client.house_data([denied["fias_guid"]])
    assert e.value.code == "AUT011003"
    assert denied["fias_guid"] in str(e.value)
    assert world["authority"]["ppa_guid"] in str(e.value)


def test_access_denied_reported_per_house_when_asked(start_emulator: Any, make_client: Any, world: dict[str, Any]) -> None:
    world = copy.deepcopy(world)
    world["buildings"][1]["access_denied"] = True
    emu: GisEmulator = start_emulator(world)
    client: GisClient = make_client(emu.base_url)
    errors: list[tuple[str, GisError]] = []
    guids = [b["fias_guid"] for b in world["buildings"][:4]]
    got = client.house_data(guids, on_error=lambda key, err: errors.append((key, err)))
    assert set(got) == set(guids) - {guids[1]}
    assert [k for k, _ in errors] == [guids[1]]
    assert isinstance(errors[0][1], GisAccessDenied)


def test_organisation_an_organisation_cannot_read_is_denied(start_emulator: Any, make_client: Any, world: dict[str, Any]) -> None:
    org = world["organisations"][0]
    foreign = next(b for b in world["buildings"] if all(e["ogrn"] != org["ogrn"] for e in b["management"]))
    emu: GisEmulator = start_emulator(world)
    client: GisClient = make_client(emu.base_url, org_ppa_guid=org["ppa_guid"])
    with pytest.raises(GisAccessDenied):
        client.house_data([foreign["fias_guid"]])


def test_soap_fault_maps_to_gis_fault_with_its_code(start_emulator: Any, make_client: Any, world: dict[str, Any]) -> None:
    emu: GisEmulator = start_emulator(world)
    client: GisClient = make_client(emu.base_url, org_ppa_guid="12345678-1234-4234-8234-123456789012")
    with pytest.raises(GisFault) as e:
        client.house_data([world["buildings"][0]["fias_guid"]])
    assert e.value.code == "AUT011002"
    assert e.value.operation == "house-management exportHouseData"
    assert not isinstance(e.value, GisAccessDenied)


def _header_guid(raw: bytes) -> str:
    from lxml import etree

    root = etree.fromstring(raw)
    return str(root.findtext(".//{http://dom.gosuslugi.ru/schema/integration/base/}MessageGUID"))


def _house(world: dict[str, Any]) -> str:
    guid: str = world["buildings"][0]["fias_guid"]
    return guid


def test_trickling_answer_ends_at_the_answer_deadline(start_emulator: Any, make_client: Any, world: dict[str, Any]) -> None:
    """One byte every 0.2 s never trips the per-read timeout (1 s); the answer deadline ends it."""
    emu: GisEmulator = start_emulator(world, faults=GisFaults(trickle_share=1.0, trickle_interval=0.2))
    client: GisClient = make_client(emu.base_url, timeout=1.0, answer_deadline=1.5, transport_attempts=2)
    with pytest.raises(GisUnavailable) as e:
        client.house_data([_house(world)])
    assert "answer not complete within gis.answer_deadline=1.5 s (after 2 attempts)" in str(e.value)
    assert "exportHouseData" in str(e.value)


def test_pull_budget_ends_a_trickling_answer_and_its_retries(start_emulator: Any, make_client: Any, world: dict[str, Any]) -> None:
    emu: GisEmulator = start_emulator(world, faults=GisFaults(trickle_share=1.0, trickle_interval=0.2))
    client: GisClient = make_client(emu.base_url, timeout=1.0, answer_deadline=60.0, transport_attempts=5)
    with pytest.raises(BudgetSpent) as e, client.budget(1.0):
        client.house_data([_house(world)])
    assert isinstance(e.value, GisUnavailable)
    assert "time budget (gis.pull_budget) ran out while waiting for the answer" in str(e.value)


def test_pull_budget_ends_the_wait_for_processing(start_emulator: Any, make_client: Any, world: dict[str, Any]) -> None:
    """A message GIS takes long to process is not waited for beyond the budget."""
    emu: GisEmulator = start_emulator(world, processing_delay=600.0)
    client: GisClient = make_client(emu.base_url, poll_schedule=[0.05, 0.2])
    # The budget outlasts sending the request on a loaded machine; processing never ends.
    with pytest.raises(BudgetSpent) as e, client.budget(3.0):
        client.house_data([_house(world)])
    # Between polls the exchange names the message it gave up on; in the middle of a poll (a
    # loaded machine) the transport names the exchange it cut. Either way the budget is named.
    message = str(e.value)
    assert "(gis.pull_budget) ran out" in message
    assert f"1 messages unanswered, e.g. house FIASHouseGuid={_house(world)}" in message or "exportHouseData MessageGUID=" in message


def test_budget_left_over_does_not_touch_later_calls(emulator: GisEmulator, make_client: Any, world: dict[str, Any]) -> None:
    client: GisClient = make_client(emulator.base_url)
    with client.budget(30.0):
        assert client.house_data([_house(world)])
    assert client.house_data([_house(world)])


def test_trickling_status_line_ends_at_the_answer_deadline(make_client: Any) -> None:
    """The deadline also covers the wait for the status line and headers."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def trickle() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\n" * 100:
                if stop.wait(0.2):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    threading.Thread(target=trickle, daemon=True).start()
    client: GisClient = make_client(f"http://127.0.0.1:{server.getsockname()[1]}", timeout=1.0, answer_deadline=1.0, transport_attempts=1)
    try:
        with pytest.raises(GisUnavailable) as e:
            client.house_data(["00000000-0000-4000-8000-000000000001"])
        assert "answer not complete within gis.answer_deadline=1 s" in str(e.value)
    finally:
        stop.set()
        server.close()
