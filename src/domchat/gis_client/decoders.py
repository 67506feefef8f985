"""Record elements of the official answers → the DTOs of `types`.

Each decoder takes one closed record element (validated by the time the answer is accepted)
and reads only what domchat needs. Names follow the XSD.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime

from lxml import etree

from domchat.gis_client.services import (
    BASE_NS,
    GUEST_ACCESS_NS,
    HM_NS,
    LICENSES_NS,
    NSI_BASE_NS,
    ORG_BASE_NS,
    ORG_COMMON_NS,
    ORG_REGISTRY_BASE_NS,
)
from domchat.gis_client.types import (
    ActualLicense,
    BasicHouse,
    BriefHouse,
    CAChDocument,
    CAChObjectStatus,
    CAChStatus,
    ContractObject,
    DateDetails,
    DayOfMonth,
    GuestGrantRecord,
    HouseData,
    LicenseContract,
    LicensedHouse,
    LicenseHouse,
    LicenseRecord,
    NsiItem,
    NsiRef,
    OrgRecord,
    VotingMessage,
    VotingProtocol,
)


@functools.cache
def q(ns: str, path: str) -> str:
    """A path of local names in one namespace, as an ElementPath of Clark names."""
    return "/".join(f"{{{ns}}}{part}" for part in path.split("/"))


def leaves(el: etree._Element) -> dict[str, str]:
    """Text of each child by Clark name: one pass, for records read field by field."""
    return {c.tag: (c.text or "").strip() for c in el if isinstance(c.tag, str)}


def _required(fields: dict[str, str], tag: str) -> str:
    found = fields.get(tag)
    if found is None:
        raise ValueError(f"no {tag}")
    return found


def text(el: etree._Element, path: str) -> str | None:
    found = el.findtext(path)
    return found.strip() if found is not None else None


def req_text(el: etree._Element, path: str) -> str:
    found = text(el, path)
    if found is None:
        raise ValueError(f"{el.tag} has no {path}")
    return found


def to_date(value: str | None) -> date | None:
    """xs:date, ignoring a timezone suffix (dates in GIS ZhKH are calendar days)."""
    return date.fromisoformat(value[:10]) if value else None


def to_datetime(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def to_bool(value: str | None) -> bool:
    return value in ("true", "1")


def nsi_ref(el: etree._Element | None) -> NsiRef | None:
    if el is None:
        return None
    return NsiRef(
        code=req_text(el, q(NSI_BASE_NS, "Code")),
        guid=req_text(el, q(NSI_BASE_NS, "GUID")),
        name=text(el, q(NSI_BASE_NS, "Name")),
    )


# house-management


def house_data(el: etree._Element) -> HouseData:
    """`exportHouseResult` (an apartment house, or a living house read the same way)."""
    house = el.find(q(HM_NS, "ApartmentHouse"))
    if house is None:
        house = el.find(q(HM_NS, "LivingHouse"))
    if house is None:
        raise ValueError("exportHouseResult without ApartmentHouse or LivingHouse")
    basic = house.find(q(HM_NS, "BasicCharacteristicts"))
    if basic is None:
        raise ValueError("house without BasicCharacteristicts")
    return HouseData(
        fias_house_guid=req_text(basic, q(HM_NS, "FIASHouseGuid")),
        house_unique_number=req_text(el, q(HM_NS, "HouseUniqueNumber")),
        modification_date=to_datetime(text(el, q(HM_NS, "ModificationDate"))),
        oktmo=text(basic, q(HM_NS, "OKTMO") + "/" + q(BASE_NS, "code")),
        olson_tz=nsi_ref(basic.find(q(HM_NS, "OlsonTZ"))),
        state=nsi_ref(basic.find(q(HM_NS, "State"))),
        termination_date=to_date(text(basic, q(HM_NS, "TerminationDate"))),
    )


def brief_house(el: etree._Element) -> BriefHouse:
    """`exportBriefApartmentHouseResult/ApartmentHouseInfo` (no address in this answer)."""
    return BriefHouse(
        hcs_house_guid=req_text(el, q(HM_NS, "HCSHouseGUID")),
        fias_house_guid=text(el, q(HM_NS, "FIASHouseGUID")),
        house_unique_number=req_text(el, q(HM_NS, "HouseUniqueNumber")),
        address=None,
        modification_date=to_datetime(text(el, q(HM_NS, "ModificationDate"))),
    )


@dataclass(frozen=True, slots=True)
class BasicHouseItem:
    """`ResultItem` of `exportBriefBasicHouse`: one criterion's house, or its errors."""

    transport_guid: str
    house: BasicHouse | None
    error: tuple[str, str] | None
    """(ErrorCode, Description) of the item's first `Error`."""


