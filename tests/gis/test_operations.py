"""Client ↔ emulator over loopback HTTP: each operation, the async states, unknown objects."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import pytest

from domchat.emulators.gis import GisEmulator, GisFaults
from domchat.errors import GisAccessDenied, GisBadAnswer
from domchat.gis_client import GisClient
from domchat.gis_client.types import DateDetails, DayOfMonth

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def _licensed(world: dict[str, Any], ogrn: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(b, e) for b in world["buildings"] for e in b["management"] if e["ogrn"] == ogrn and e["basis"] == "licence"]


def test_house_data_for_every_building_and_none_for_unknown(client: GisClient, world: dict[str, Any]) -> None:
    guids = [b["fias_guid"] for b in world["buildings"]]
    got = client.house_data([*guids, UNKNOWN])
    assert set(got) == set(guids)
    for b in world["buildings"]:
        h = got[b["fias_guid"]]
        assert h.fias_house_guid == b["fias_guid"]
        assert h.house_unique_number == b["unique_number"]
        assert h.oktmo == b["oktmo"]
        assert h.olson_tz is not None and h.olson_tz.name == b["tz"] and h.olson_tz.code == b["tz_code"]
        assert h.state is not None and h.state.code


def test_several_zones_come_through(client: GisClient, world: dict[str, Any]) -> None:
    got = client.house_data([b["fias_guid"] for b in world["buildings"]])
    zones = {h.olson_tz.name for h in got.values() if h.olson_tz}
    assert len(zones) >= 5


def test_brief_house_by_either_guid(client: GisClient, world: dict[str, Any]) -> None:
    b = world["buildings"][2]
    got = client.brief_houses([b["hcs_guid"], b["fias_guid"], UNKNOWN])
    assert set(got) == {b["hcs_guid"], b["fias_guid"]}
    for brief in got.values():
        assert brief.hcs_house_guid == b["hcs_guid"]
        assert brief.fias_house_guid == b["fias_guid"]
        assert brief.house_unique_number == b["unique_number"]


def test_actual_licenses_list_included_and_excluded_houses(client: GisClient, world: dict[str, Any]) -> None:
    ogrns = [o["ogrn"] for o in world["organisations"]]
    licences = client.actual_licenses(ogrns, world["region"]["code"])
    assert {lic.licensee_ogrn for lic in licences} == {o for o in ogrns if _licensed(world, o)}
    excluded_seen = 0
    for lic in licences:
        org = next(o for o in world["organisations"] if o["ogrn"] == lic.licensee_ogrn)
        assert lic.license_guid == org["licence"]["guid"]
        assert lic.license_number == org["licence"]["number"]
        assert lic.region_code == world["region"]["code"]
        expected = {b["fias_guid"]: e for b, e in _licensed(world, org["ogrn"])}
        assert {h.fias_house_guid for h in lic.houses} == set(expected)
        for h in lic.houses:
            e = expected[h.fias_house_guid]
            assert h.inclusion_date == date.fromisoformat(e["start"])
            assert h.inclusion_entry_guid == e["entry_guid"]
            if e["end"]:
                excluded_seen += 1
                assert h.status == "EXCLUDED"
                assert h.exclusion_date == date.fromisoformat(e["end"])
                assert h.exclusion_entry_guid == e["exclusion_entry_guid"]
            else:
                assert h.status == "INCLUDED" and h.exclusion_date is None
    assert excluded_seen, "the world should have at least one change of manager"


def test_actual_licenses_of_another_region_are_empty(client: GisClient, world: dict[str, Any]) -> None:
    assert client.actual_licenses([world["organisations"][0]["ogrn"]], "77") == []


def test_organisations_by_ogrn_unknown_ones_absent(client: GisClient, world: dict[str, Any]) -> None:
    ogrns = [o["ogrn"] for o in world["organisations"]]
    got = client.organisations([*ogrns, "1027700000000"])
    assert sorted(r.ogrn for r in got) == sorted(ogrns)
    for r in got:
        org = next(o for o in world["organisations"] if o["ogrn"] == r.ogrn)
        assert (r.org_root_entity_guid, r.org_version_guid, r.org_ppa_guid) == (org["root_guid"], org["version_guid"], org["ppa_guid"])
        assert (r.inn, r.kpp, r.full_name) == (org["inn"], org["kpp"], org["name"])
        assert r.is_actual and r.roles


def test_organisations_go_in_batches_of_100(start_emulator: Any, make_client: Any, world: dict[str, Any]) -> None:
    emu: GisEmulator = start_emulator(world)
    client: GisClient = make_client(emu.base_url)
    ogrns = [o["ogrn"] for o in world["organisations"]] + [f"10277{i:08d}" for i in range(150)]
    assert len(client.organisations(ogrns)) == len(world["organisations"])
    sent = [e for e in emu.log if e.operation == "exportOrgRegistry"]
    assert len(sent) == 2


def test_client_saw_states_1_and_2_before_3(start_emulator: Any, make_client: Any, world: dict[str, Any]) -> None:
    emu: GisEmulator = start_emulator(world, processing_delay=0.3)
    client: GisClient = make_client(emu.base_url, poll_schedule=[0.01, 0.02])
    b = world["buildings"][0]
    assert b["fias_guid"] in client.house_data([b["fias_guid"]])
    states = [e.request_state for e in emu.log if e.operation == "getState"]
    assert states[0] == 1
    assert 2 in states
    assert states[-1] == 3 and states.count(3) == 1
    assert states.index(2) < states.index(3)


def test_many_messages_in_flight_but_no_more_than_configured(start_emulator: Any, make_client: Any, world: dict[str, Any]) -> None:
    emu: GisEmulator = start_emulator(world, processing_delay=0.2)
    client: GisClient = make_client(emu.base_url, max_in_flight=4)
    guids = [b["fias_guid"] for b in world["buildings"][:12]]
    assert len(client.house_data(guids)) == 12
    in_flight = peak = 0
    for e in emu.log:
        if e.operation == "exportHouseData":
            in_flight += 1
        elif e.operation == "getState" and e.request_state == 3:
            in_flight -= 1
        peak = max(peak, in_flight)
    assert peak == 4


def test_poll_schedule_first_delay_then_the_last_repeats(start_emulator: Any, make_client: Any, world: dict[str, Any]) -> None:
    emu: GisEmulator = start_emulator(world, processing_delay=0.15)
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        time.sleep(s)

    client: GisClient = make_client(emu.base_url, poll_schedule=[0.05, 0.02], sleep=sleep)
    client.house_data([world["buildings"][0]["fias_guid"]])
    assert 0.04 < slept[0] <= 0.05  # first poll waits the first delay after the ack
    assert all(s <= 0.02 for s in slept[1:]) and len(slept) >= 3  # then the last delay, repeated


def _pairs(world: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    orgs = {o["ogrn"]: o for o in world["organisations"]}
    return [(orgs[e["ogrn"]]["root_guid"], b["fias_guid"], e) for b in world["buildings"] for e in b["management"]]


def _date_details(dd: dict[str, Any]) -> DateDetails | None:
    def day(key: str) -> DayOfMonth | None:
        v = dd.get(key)
        return None if v is None else DayOfMonth(None if v["day"] == "last" else v["day"], v["next_month"])

    if not dd:
        return None
    return DateDetails(day("metering_start"), day("metering_end"), day("payment_document"), day("payment"))


def test_contracts_and_charters_by_organisation_and_house(start_emulator: Any, make_client: Any, world_factory: Any) -> None:
    world = world_factory(buildings=30, charter_share=0.3)
    emu: GisEmulator = start_emulator(world)
    client: GisClient = make_client(emu.base_url)
    pairs = _pairs(world)
    docs = {d.guid: d for d in client.contracts_and_charters([(uo, fias) for uo, fias, _ in pairs])}
    assert len(docs) == len(pairs)
    kinds = set()
    for uo, fias, entry in pairs:
        want = entry["document"]
        got = docs[want["guid"]]
        kinds.add(got.kind)
        assert (got.kind, got.version_guid, got.status, got.uo_guid) == (want["kind"], want["version_guid"], want["status"], uo)
        (obj,) = got.objects
        assert obj.fias_house_guid == fias
        assert obj.start_date == date.fromisoformat(entry["start"])
        assert obj.end_date == (date.fromisoformat(entry["end"]) if entry["end"] else None)
        assert obj.exclusion_date == obj.end_date
        assert got.terminate_date == obj.end_date
        assert got.date_details == _date_details(want["date_details"])
    assert kinds == {"contract", "charter"}


def test_contracts_of_another_organisation_are_not_found(client: GisClient, world: dict[str, Any]) -> None:
    uo, fias, _ = _pairs(world)[0]
    other = next(o["root_guid"] for o in world["organisations"] if o["root_guid"] != uo)
    assert client.contracts_and_charters([(other, fias)]) == []


def test_cach_by_guid_and_statuses(client: GisClient, world: dict[str, Any]) -> None:
    entries = [e for b in world["buildings"] for e in b["management"]]
    guids = [e["document"]["guid"] for e in entries]
    docs = client.cach_documents(contract_guids=guids)
    assert {d.guid for d in docs} == set(guids)
    statuses = {s.guid: s for s in client.cach_statuses(contract_guids=guids)}
    for e in entries:
        s = statuses[e["document"]["guid"]]
        assert (s.status, s.state, s.version_number) == (e["document"]["status"], e["document"]["state"], e["document"]["version_number"])
        assert s.objects[0].managed_object_status == "Approved"
    assert {s.state for s in statuses.values()} >= {"Running"}


def test_nsi_directories_agree_with_the_refs_in_answers(client: GisClient, world: dict[str, Any]) -> None:
    zones = {i.code: i for i in client.nsi_items(32)}
    assert {b["tz_code"] for b in world["buildings"]} == set(zones)
    houses = client.house_data([b["fias_guid"] for b in world["buildings"][:5]])
    for h in houses.values():
        assert h.olson_tz is not None and h.state is not None
        entry = zones[h.olson_tz.code]
        assert entry.guid == h.olson_tz.guid and entry.is_actual
        assert ("Наименование", h.olson_tz.name) in entry.fields
        states = {i.code: i.guid for i in client.nsi_items(24)}
        assert states[h.state.code] == h.state.guid
    assert client.nsi_items(9999) == []


# exportLicense


def _in_licence(world: dict[str, Any], ogrn: str) -> dict[str, dict[str, Any]]:
    """FIAS GUID → licence entry of the houses still in the licence on the world's today."""
    return {b["fias_guid"]: e for b, e in _licensed(world, ogrn) if not e["end"] or world["today"] < e["end"]}


