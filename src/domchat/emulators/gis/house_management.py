"""House management service (`hcs-house-management-types.xsd`): houses, contracts and charters."""

from __future__ import annotations

from typing import Any

from domchat.emulators.gis.answers import (
    Handler,
    Outcome,
    Request,
    denied,
    empty,
    nsi_ref,
)
from domchat.emulators.gis.contract import BASE
from domchat.emulators.gis.xmlbuild import maker

HM = "http://dom.gosuslugi.ru/schema/integration/house-management/"
H = maker(HM, {"hm": HM, "base": BASE})
_B = maker(BASE)

NSI_HOUSE_STATE = 24
NSI_OLSON_TZ = 32
_STATES = {"active": ("2", "Исправный"), "terminated": ("3", "Аварийный")}


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
    state = _STATES[b.get("state", "active")]
    basic.append(nsi_ref(H, "State", NSI_HOUSE_STATE, *state))
    if b.get("oktmo"):
        basic.append(H.OKTMO(_B.code(b["oktmo"])))
    if b.get("tz_code"):
        basic.append(nsi_ref(H, "OlsonTZ", NSI_OLSON_TZ, b["tz_code"], b["tz"]))
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


HANDLERS: dict[str, Handler] = {
    "exportHouseData": export_house_data,
    "exportBriefApartmentHouse": export_brief_apartment_house,
}