def basic_house_item(el: etree._Element) -> BasicHouseItem:
    """`exportBriefBasicHouseResult/ResultItem`: `TransportGUID`, then `BasicHouseInfo` or `Error`s."""
    transport_guid = req_text(el, q(HM_NS, "TransportGUID"))
    info = el.find(q(HM_NS, "BasicHouseInfo"))
    if info is None:
        err = el.find(q(HM_NS, "Error"))
        if err is None:
            raise ValueError("ResultItem with neither BasicHouseInfo nor Error")
        return BasicHouseItem(transport_guid, None, (req_text(err, q(BASE_NS, "ErrorCode")), text(err, q(BASE_NS, "Description")) or ""))
    where = info.find(q(HM_NS, "LocationInfo"))
    basic = info.find(q(HM_NS, "BasicCharacteristicts"))
    if where is None or basic is None:
        raise ValueError("BasicHouseInfo without LocationInfo or BasicCharacteristicts")
    house = BasicHouse(
        hcs_house_guid=req_text(where, q(HM_NS, "HCSHouseGUID")),
        fias_house_guid=text(where, q(HM_NS, "FIASHouseGUID")),
        address=req_text(where, q(HM_NS, "Address")),
        house_number=text(where, q(HM_NS, "HOUSENUM")) or None,
        building_number=text(where, q(HM_NS, "BUILDNUM")) or None,
        structure_number=text(where, q(HM_NS, "STRUCNUM")) or None,
        house_unique_number=req_text(basic, q(HM_NS, "HouseUniqueNumber")),
        oktmo=text(basic, q(HM_NS, "OKTMO") + "/" + q(BASE_NS, "code")),
        state=nsi_ref(basic.find(q(HM_NS, "State"))),
        org_ppa_guid=text(basic, q(HM_NS, "orgPPAGUID")),
        termination_date=to_date(text(basic, q(HM_NS, "TerminationDate"))),
    )
    return BasicHouseItem(transport_guid, house, None)


# licenses


def actual_license(el: etree._Element) -> ActualLicense:
    """`exportActualLicenseStateResult`."""
    info = el.find(q(LICENSES_NS, "LicenseInfo"))
    if info is None:
        raise ValueError("licence without LicenseInfo")
    ogrn = _licensee_ogrn(info.find(q(LICENSES_NS, "LicenseOrganization")))
    houses = tuple(_license_house(leaves(h)) for h in el.iterfind(q(LICENSES_NS, "LicenseHouses")))
    return ActualLicense(
        license_guid=req_text(el, q(LICENSES_NS, "LicenseGUID")),
        license_number=req_text(info, q(LICENSES_NS, "LicenseNumber")),
        license_status=req_text(info, q(LICENSES_NS, "LicenseStatus")),
        licensee_ogrn=ogrn,
        region_code=text(info, q(LICENSES_NS, "Region") + "/" + q(BASE_NS, "code")),
        houses=houses,
    )


_L = {
    name: f"{{{LICENSES_NS}}}{name}"
    for name in (
        "FIASHouseGUID",
        "HouseAddress",
        "LicenseHouseStatus",
        "InclusionDate",
        "ExclusionDate",
        "InclusionEntryGuid",
        "ExclusionEntryGuid",
    )
}


def _license_house(f: dict[str, str]) -> LicenseHouse:
    """`LicenseHousesType` (the hot record of a region's licence answer: read in one pass)."""
    return LicenseHouse(
        fias_house_guid=f[_L["FIASHouseGUID"]],
        house_address=f.get(_L["HouseAddress"], ""),
        status=f[_L["LicenseHouseStatus"]],
        inclusion_date=to_date(f.get(_L["InclusionDate"])),
        exclusion_date=to_date(f.get(_L["ExclusionDate"])),
        inclusion_entry_guid=f.get(_L["InclusionEntryGuid"]),
        exclusion_entry_guid=f.get(_L["ExclusionEntryGuid"]),
    )


