"""House management service (`hcs-house-management-types.xsd`): houses, contracts and charters."""

from __future__ import annotations

import re
import uuid
from typing import Any

from domchat.emulators.gis import nsi, voting
from domchat.emulators.gis.answers import (
    ACCESS_DENIED,
    Handler,
    Outcome,
    Request,
    denied,
    empty,
    nsi_ref,
)
from domchat.emulators.gis.contract import BASE
from domchat.emulators.gis.world_index import Managed
from domchat.emulators.gis.xmlbuild import maker

HM = voting.HM
H = maker(HM, {"hm": HM, "base": BASE})
_B = maker(BASE)


def _modified(b: dict[str, Any]) -> str:
    return str(b.get("modified") or "2020-01-01T00:00:00")


def export_house_data(req: Request) -> Outcome:
    guid = req.body.findtext(f"{{{HM}}}FIASHouseGuid") or ""
    b = req.world.house(guid)
    if b is None or b["fias_guid"].lower() != guid.lower():
        return empty(f"дом с FIASHouseGuid {guid} не найден")
    if not req.world.may_read(req.requester, b):
        return denied(b, req.requester)
    basic = H.BasicCharacteristicts(H.No_RSO_GKN_EGRP_Registered("true"), H.FIASHouseGuid(b["fias_guid"]))
    state = nsi.HOUSE_STATE_BY_STATE[b.get("state", "active")]
    basic.append(nsi_ref(H, "State", nsi.HOUSE_STATE, state, nsi.FIXED[nsi.HOUSE_STATE][state]))
    if b.get("oktmo"):
        basic.append(H.OKTMO(_B.code(b["oktmo"])))
    if b.get("tz_code"):
        basic.append(nsi_ref(H, "OlsonTZ", nsi.OLSON_TZ, b["tz_code"], b["tz"]))
    if b.get("termination_date"):
        basic.append(H.TerminationDate(b["termination_date"]))
    result = H.exportHouseResult(
        H.HouseUniqueNumber(b["unique_number"]),
        H.ModificationDate(_modified(b)),
        H.ApartmentHouse(basic),
    )
    return Outcome([result])


def export_brief_apartment_house(req: Request) -> Outcome:
    guid = req.body.findtext(f"{{{HM}}}HouseGuid") or ""
    b = req.world.house(guid)
    if b is None:
        return empty(f"дом {guid} не найден")
    if not req.world.may_read(req.requester, b):
        return denied(b, req.requester)
    info = H.ApartmentHouseInfo(
        H.HCSHouseGUID(b["hcs_guid"]),
        H.FIASHouseGUID(b["fias_guid"]),
        H.HouseUniqueNumber(b["unique_number"]),
        H.ModificationDate(_modified(b)),
    )
    if b.get("termination_date"):
        info.append(H.TerminationDate(b["termination_date"]))
    return Outcome([H.exportBriefApartmentHouseResult(info)])


# exportBriefBasicHouse: where a house is, one ResultItem per criterion

HOUSE_NOT_FOUND = "INT002000"
"""The real service's code for a value not in the register (a house unknown by its FIAS GUID)."""
_HOUSE_NUMBER = re.compile(r",\s*д\.\s*([^,]+)$")


def export_brief_basic_house(req: Request) -> Outcome:
    items = []
    for item in req.body.iterfind(f"{{{HM}}}RequestItem"):
        transport = item.findtext(f"{{{BASE}}}TransportGUID") or ""
        crit = item.find(f"{{{HM}}}Criteria")
        items.append(H.ResultItem(H.TransportGUID(transport), *_basic_house(req, crit)))
    return Outcome([H.exportBriefBasicHouseResult(*items)])