def test_licenses_by_ogrn_carry_houses_and_their_contracts(start_emulator: Any, make_client: Any, world: dict[str, Any]) -> None:
    world["region"]["fias_guid"] = "d66e5325-3a25-4d29-ba86-4ca351d9704b"
    drafted = world["buildings"][0]["management"][-1]
    drafted["document"]["status"] = "Project"  # GIS links no draft to a licensed house
    client: GisClient = make_client(start_emulator(world).base_url)
    ogrns = [o["ogrn"] for o in world["organisations"]]
    licences = client.licenses(ogrns=ogrns, region=world["region"]["code"])
    assert sorted(lic.licensee_ogrn for lic in licences) == sorted(o["ogrn"] for o in world["organisations"] if o["licence"])
    orgs = {o["ogrn"]: o for o in world["organisations"]}
    ended = with_end = 0
    for lic in licences:
        org = orgs[lic.licensee_ogrn]
        assert (lic.license_guid, lic.license_number, lic.license_version) == (org["licence"]["guid"], org["licence"]["number"], 1)
        assert lic.license_status == "A" and lic.region_fias_guid == world["region"]["fias_guid"]
        assert lic.erul_number and lic.erul_number.startswith("Л") and lic.license_reg_date is not None
        expected = _in_licence(world, org["ogrn"])
        ended += len(_licensed(world, org["ogrn"])) - len(expected)
        assert {h.fias_house_guid for h in lic.houses} == set(expected)
        for h in lic.houses:
            e = expected[h.fias_house_guid]
            doc = e["document"]
            assert h.house_address == next(b["address"] for b in world["buildings"] if b["fias_guid"] == h.fias_house_guid)
            if e is drafted:
                assert h.contract is None
                continue
            c = h.contract
            assert c is not None
            assert (c.contract_guid, c.doc_num, c.org_root_guid) == (doc["guid"], doc["number"], org["root_guid"])
            assert (c.signing_date, c.effective_date, c.plan_date_completion) == (
                date.fromisoformat(doc["signing_date"]),
                date.fromisoformat(doc["effective_date"]),
                date.fromisoformat(doc["plan_end"]),
            )
            assert c.start_date == date.fromisoformat(e["start"])
            assert c.end_date == (date.fromisoformat(e["end"]) if e["end"] else None)
            assert c.terminate_date == (date.fromisoformat(doc["terminate"]["date"]) if doc["terminate"] else None)
            with_end += c.end_date is not None
    assert ended and with_end, "the world should have houses already out of a licence and others leaving later"


