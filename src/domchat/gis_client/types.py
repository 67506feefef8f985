"""What the GIS ZhKH client returns: records close to the official schemas, no domain meaning.

Field names follow the XSD elements they come from so that a reader can check them against
the package. `mapping/` turns these into the domain. Nothing here imports zeep or lxml.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class NsiRef:
    """`nsi-base:nsiRef`: a reference into a GIS ZhKH directory."""

    code: str
    guid: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class LicenseHouse:
    """`LicenseHousesType` of `exportActualLicenseState`."""

    fias_house_guid: str
    house_address: str
    status: str
    """`LicenseHouseStatus`: INCLUDED or EXCLUDED (kept as sent; parse leniently)."""
    inclusion_date: date | None
    exclusion_date: date | None
    inclusion_entry_guid: str | None
    exclusion_entry_guid: str | None


@dataclass(frozen=True, slots=True)
class ActualLicense:
    """One `exportActualLicenseStateResult`."""

    license_guid: str
    license_number: str
    license_status: str
    licensee_ogrn: str
    region_code: str | None
    houses: tuple[LicenseHouse, ...]


@dataclass(frozen=True, slots=True)
class LicenseContract:
    """`HouseType/Contract` of `exportLicense`: the management contract (ДУ) behind a licensed house."""

    contract_guid: str
    doc_num: str
    signing_date: date | None
    org_root_guid: str
    """`Org/orgRootEntityGUID`: the managing organisation named in the contract."""
    effective_date: date | None
    plan_date_completion: date | None
    """`PlanDateComptetion` (the misspelling is the schema's)."""
    start_date: date | None
    """`StartDate`: "дата начала осуществления полномочий из ДУ" (start of powers under the contract)."""
    end_date: date | None
    """`EndDate`: "дата окончания осуществления полномочий из ДУ"."""
    terminate_date: date | None
    """`Terminate`: "дата расторжения из ДУ"."""


@dataclass(frozen=True, slots=True)
class LicensedHouse:
    """`HouseType` of `exportLicense`: a house of the licence, with its contract when GIS links one."""

    fias_house_guid: str
    house_address: str
    contract: LicenseContract | None


@dataclass(frozen=True, slots=True)
class LicenseRecord:
    """One `License` of `exportLicense` (the licence register in its older, non-registry format)."""

    license_guid: str
    license_version: int
    license_number: str
    """`LicenseNumber`: the nine-digit number in GIS ZhKH."""
    license_reg_date: date | None
    license_status: str
    """`LicenseStatus` as sent: A (active), F (finished), C (cancelled), R (rejected), I (inactive)."""
    licensee_ogrn: str
    """OGRN of a legal entity, or OGRNIP of an individual entrepreneur."""
    region_fias_guid: str | None
    """`RegionFIASGuid`: the region as a FIAS GUID (this answer carries no region code)."""
    erul_number: str | None
    """`ErulNumber`: the number in the unified register of licences (ЕРУЛ), when sent."""
    houses: tuple[LicensedHouse, ...]


@dataclass(frozen=True, slots=True)
class HouseData:
    """`exportHouseResult` for an apartment house (`ApartmentHouse/BasicCharacteristicts`)."""

    fias_house_guid: str
    house_unique_number: str
    modification_date: datetime | None
    oktmo: str | None
    olson_tz: NsiRef | None
    state: NsiRef | None
    termination_date: date | None


@dataclass(frozen=True, slots=True)
class BriefHouse:
    """`ApartmentHouseInfo` of `exportBriefApartmentHouse`."""

    hcs_house_guid: str
    fias_house_guid: str | None
    house_unique_number: str
    address: str | None
    """Not part of `exportBriefApartmentHouse` answers (None there); kept for other sources."""
    modification_date: datetime | None


@dataclass(frozen=True, slots=True)
class BasicHouse:
    """`BasicHouseInfo` of `exportBriefBasicHouse`: where a house is (`LocationInfo`) and its
    basic characteristics in the address register of GIS ZhKH."""

    hcs_house_guid: str
    fias_house_guid: str | None
    address: str
    """`LocationInfo/Address`: the free-text address."""
    house_number: str | None
    """`HOUSENUM`; `BUILDNUM` (корпус) and `STRUCNUM` (строение) follow."""
    building_number: str | None
    structure_number: str | None
    house_unique_number: str
    oktmo: str | None
    state: NsiRef | None
    org_ppa_guid: str | None
    """`orgPPAGUID`: "идентификатор управляющей организации", when GIS names one."""
    termination_date: date | None


@dataclass(frozen=True, slots=True)
class OrgRecord:
    """`exportOrgRegistryResult`: the actual version of a legal entity."""

    org_root_entity_guid: str
    org_version_guid: str
    org_ppa_guid: str | None
    ogrn: str
    inn: str
    kpp: str | None
    full_name: str
    short_name: str | None
    is_actual: bool
    last_editing_date: datetime | None
    roles: tuple[NsiRef, ...] = ()


@dataclass(frozen=True, slots=True)
class ContractObject:
    """`ContractObject` of a management contract or charter in `exportCAChData`."""

    fias_house_guid: str
    start_date: date | None
    end_date: date | None
    status: str
    """`StatusObject`: Project, Rejected, ApprovalProcess, Approved, Locked, Annul."""
    exclusion_date: date | None
    version_guid: str | None
    managed_by_contract: bool = False
    """`IsManagedByContract` of a charter object: the house is managed by a managing company under
    a contract, not by the HOA itself (the schema fixes the value to true when present)."""


@dataclass(frozen=True, slots=True)
class DayOfMonth:
    """`DaySelectionExportType` and the payment intervals of `DateDetails`."""

    day: int | None
    """1–30; None means the last day of the month (`LastDay`)."""
    next_month: bool
    """`IsNextMonth` / `NextMounth`: the day falls in the month after the period."""


@dataclass(frozen=True, slots=True)
class DateDetails:
    """`DateDetailsExportType`: meter-reading window and payment deadlines of a contract or charter."""

    metering_start: DayOfMonth | None
    metering_end: DayOfMonth | None
    payment_document: DayOfMonth | None
    """`PaymentDocumentInterval`: the day bills are issued by."""
    payment: DayOfMonth | None
    """`PaymentInterval`: the day payment is due by."""


@dataclass(frozen=True, slots=True)
class CAChDocument:
    """A management contract (`Contract`) or HOA charter (`Charter`) from `exportCAChData`."""

    kind: str
    """``contract`` or ``charter``."""
    guid: str
    version_guid: str
    status: str
    """`ContractStatus` / `CharterStatus` as sent."""
    org_ppa_guid: str | None
    signing_date: date | None
    effective_date: date | None
    plan_date_completion: date | None
    terminate_date: date | None
    objects: tuple[ContractObject, ...]
    date_details: DateDetails | None = None
    doc_num: str | None = None
    """`DocNum` of a contract."""
    uo_guid: str | None = None
    """The `UOGUID` asked for, when the document was found by organisation and house (the
    answer itself does not name the organisation)."""


@dataclass(frozen=True, slots=True)
class CAChObjectStatus:
    """`ContractObject` of `exportStatusCAChData`."""

    fias_house_guid: str
    managed_object_status: str
    version_guid: str | None


@dataclass(frozen=True, slots=True)
class CAChStatus:
    """`exportStatusCAChResult`: the status of one contract or charter."""

    kind: str
    """``contract`` or ``charter``."""
    guid: str
    version_guid: str
    status: str
    state: str | None
    """`State`: Running, NotRunning or Expired."""
    version_number: int
    objects: tuple[CAChObjectStatus, ...]


@dataclass(frozen=True, slots=True)
class NsiItem:
    """One element of a common NSI directory (`exportNsiItem`)."""

    registry: int
    code: str
    guid: str
    is_actual: bool
    modified: datetime | None
    fields: tuple[tuple[str, str], ...]
    """(Name, value) of the element's simple fields, in order."""


@dataclass(frozen=True, slots=True)
class GuestGrantRecord:
    """An owner-to-tenant guest access grant.

    From domchat's *provisional* grants service (no official operation exists in package
    14.4.0.1) or from a file the authority imports (`grants import`).
    """

    grant_id: str
    fias_house_guid: str
    premises: str
    person_ref: str
    valid_from: date
    valid_to: date | None
    status: str
    """``active``, ``revoked`` or ``expired``."""


@dataclass(frozen=True, slots=True)
class VotingMessage:
    """`exportVotingMessageResultType`: the announcement of an owners' general meeting (ОСС)."""

    message_guid: str
    status: str
    """`MessageStatus`: Posted, Goes, Finished, MeetingCancelled or Cancelled."""
    fias_house_guids: tuple[str, ...]
    number: str | None
    message_date: date
    annual: bool
    """`AnnualVoting` (True) or `ExtraVoting` (False)."""
    form: str
    """The form's element: ``AVoting`` (absentee), ``Meeting`` (in person), ``MeetingAVoting``
    (both) or ``EVoting`` (absentee through an information system)."""
    decisions_from: date | None
    """`AVotingStartDate`, or the day of `EVotingDateBegin`."""
    decisions_until: date | None
    """`AVotingEndDate` (inclusive), or the day of `EVotingDateEnd`."""
    meeting_at: datetime | None
    """`MeetingDate` of an in-person meeting, as sent (GIS gives no zone: building-local)."""
    meeting_place: str | None
    """`VotingPlace`."""
    resolution_place: str | None
    """`ResolutionPlace`, or the `Discipline` of an electronic vote: where and how decisions are received."""
    agenda: tuple[str, ...]
    """`DecisionList/QuestionName`, in order."""


@dataclass(frozen=True, slots=True)
class VotingProtocol:
    """`exportVotingProtocolResultType`: the protocol (outcome) of an owners' general meeting."""

    protocol_guid: str
    status: str
    """`StatusProtocol`: Created, Posted, Edited or Annuled."""
    fias_house_guids: tuple[str, ...]
    number: str | None
    protocol_date: date
    form: str
    decisions_until: date | None
    """`AVotingDate` (the last day decisions were taken), or the day of `EVotingDateEnd`."""
    meeting_at: datetime | None
    eligible: bool
    """`MeetingEligibility` C: the meeting had a quorum."""
    decisions: tuple[tuple[str, bool | None], ...]
    """(question, whether the decision was made; None when `votingResume` is absent), in order."""