def _basic_house(req: Request, crit: Any) -> list[Any]:
    """`BasicHouseInfo`, or the `Error` of one criterion."""
    w = req.world
    fias = crit.findtext(f"{{{HM}}}FIASHouseGuid")
    number = crit.findtext(f"{{{HM}}}HouseUniqueNumber")
    b = w.by_fias.get(fias.lower()) if fias else None
    if b is None and number:
        b = next((x for x in w.world["buildings"] if x["unique_number"] == number), None)
    if b is None:
        what = f"FIASHouseGuid {fias}" if fias else f"уникальным номером {number}" if number else "заданному критерию"
        return [_error(HOUSE_NOT_FOUND, f"Дом по {what} не найден в реестре")]
    if not w.may_read(req.requester, b):
        who = req.requester["ppa_guid"] if req.requester else "?"
        return [_error(ACCESS_DENIED, f"Доступ запрещен: дом {b['fias_guid']}, организация {who}")]
    address = b["address"]
    house_number = _HOUSE_NUMBER.search(address)
    street = _HOUSE_NUMBER.sub("", address)
    where = H.LocationInfo(
        H.HCSHouseGUID(b["hcs_guid"]),
        H.FIASHouseGUID(b["fias_guid"]),
        H.Address(address),
        # The street's GUID: the world has none, so a stable one from the street's address.
        H.AOGUID(str(uuid.uuid5(uuid.NAMESPACE_URL, "domchat-emulator:street:" + street))),
    )
    if house_number:
        where.append(H.HOUSENUM(house_number.group(1).strip()[:20]))
    where.append(H.ESTSTATUS("2"))  # дом
    state = nsi.HOUSE_STATE_BY_STATE[b.get("state", "active")]
    basic = H.BasicCharacteristicts(
        H.HouseUniqueNumber(b["unique_number"]),
        nsi_ref(H, "State", nsi.HOUSE_STATE, state, nsi.FIXED[nsi.HOUSE_STATE][state]),
    )
    if b.get("oktmo"):
        basic.append(H.OKTMO(_B.code(b["oktmo"])))
    entry = w.current(b)
    manager = w.orgs_by_ogrn.get(entry["ogrn"]) if entry else None
    if manager is not None:
        basic.append(H.orgPPAGUID(manager["ppa_guid"]))
    if b.get("termination_date"):
        basic.append(H.TerminationDate(b["termination_date"]))
    return [H.BasicHouseInfo(where, basic)]


def _error(code: str, description: str) -> Any:
    return H.Error(_B.ErrorCode(code), _B.Description(description))


# Contracts (ДУ) and charters

_GUID_CRITERIA = {"ContractGUID": "contract", "ContractVersionGUID": "contract", "CharterGUID": "charter", "CharterVersionGUID": "charter"}


def _documents(req: Request) -> tuple[list[Managed], Outcome | None]:
    """The documents the criteria name, or the refusal when the requester may not read one."""
    w = req.world
    found: dict[str, Managed] = {}
    for crit in req.body.iterfind(f"{{{HM}}}Criteria"):
        matches: list[Managed] = []
        for tag, kind in _GUID_CRITERIA.items():
            guid = crit.findtext(f"{{{HM}}}{tag}")
            m = w.documents.get(guid.lower()) if guid else None
            if m is not None and m.entry["document"]["kind"] == kind:
                matches.append(m)
        uo = crit.findtext(f"{{{HM}}}UOGUID")
        if uo:
            org = w.orgs_by_guid.get(uo.lower())
            b = w.house(crit.findtext(f"{{{HM}}}FIASHouseGuid") or "")
            if org is not None and b is not None:
                matches += [Managed(b, e) for e in b["management"] if e["ogrn"] == org["ogrn"] and e.get("document")]
        for m in matches:
            if not _may_read_document(req, m):
                return [], denied(m.building, req.requester)
            found[m.entry["document"]["guid"]] = m
    return list(found.values()), None


def _may_read_document(req: Request, m: Managed) -> bool:
    if req.requester is None or req.requester is req.world.authority:
        return req.world.may_read(req.requester, m.building)
    return bool(req.requester["ogrn"] == m.entry["ogrn"])


def export_cach_data(req: Request) -> Outcome:
    docs, refusal = _documents(req)
    if refusal is not None:
        return refusal
    if not docs:
        return empty("договоры управления и уставы по заданным критериям не найдены")
    return Outcome([H.exportCAChResult(_contract(m) if m.entry["document"]["kind"] == "contract" else _charter(m)) for m in docs])


def export_status_cach_data(req: Request) -> Outcome:
    docs, refusal = _documents(req)
    if refusal is not None:
        return refusal
    if not docs:
        return empty("договоры управления и уставы по заданным критериям не найдены")
    results = []
    for m in docs:
        doc = m.entry["document"]
        prefix = "Contract" if doc["kind"] == "contract" else "Charter"
        result = H.exportStatusCAChResult(
            getattr(H, f"{prefix}GUID")(doc["guid"]),
            getattr(H, f"{prefix}VersionGUID")(doc["version_guid"]),
            getattr(H, f"{prefix}Status")(doc["status"]),
        )
        if doc.get("state"):
            result.append(H.State(doc["state"]))
        result.append(
            H.ContractObject(
                H.FIASHouseGuid(m.building["fias_guid"]),
                H.ManagedObjectStatus(doc["object_status"]),
                H.ContractObjectVersionGUID(doc["object_version_guid"]),
            )
        )
        result.append(H.VersionNumber(str(doc.get("version_number", 1))))
        results.append(result)
    return Outcome(results)