def test_licenses_by_number_and_by_ogrn_go_in_separate_messages_and_count_once(
    start_emulator: Any, make_client: Any, world: dict[str, Any]
) -> None:
    emu: GisEmulator = start_emulator(world)
    client: GisClient = make_client(emu.base_url)
    org = world["organisations"][1]
    (lic,) = client.licenses(numbers=[org["licence"]["number"]], ogrns=[org["ogrn"]])
    assert (lic.license_guid, lic.licensee_ogrn) == (org["licence"]["guid"], org["ogrn"])
    assert len([e for e in emu.log if e.operation == "exportLicense"]) == 2
    assert {h.fias_house_guid for h in lic.houses} == set(_in_licence(world, org["ogrn"]))


def test_an_unknown_licence_is_an_empty_result(emulator: GisEmulator, client: GisClient, world: dict[str, Any]) -> None:
    assert client.licenses(numbers=["000000000"]) == []
    assert client.licenses(ogrns=["1027700000000"]) == []
    assert client.licenses(ogrns=[world["organisations"][0]["ogrn"]], region="77") == []
    finals = [e.answer for e in emulator.log if e.operation == "getState" and e.request_state == 3]
    assert len(finals) == 3 and all(b"<base:ErrorCode>INT002012</base:ErrorCode>" in a for a in finals)
    sent = len(emulator.log)
    assert client.licenses() == [] and len(emulator.log) == sent  # nothing asked, nothing sent


