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


# exportLicense: the register in its older format, with the contract behind each house

_LINKED_CONTRACT = ("Approved", "Terminated")
"""Statuses of a contract GIS links to a licensed house (drafts and annulled ones are not)."""


def export_license(req: Request) -> Outcome:
    w = req.world
    licensed = [o for o in w.orgs_by_ogrn.values() if o.get("licence")]
    by_number = {o["licence"]["number"]: o for o in licensed}
    wanted = [by_number[n] for n in (x.text or "" for x in req.body.iterfind(f"{{{LIC}}}LicenseNumber")) if n in by_number]
    for crit in req.body.iterfind(f"{{{LIC}}}LicenseOrganization"):
        region = crit.findtext(f"{{{LIC}}}Region/{{{BASE}}}code")
        org = w.orgs_by_ogrn.get(crit.findtext(f"{{{LIC}}}OGRN") or crit.findtext(f"{{{LIC}}}OGRNIP") or "")
        if org is not None and org.get("licence") and region in (None, w.region):
            wanted.append(org)
    unique = {o["ogrn"]: o for o in wanted}
    if not unique:
        return empty("лицензии по заданным критериям не найдены")
    return Outcome([_old_licence(req, org) for org in unique.values()])


def _old_licence(req: Request, org: dict[str, Any]) -> etree._Element:
    """`License` (`exportLicenseResultType`): the houses still in the licence, each with its contract."""
    w = req.world
    entries = [m for m in w.managed_by.get(org["ogrn"], []) if m.entry["basis"] == "licence"]
    start = _licence_start(entries)
    number = org["licence"]["number"]
    authority = {"name": w.authority.get("name") or "Орган ГЖН", "ogrn": w.authority["ogrn"]}
    lic: etree._Element = L.License(
        L.LicenseNumber(number),
        L.LicenseRegDate(start),
        L.LicenseStatus("A"),
        legal(L, "LicensingAuthority", authority),
    )
    if w.region_fias_guid:
        lic.append(L.RegionFIASGuid(w.region_fias_guid))
    lic.extend(
        [
            L.LicensableTypeOfActivity("Предпринимательская деятельность по управлению многоквартирными домами"),
            L.LicenseOrganization(legal(L, "Legal", org)),
            L.AccompanyingDocument(
                L.Document(
                    nsi_ref(L, "DocType", nsi.LICENCE_DOCUMENT_TYPE, "1", nsi.FIXED[nsi.LICENCE_DOCUMENT_TYPE]["1"]),
                    L.RegDate(start),
                    legal(L, "DecisionOrg", authority),
                    L.Name(nsi.FIXED[nsi.LICENCE_DOCUMENT_TYPE]["1"]),
                    L.Number(number),
                    L.DocumentStatus("A"),
                ),
                L.DateFrom(start),
                L.DocumentStatus("A"),
            ),
        ]
    )
    for m in entries:
        if not m.entry.get("end") or w.today < m.entry["end"]:
            lic.append(_house(org, m))
    lic.extend(
        [
            L.LicenseGUID(org["licence"]["guid"]),
            L.LicenseVersion(str(org["licence"].get("version", 1))),
            # ЕРУЛ number: deterministic from the GIS number and the registration day.
            L.ErulNumber(f"Л045-{number[-5:]}-{w.region}/{start.replace('-', '')}"),
        ]
    )
    return lic


def _house(org: dict[str, Any], m: Managed) -> etree._Element:
    house: etree._Element = L.House(L.FIASHouseGUID(m.building["fias_guid"]), L.HouseAddress(m.building["address"]))
    doc = m.entry.get("document")
    if not doc or doc["kind"] != "contract" or doc["status"] not in _LINKED_CONTRACT:
        return house
    effective = doc.get("effective_date") or m.entry["start"]
    plan_end = doc.get("plan_end") or effective
    contract = L.Contract(
        L.ContractGUID(doc["guid"]),
        L.DocNum(doc.get("number") or doc["guid"][:8]),
        L.SigningDate(doc.get("signing_date") or effective),
        L.Org(_R.orgRootEntityGUID(org["root_guid"])),
        L.EffectiveDate(effective),
        L.PlanDateComptetion(plan_end),
        L.Validity(L.Year(str(max(0, int(plan_end[:4]) - int(effective[:4]))))),
        L.StartDate(doc.get("object_start") or m.entry["start"]),
    )
    if m.entry.get("end"):
        contract.append(L.EndDate(m.entry["end"]))
    if doc.get("terminate"):
        contract.append(L.Terminate(doc["terminate"]["date"]))
    house.append(contract)
    return house


HANDLERS: dict[str, Handler] = {
    "exportActualLicenseState": export_actual_license_state,
    "exportLicense": export_license,
}