def _contract(m: Managed) -> Any:
    doc = m.entry["document"]
    start = doc.get("effective_date") or m.entry["start"]
    contract = H.Contract(
        H.DocNum(doc.get("number") or doc["guid"][:8]),
        H.SigningDate(doc.get("signing_date") or start),
        H.EffectiveDate(start),
        H.PlanDateComptetion(doc.get("plan_end") or start),
        H.Owners("true"),
        nsi_ref(H, "ContractBase", nsi.CONTRACT_BASE, "1", nsi.FIXED[nsi.CONTRACT_BASE]["1"]),
    )
    if doc.get("date_details"):
        contract.append(_date_details(doc["date_details"]))
    contract.append(H.AutomaticRollOverOneYear("true"))
    if doc.get("terminate"):
        contract.append(H.Terminate(H.Terminate(doc["terminate"]["date"])))
    contract.extend([H.ContractStatus(doc["status"]), H.ContractGUID(doc["guid"]), H.ContractVersionGUID(doc["version_guid"])])
    contract.append(_object(m))
    return contract


def _charter(m: Managed) -> Any:
    doc = m.entry["document"]
    charter = H.Charter(H.Date(doc.get("signing_date") or m.entry["start"]))
    if doc.get("date_details"):
        charter.append(_date_details(doc["date_details"]))
    charter.append(H.NoCharterApproveProtocol("true"))
    if doc.get("terminate"):
        reason = doc["terminate"].get("reason") or "Прекращение управления"
        charter.append(H.Terminate(H.Terminate(doc["terminate"]["date"]), H.Reason(reason)))
    charter.extend([H.CharterStatus(doc["status"]), H.CharterGUID(doc["guid"]), H.CharterVersionGUID(doc["version_guid"])])
    obj = _object(m)
    if doc.get("managed_by_contract"):
        obj.append(H.IsManagedByContract("true"))  # after StatusObject; the schema fixes the value
    charter.append(obj)
    return charter


def _object(m: Managed) -> Any:
    doc = m.entry["document"]
    obj = H.ContractObject(H.FIASHouseGuid(m.building["fias_guid"]), H.StartDate(doc.get("object_start") or m.entry["start"]))
    if m.entry.get("end"):
        obj.append(H.EndDate(m.entry["end"]))
    obj.extend([H.ContractObjectVersionGUID(doc["object_version_guid"]), H.BaseMService(H.CurrentDoc("true"))])
    if m.entry.get("end"):
        obj.append(H.Exclusion(H.BaseExclusion(H.CurrentDoc("true")), H.DateExclusion(m.entry["end"])))
    obj.append(H.StatusObject(doc["object_status"]))
    return obj


def _date_details(dd: dict[str, Any]) -> Any:
    details = H.DateDetails()
    metering = [
        getattr(H, tag)(_day(dd[key], "Date"), H.IsNextMonth(_bool(dd[key]["next_month"])))
        for key, tag in (("metering_start", "StartDate"), ("metering_end", "EndDate"))
        if key in dd
    ]
    if metering:
        details.append(H.PeriodMetering(*metering))
    for key, tag in (("payment_document", "PaymentDocumentInterval"), ("payment", "PaymentInterval")):
        if key in dd:
            month = H.NextMounth("true") if dd[key]["next_month"] else H.CurrentMounth("true")
            details.append(getattr(H, tag)(_day(dd[key], "StartDate"), month))
    return details


def _day(day: dict[str, Any], tag: str) -> Any:
    return H.LastDay("true") if day["day"] == "last" else getattr(H, tag)(str(day["day"]))


def _bool(value: bool) -> str:
    return "true" if value else "false"


HANDLERS: dict[str, Handler] = {
    "exportHouseData": export_house_data,
    "exportBriefApartmentHouse": export_brief_apartment_house,
    "exportBriefBasicHouse": export_brief_basic_house,
    "exportCAChData": export_cach_data,
    "exportStatusCAChData": export_status_cach_data,
    **voting.HANDLERS,
}