# exportBriefBasicHouse


def _manager_today(world: dict[str, Any], b: dict[str, Any]) -> str | None:
    today = world["today"]
    orgs = {o["ogrn"]: o for o in world["organisations"]}
    entry = next((e for e in b["management"] if e["start"] <= today and (not e["end"] or today < e["end"])), None)
    return orgs[entry["ogrn"]]["ppa_guid"] if entry else None


def test_basic_houses_carry_the_address_by_fias_guid(start_emulator: Any, make_client: Any, world_factory: Any) -> None:
    world = world_factory(buildings=30, charter_share=0.3)
    emu: GisEmulator = start_emulator(world)
    client: GisClient = make_client(emu.base_url)
    guids = [b["fias_guid"] for b in world["buildings"]]
    got = client.basic_houses([*guids, UNKNOWN])
    assert set(got) == set(guids)
    managers = set()
    for b in world["buildings"]:
        h = got[b["fias_guid"]]
        assert (h.fias_house_guid, h.hcs_house_guid, h.house_unique_number) == (b["fias_guid"], b["hcs_guid"], b["unique_number"])
        assert h.address == b["address"] and h.house_number == b["address"].rsplit("д. ", 1)[1]
        assert h.oktmo == b["oktmo"] and h.state is not None and h.termination_date is None
        assert h.org_ppa_guid == _manager_today(world, b)
        managers.add(h.org_ppa_guid)
    hoas = {o["ppa_guid"] for o in world["organisations"] if o["kind"] == "tsj"}
    assert managers & hoas and managers - hoas  # HOA houses and company houses alike
    assert [e.operation for e in emu.log if e.operation.startswith("export")] == ["exportBriefBasicHouse"]  # one message


def test_basic_houses_go_in_batches_of_100_and_unknown_ones_are_absent(
    start_emulator: Any, make_client: Any, world: dict[str, Any]
) -> None:
    emu: GisEmulator = start_emulator(world)
    client: GisClient = make_client(emu.base_url)
    unknown = [f"00000000-0000-4000-8000-{i:012d}" for i in range(150)]
    known = [b["fias_guid"] for b in world["buildings"]]
    got = client.basic_houses([*unknown, *known])
    assert set(got) == set(known)
    sent = [e for e in emu.log if e.operation == "exportBriefBasicHouse"]
    assert len(sent) == 2
    answers = b"".join(e.answer for e in emu.log if e.operation == "getState" and e.request_state == 3)
    assert answers.count(b"<base:ErrorCode>INT002000</base:ErrorCode>") == 150