def _licensee_ogrn(org: etree._Element | None) -> str:
    """OGRN of a `LicenseOrganizationType` (`Legal`), or OGRNIP (`Entrp`); "" when absent."""
    if org is None:
        return ""
    legal = text(org, q(LICENSES_NS, "Legal") + "/" + q(ORG_BASE_NS, "OGRN"))
    return legal or text(org, q(LICENSES_NS, "Entrp") + "/" + q(ORG_BASE_NS, "OGRNIP")) or ""


def license_record(el: etree._Element) -> LicenseRecord:
    """`License` of `exportLicense` (`exportLicenseResultType`: a `LicenseType` with its GUID and version)."""
    return LicenseRecord(
        license_guid=req_text(el, q(LICENSES_NS, "LicenseGUID")),
        license_version=int(req_text(el, q(LICENSES_NS, "LicenseVersion"))),
        license_number=req_text(el, q(LICENSES_NS, "LicenseNumber")),
        license_reg_date=to_date(text(el, q(LICENSES_NS, "LicenseRegDate"))),
        license_status=req_text(el, q(LICENSES_NS, "LicenseStatus")),
        licensee_ogrn=_licensee_ogrn(el.find(q(LICENSES_NS, "LicenseOrganization"))),
        region_fias_guid=text(el, q(LICENSES_NS, "RegionFIASGuid")),
        erul_number=text(el, q(LICENSES_NS, "ErulNumber")),
        houses=tuple(_licensed_house(h) for h in el.iterfind(q(LICENSES_NS, "House"))),
    )


def _licensed_house(el: etree._Element) -> LicensedHouse:
    contract = el.find(q(LICENSES_NS, "Contract"))
    return LicensedHouse(
        fias_house_guid=req_text(el, q(LICENSES_NS, "FIASHouseGUID")),
        house_address=text(el, q(LICENSES_NS, "HouseAddress")) or "",
        contract=None if contract is None else _license_contract(contract),
    )


_C = {
    name: f"{{{LICENSES_NS}}}{name}"
    for name in ("ContractGUID", "DocNum", "SigningDate", "EffectiveDate", "PlanDateComptetion", "StartDate", "EndDate", "Terminate")
}


def _license_contract(el: etree._Element) -> LicenseContract:
    """`HouseType/Contract`: a flat record, read in one pass."""
    f = leaves(el)
    return LicenseContract(
        contract_guid=_required(f, _C["ContractGUID"]),
        doc_num=_required(f, _C["DocNum"]),
        signing_date=to_date(f.get(_C["SigningDate"])),
        org_root_guid=req_text(el, q(LICENSES_NS, "Org") + "/" + q(ORG_REGISTRY_BASE_NS, "orgRootEntityGUID")),
        effective_date=to_date(f.get(_C["EffectiveDate"])),
        plan_date_completion=to_date(f.get(_C["PlanDateComptetion"])),
        start_date=to_date(f.get(_C["StartDate"])),
        end_date=to_date(f.get(_C["EndDate"])),
        terminate_date=to_date(f.get(_C["Terminate"])),
    )


# organisations registry (common)


