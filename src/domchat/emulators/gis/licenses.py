"""Licence registry service (`hcs-licenses-types.xsd`): licences and the houses they cover."""

from __future__ import annotations

import uuid
from typing import Any

from lxml import etree

from domchat.emulators.gis import nsi
from domchat.emulators.gis.answers import (
    ORG_BASE,
    ORG_REGISTRY_BASE,
    Handler,
    Outcome,
    Request,
    empty,
    nsi_ref,
)
from domchat.emulators.gis.contract import BASE
from domchat.emulators.gis.world_index import Managed
from domchat.emulators.gis.xmlbuild import maker

LIC = "http://dom.gosuslugi.ru/schema/integration/licenses/"
L = maker(LIC, {"lic": LIC, "base": BASE})
_B = maker(BASE)
_R = maker(ORG_REGISTRY_BASE, {"org-reg": ORG_REGISTRY_BASE})
_O = maker(ORG_BASE, {"org": ORG_BASE})

_FAR_END = "2099-12-31"  # licences are granted without end; the schema still requires a date


def legal(maker: Any, tag: str, org: dict[str, Any]) -> etree._Element:
    """An element of `organizations-registry-base:LegalType` (or an extension of it)."""
    el: etree._Element = getattr(maker, tag)()
    if org.get("short_name"):
        el.append(_R.ShortName(org["short_name"]))
    el.append(_R.FullName(org["name"]))
    el.append(_O.OGRN(org["ogrn"]))
    if org.get("inn"):
        el.append(_O.INN(org["inn"]))
    if org.get("kpp"):
        el.append(_O.KPP(org["kpp"]))
    return el


def _stable_guid(*key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "domchat-emulator:" + ":".join(key)))


def _licence_start(entries: list[Managed]) -> str:
    return min((m.entry["start"] for m in entries), default="2015-05-01")


def export_actual_license_state(req: Request) -> Outcome:
    w = req.world
    wanted: list[dict[str, Any]] = []
    for crit in req.body.iterfind(f"{{{LIC}}}LicenseOrganization"):
        region = crit.findtext(f"{{{LIC}}}Region")
        org = w.orgs_by_ogrn.get(crit.findtext(f"{{{LIC}}}OGRN") or crit.findtext(f"{{{LIC}}}OGRNIP") or "")
        if org is not None and region in (None, w.region):
            wanted.append(org)
    by_guid = {o["licence"]["guid"].lower(): o for o in w.orgs_by_ogrn.values() if o.get("licence")}
    by_number = {o["licence"]["number"]: o for o in w.orgs_by_ogrn.values() if o.get("licence")}
    wanted += [by_guid[g.lower()] for g in (x.text or "" for x in req.body.iterfind(f"{{{LIC}}}LicenseGUID")) if g.lower() in by_guid]
    wanted += [by_number[n] for n in (x.text or "" for x in req.body.iterfind(f"{{{LIC}}}LicenseNumber")) if n in by_number]
    results = []
    seen: set[str] = set()
    for org in wanted:
        houses = [m for m in w.managed_by.get(org["ogrn"], []) if m.entry["basis"] == "licence"]
        if not org.get("licence") or not houses or org["ogrn"] in seen:
            continue
        seen.add(org["ogrn"])
        results.append(_licence(req, org, houses))
    return Outcome(results) if results else empty("лицензии по заданным критериям не найдены")


def _licence(req: Request, org: dict[str, Any], houses: list[Managed]) -> etree._Element:
    w = req.world
    start = _licence_start(houses)
    authority = legal(L, "LicensingAuthority", {"name": w.authority.get("name") or "Орган ГЖН", "ogrn": w.authority["ogrn"]})
    info = L.LicenseInfo(
        L.LicenseNumber(org["licence"]["number"]),
        L.LicenseRegDate(start),
        L.LicenseStatus("Active"),
        L.LicenseStartDate(start),
        L.LicenseEndDate(_FAR_END),
        authority,
        L.Region(_B.code(w.region), *([_B.name(w.region_name)] if w.region_name else [])),
        L.LicenseOrganization(legal(L, "Legal", org)),
    )
    result = L.exportActualLicenseStateResult(info)
    number = 0
    for m in houses:
        number += 1
        result.append(
            _entry(
                number,
                m.entry["entry_guid"],
                "1",
                m.entry["start"],
                L.InclusionHouseDetails(
                    L.FIASHouseGUID(m.building["fias_guid"]),
                    L.HouseAddress(m.building["address"]),
                    L.InclusionDate(m.entry["start"]),
                ),
            )
        )
        if m.entry.get("end"):
            number += 1
            excl_guid = m.entry.get("exclusion_entry_guid") or _stable_guid("excl", m.entry["entry_guid"])
            result.append(
                _entry(
                    number,
                    excl_guid,
                    "2",
                    m.entry["end"],
                    L.ExclusionHouseDetails(
                        L.InclusionEntryGuid(m.entry["entry_guid"]),
                        L.ExclusionDate(m.entry["end"]),
                        L.ExclusionDocument(L.DocType("Решение органа ГЖН")),
                    ),
                )
            )
    for m in houses:
        end = m.entry.get("end")
        house = L.LicenseHouses(
            L.FIASHouseGUID(m.building["fias_guid"]),
            L.HouseAddress(m.building["address"]),
            L.LicenseHouseStatus("EXCLUDED" if end else "INCLUDED"),
            L.InclusionDate(m.entry["start"]),
        )
        if end:
            house.append(L.ExclusionDate(end))
        house.append(L.InclusionEntryGuid(m.entry["entry_guid"]))
        if end:
            house.append(L.ExclusionEntryGuid(m.entry.get("exclusion_entry_guid") or _stable_guid("excl", m.entry["entry_guid"])))
        result.append(house)
    result.append(L.LicenseGUID(org["licence"]["guid"]))
    done: etree._Element = result
    return done


def _entry(number: int, guid: str, type_code: str, day: str, details: etree._Element) -> etree._Element:
    entry: etree._Element = L.LicenseRegistryEntries(
        L.EntryInfo(
            L.EntryNumber(str(number)),
            nsi_ref(L, "EntryType", nsi.LICENCE_ENTRY_TYPE, type_code, nsi.FIXED[nsi.LICENCE_ENTRY_TYPE][type_code]),
            L.EntryGuid(guid),
            L.EntryStatus("PUBLISHED"),
            L.IsActual("true"),
            L.PublishDate(f"{day}T00:00:00"),
        ),
        details,
    )
    return entry


HANDLERS: dict[str, Handler] = {
    "exportActualLicenseState": export_actual_license_state,
}