def test_basic_houses_report_a_refused_house_per_house(start_emulator: Any, make_client: Any, world: dict[str, Any]) -> None:
    denied = world["buildings"][1]
    denied["access_denied"] = True
    client: GisClient = make_client(start_emulator(world).base_url)
    guids = [b["fias_guid"] for b in world["buildings"][:4]]
    errors: list[tuple[str, Exception]] = []
    got = client.basic_houses(guids, on_error=lambda key, err: errors.append((key, err)))
    assert set(got) == set(guids) - {denied["fias_guid"]}
    ((key, err),) = errors
    assert key == denied["fias_guid"] and isinstance(err, GisAccessDenied) and err.code == "AUT011003"
    assert denied["fias_guid"] in str(err) and world["authority"]["ppa_guid"] in str(err) and "MessageGUID=" in str(err)
    with pytest.raises(GisAccessDenied, match=denied["fias_guid"]):
        client.basic_houses(guids)


def test_a_result_item_for_a_house_never_asked_is_a_bad_answer(
    monkeypatch: pytest.MonkeyPatch, start_emulator: Any, make_client: Any, world: dict[str, Any]
) -> None:
    from domchat.emulators.gis import house_management as hm

    real = hm.HANDLERS["exportBriefBasicHouse"]

    def stray(req: Any) -> Any:
        out = real(req)
        out.payload[0][0].find(f"{{{hm.HM}}}TransportGUID").text = UNKNOWN
        return out

    monkeypatch.setitem(hm.HANDLERS, "exportBriefBasicHouse", stray)
    client: GisClient = make_client(start_emulator(world).base_url)
    with pytest.raises(GisBadAnswer, match=r"exportBriefBasicHouse MessageGUID=.*TransportGUID never sent"):
        client.basic_houses([world["buildings"][0]["fias_guid"]])


def test_a_charter_object_managed_under_a_contract_carries_the_flag(start_emulator: Any, make_client: Any, world_factory: Any) -> None:
    world = world_factory(buildings=30, charter_share=0.3)
    charters = [(b, e) for b in world["buildings"] for e in b["management"] if e["document"]["kind"] == "charter"]
    assert len(charters) >= 2
    flagged_building, flagged_entry = charters[0]
    flagged_entry["document"]["managed_by_contract"] = True
    client: GisClient = make_client(start_emulator(world).base_url)
    orgs = {o["ogrn"]: o for o in world["organisations"]}
    docs = client.contracts_and_charters([(orgs[e["ogrn"]]["root_guid"], b["fias_guid"]) for b, e in charters])
    flags = {d.guid: d.objects[0].managed_by_contract for d in docs}
    assert flags == {e["document"]["guid"]: e is flagged_entry for _, e in charters}
    contracts = client.cach_documents(contract_guids=[e["document"]["guid"] for b in world["buildings"][:5] for e in b["management"]])
    assert contracts and not any(o.managed_by_contract for d in contracts for o in d.objects)
    assert flagged_building["fias_guid"] == next(d for d in docs if flags[d.guid]).objects[0].fias_house_guid


def test_actual_licenses_in_batches_are_the_same_licences(
    client: GisClient, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from domchat.gis_client import client as client_module

    monkeypatch.setattr(client_module, "RECORD_BATCH", 2)
    ogrns = [o["ogrn"] for o in world["organisations"]]
    whole = client.actual_licenses(ogrns, world["region"]["code"])
    batches: list[list[Any]] = []
    assert client.actual_licenses(ogrns, world["region"]["code"], batches=batches.append) == []
    assert [lic for b in batches for lic in b] == whole
    assert len(whole) > 2 and all(1 <= len(b) <= 2 for b in batches)


def test_batches_of_a_refused_answer_end_in_the_error(start_emulator: Any, make_client: Any, world: dict[str, Any]) -> None:
    """Licences handed over before the answer is refused are provisional: the call raises."""
    emu = start_emulator(world, faults=GisFaults(schema_violation_share=1.0))
    batches: list[list[Any]] = []
    with pytest.raises(GisBadAnswer):
        make_client(emu.base_url).actual_licenses(
            [o["ogrn"] for o in world["organisations"]], world["region"]["code"], batches=batches.append
        )