def org_record(el: etree._Element) -> OrgRecord:
    """`exportOrgRegistryResult`: a legal entity or an individual entrepreneur."""
    version = el.find(q(ORG_COMMON_NS, "OrgVersion"))
    if version is None:
        raise ValueError("organisation without OrgVersion")
    legal = version.find(q(ORG_COMMON_NS, "Legal"))
    entrp = version.find(q(ORG_COMMON_NS, "Entrp"))
    if legal is not None:
        ogrn = req_text(legal, q(ORG_BASE_NS, "OGRN"))
        inn = text(legal, q(ORG_BASE_NS, "INN")) or ""
        kpp = text(legal, q(ORG_BASE_NS, "KPP"))
        full_name = req_text(legal, q(ORG_REGISTRY_BASE_NS, "FullName"))
        short_name = text(legal, q(ORG_REGISTRY_BASE_NS, "ShortName"))
    elif entrp is not None:
        ogrn = req_text(entrp, q(ORG_BASE_NS, "OGRNIP"))
        inn = text(entrp, q(ORG_BASE_NS, "INN")) or ""
        kpp = None
        parts = (text(entrp, q(ORG_REGISTRY_BASE_NS, n)) for n in ("Surname", "FirstName", "Patronymic"))
        full_name = " ".join(p for p in parts if p)
        short_name = None
    else:
        raise ValueError("organisation is neither Legal nor Entrp")
    edited = to_date(text(version, q(ORG_COMMON_NS, "lastEditingDate")))
    roles = tuple(r for r in (nsi_ref(x) for x in el.iterfind(q(ORG_COMMON_NS, "organizationRoles"))) if r is not None)
    return OrgRecord(
        org_root_entity_guid=req_text(el, q(ORG_REGISTRY_BASE_NS, "orgRootEntityGUID")),
        org_version_guid=req_text(version, q(ORG_REGISTRY_BASE_NS, "orgVersionGUID")),
        org_ppa_guid=text(el, q(BASE_NS, "orgPPAGUID")),
        ogrn=ogrn,
        inn=inn,
        kpp=kpp,
        full_name=full_name,
        short_name=short_name,
        is_actual=to_bool(text(version, q(ORG_COMMON_NS, "IsActual"))),
        last_editing_date=datetime(edited.year, edited.month, edited.day) if edited else None,
        roles=roles,
    )


# guest access (PROVISIONAL: domchat's own contract)


def guest_grant(el: etree._Element) -> GuestGrantRecord:
    """`exportGuestAccessResult` of the provisional guest-access service."""
    return GuestGrantRecord(
        grant_id=req_text(el, q(GUEST_ACCESS_NS, "GrantGUID")).lower(),
        fias_house_guid=req_text(el, q(GUEST_ACCESS_NS, "FIASHouseGuid")).lower(),
        premises=req_text(el, q(GUEST_ACCESS_NS, "Premises")),
        person_ref=req_text(el, q(GUEST_ACCESS_NS, "PersonRef")),
        valid_from=date.fromisoformat(req_text(el, q(GUEST_ACCESS_NS, "ValidFrom"))[:10]),
        valid_to=to_date(text(el, q(GUEST_ACCESS_NS, "ValidTo"))),
        status=req_text(el, q(GUEST_ACCESS_NS, "Status")).lower(),
    )


# house-management: contracts and charters


def _day(el: etree._Element | None, day_tag: str, next_tag: str | None) -> DayOfMonth | None:
    """A `DaySelectionExportType` (`next_tag` IsNextMonth) or a payment interval (`next_tag` None)."""
    if el is None:
        return None
    day = text(el, q(HM_NS, day_tag))
    # A day of the metering period says IsNextMonth; a payment interval says NextMounth or CurrentMounth.
    next_month = to_bool(text(el, q(HM_NS, next_tag))) if next_tag else el.find(q(HM_NS, "NextMounth")) is not None
    return DayOfMonth(day=int(day) if day else None, next_month=next_month)


def date_details(el: etree._Element | None) -> DateDetails | None:
    """`DateDetails` of a contract or charter (the misspellings are the schema's)."""
    if el is None:
        return None
    metering = el.find(q(HM_NS, "PeriodMetering"))
    return DateDetails(
        metering_start=_day(metering.find(q(HM_NS, "StartDate")), "Date", "IsNextMonth") if metering is not None else None,
        metering_end=_day(metering.find(q(HM_NS, "EndDate")), "Date", "IsNextMonth") if metering is not None else None,
        payment_document=_day(el.find(q(HM_NS, "PaymentDocumentInterval")), "StartDate", None),
        payment=_day(el.find(q(HM_NS, "PaymentInterval")), "StartDate", None),
    )


def _objects(doc: etree._Element) -> tuple[ContractObject, ...]:
    return tuple(
        ContractObject(
            fias_house_guid=req_text(o, q(HM_NS, "FIASHouseGuid")),
            start_date=to_date(text(o, q(HM_NS, "StartDate"))),
            end_date=to_date(text(o, q(HM_NS, "EndDate"))),
            status=text(o, q(HM_NS, "StatusObject")) or "",
            exclusion_date=to_date(text(o, q(HM_NS, "Exclusion") + "/" + q(HM_NS, "DateExclusion"))),
            version_guid=text(o, q(HM_NS, "ContractObjectVersionGUID")),
            managed_by_contract=to_bool(text(o, q(HM_NS, "IsManagedByContract"))),
        )
        for o in doc.iterfind(q(HM_NS, "ContractObject"))
    )


def cach_document(el: etree._Element) -> CAChDocument:
    """`exportCAChResult`: a `Contract` or a `Charter`."""
    contract = el.find(q(HM_NS, "Contract"))
    if contract is not None:
        return CAChDocument(
            kind="contract",
            guid=req_text(contract, q(HM_NS, "ContractGUID")),
            version_guid=req_text(contract, q(HM_NS, "ContractVersionGUID")),
            status=req_text(contract, q(HM_NS, "ContractStatus")),
            org_ppa_guid=None,
            signing_date=to_date(text(contract, q(HM_NS, "SigningDate"))),
            effective_date=to_date(text(contract, q(HM_NS, "EffectiveDate"))),
            plan_date_completion=to_date(text(contract, q(HM_NS, "PlanDateComptetion"))),
            terminate_date=to_date(text(contract, q(HM_NS, "Terminate") + "/" + q(HM_NS, "Terminate"))),
            objects=_objects(contract),
            date_details=date_details(contract.find(q(HM_NS, "DateDetails"))),
            doc_num=text(contract, q(HM_NS, "DocNum")),
        )
    charter = el.find(q(HM_NS, "Charter"))
    if charter is None:
        raise ValueError("exportCAChResult with neither Contract nor Charter")
    return CAChDocument(
        kind="charter",
        guid=req_text(charter, q(HM_NS, "CharterGUID")),
        version_guid=req_text(charter, q(HM_NS, "CharterVersionGUID")),
        status=req_text(charter, q(HM_NS, "CharterStatus")),
        org_ppa_guid=None,
        signing_date=to_date(text(charter, q(HM_NS, "Date"))),
        effective_date=None,
        plan_date_completion=None,
        terminate_date=to_date(text(charter, q(HM_NS, "Terminate") + "/" + q(HM_NS, "Terminate"))),
        objects=_objects(charter),
        date_details=date_details(charter.find(q(HM_NS, "DateDetails"))),
    )


def cach_status(el: etree._Element) -> CAChStatus:
    """`exportStatusCAChResult`."""
    kind = "contract" if el.find(q(HM_NS, "ContractGUID")) is not None else "charter"
    prefix = "Contract" if kind == "contract" else "Charter"
    return CAChStatus(
        kind=kind,
        guid=req_text(el, q(HM_NS, f"{prefix}GUID")),
        version_guid=req_text(el, q(HM_NS, f"{prefix}VersionGUID")),
        status=req_text(el, q(HM_NS, f"{prefix}Status")),
        state=text(el, q(HM_NS, "State")),
        version_number=int(req_text(el, q(HM_NS, "VersionNumber"))),
        objects=tuple(
            CAChObjectStatus(
                fias_house_guid=req_text(o, q(HM_NS, "FIASHouseGuid")),
                managed_object_status=req_text(o, q(HM_NS, "ManagedObjectStatus")),
                version_guid=text(o, q(HM_NS, "ContractObjectVersionGUID")),
            )
            for o in el.iterfind(q(HM_NS, "ContractObject"))
        ),
    )


# NSI (common directories)

_NSI_FIELD_VALUES = ("Value", "Code", "GUID", "Name")


def nsi_items(el: etree._Element) -> list[NsiItem]:
    """`NsiItem`: every element of one directory, children flattened after their parent."""
    registry = int(req_text(el, q(NSI_BASE_NS, "NsiItemRegistryNumber")))
    out: list[NsiItem] = []
    stack = list(reversed(el.findall(q(NSI_BASE_NS, "NsiElement"))))
    while stack:
        e = stack.pop()
        fields = []
        for f in e.iterfind(q(NSI_BASE_NS, "NsiElementField")):
            # Fields are typed by xsi:type (string, date, nsiRef…): keep the first text found.
            value = next((v for v in (text(f, f".//{{{NSI_BASE_NS}}}{n}") for n in _NSI_FIELD_VALUES) if v), "")
            fields.append((req_text(f, q(NSI_BASE_NS, "Name")), value))
        out.append(
            NsiItem(
                registry=registry,
                code=req_text(e, q(NSI_BASE_NS, "Code")),
                guid=req_text(e, q(NSI_BASE_NS, "GUID")),
                is_actual=to_bool(text(e, q(NSI_BASE_NS, "IsActual"))),
                modified=to_datetime(text(e, q(NSI_BASE_NS, "Modified"))),
                fields=tuple(fields),
            )
        )
        stack.extend(reversed(e.findall(q(NSI_BASE_NS, "ChildElement"))))
    return out


# house-management: owners' general meetings


_VOTING_FORMS = ("AVoting", "Meeting", "MeetingAVoting", "EVoting")


def _voting_form(el: etree._Element) -> etree._Element:
    for name in _VOTING_FORMS:
        found = el.find(q(HM_NS, name))
        if found is not None:
            return found
    raise ValueError(f"{el.tag} has none of {', '.join(_VOTING_FORMS)}")


def _day_of(value: str | None) -> date | None:
    return to_date(value[:10]) if value else None


def voting_message(el: etree._Element) -> VotingMessage:
    """`VotingMessage` of `exportVotingMessage`."""
    form = _voting_form(el)
    name = etree.QName(form).localname
    return VotingMessage(
        message_guid=req_text(el, q(HM_NS, "MessageGUID")).lower(),
        status=req_text(el, q(HM_NS, "MessageStatus")),
        fias_house_guids=tuple((x.text or "").strip().lower() for x in el.iterfind(q(HM_NS, "FIASHouseGUID"))),
        number=text(el, q(HM_NS, "MessageNum")),
        message_date=date.fromisoformat(req_text(el, q(HM_NS, "MessageDate"))[:10]),
        annual=el.find(q(HM_NS, "AnnualVoting")) is not None,
        form=name,
        decisions_from=to_date(text(form, q(HM_NS, "AVotingStartDate"))) or _day_of(text(form, q(HM_NS, "EVotingDateBegin"))),
        decisions_until=to_date(text(form, q(HM_NS, "AVotingEndDate"))) or _day_of(text(form, q(HM_NS, "EVotingDateEnd"))),
        meeting_at=to_datetime(text(form, q(HM_NS, "MeetingDate"))),
        meeting_place=text(form, q(HM_NS, "VotingPlace")),
        resolution_place=text(form, q(HM_NS, "ResolutionPlace")) or text(form, q(HM_NS, "Discipline")),
        agenda=tuple(req_text(x, q(HM_NS, "QuestionName")) for x in el.iterfind(q(HM_NS, "DecisionList"))),
    )


def voting_protocol(el: etree._Element) -> VotingProtocol:
    """`VotingProtocol` of `exportVotingProtocol`."""
    form = _voting_form(el)
    decisions = []
    for x in el.iterfind(q(HM_NS, "DecisionList")):
        resume = text(x, q(HM_NS, "votingResume"))
        decisions.append((req_text(x, q(HM_NS, "QuestionName")), None if resume is None else resume == "M"))
    return VotingProtocol(
        protocol_guid=req_text(el, q(HM_NS, "VotingProtocolGUID")).lower(),
        status=req_text(el, q(HM_NS, "StatusProtocol")),
        fias_house_guids=tuple((x.text or "").strip().lower() for x in el.iterfind(q(HM_NS, "FIASHouseGuid"))),
        number=text(el, q(HM_NS, "ProtocolNum")),
        protocol_date=date.fromisoformat(req_text(el, q(HM_NS, "ProtocolDate"))[:10]),
        form=etree.QName(form).localname,
        decisions_until=to_date(text(form, q(HM_NS, "AVotingDate"))) or _day_of(text(form, q(HM_NS, "EVotingDateEnd"))),
        meeting_at=to_datetime(text(form, q(HM_NS, "MeetingDate"))),
        eligible=text(el, q(HM_NS, "MeetingEligibility")) == "C",
        decisions=tuple(decisions),
    )
