"""Who manages a building, and from when: management periods from the three GIS ZhKH sources.

Pure: records of `domchat.gis_client.types` in, `ManagementPeriod` values out. The sources are
the licence register (`exportActualLicenseState`), management contracts and HOA/cooperative
charters (`exportCAChData`). `docs/management.md` states every rule below with its tag (L1…,
D1…, P1…) and worked examples; `tests/mapping/test_periods.py` has a test for each tag.

All dates are building-local calendar dates; `until` is the first day a claim no longer holds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta

from domchat.domain.model import Basis, Domain, ManagementPeriod, OrgKind
from domchat.gis_client.types import ActualLicense, CAChDocument, ContractObject, LicenseHouse

__all__ = [
    "COUNTING_DOCUMENT",
    "COUNTING_OBJECT",
    "NOT_COUNTING_DOCUMENT",
    "NOT_COUNTING_OBJECT",
    "REFINE_WITHIN",
    "Skipped",
    "contract_periods",
    "derive",
    "licence_periods",
]


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record that could not be turned into domain values, and why (logged and audited)."""

    what: str
    ident: str
    why: str


# --- Licence register (L1–L3) -------------------------------------------------------------

_EXCLUDED = "EXCLUDED"
_INCLUDED = "INCLUDED"


def licence_periods(licences: Iterable[ActualLicense]) -> tuple[list[ManagementPeriod], list[Skipped]]:
    """One management period per house entry of each licensee's actual licence register."""
    periods: list[ManagementPeriod] = []
    skipped: list[Skipped] = []
    for lic in licences:
        for house in lic.houses:
            period = _licence_period(lic, house)
            if isinstance(period, Skipped):
                skipped.append(period)
            else:
                periods.append(period)
    return periods, skipped


def _licence_period(lic: ActualLicense, house: LicenseHouse) -> ManagementPeriod | Skipped:
    ident = f"{lic.licensee_ogrn}/{house.fias_house_guid}"
    status = house.status.upper()
    if house.inclusion_date is None:
        return Skipped("licence house", ident, "no InclusionDate")
    if status == _EXCLUDED and house.exclusion_date is None:
        return Skipped("licence house", ident, "EXCLUDED without ExclusionDate")
    if status not in (_INCLUDED, _EXCLUDED):
        return Skipped("licence house", ident, f"unknown LicenseHouseStatus {house.status!r}")
    until = house.exclusion_date if status == _EXCLUDED or house.exclusion_date else None
    if until is not None and until <= house.inclusion_date:
        return Skipped("licence house", ident, f"ExclusionDate {until} not after InclusionDate {house.inclusion_date}")
    sources = tuple(x for x in (house.inclusion_entry_guid, house.exclusion_entry_guid) if x)
    return ManagementPeriod(
        building=house.fias_house_guid.lower(),
        org=lic.licensee_ogrn,
        start=house.inclusion_date,
        until=until,
        basis=Basis.LICENCE,
        source_ids=sources,
    )


# --- Contracts and charters (D1–D10) ---------------------------------------------------------

COUNTING_DOCUMENT = frozenset({"approved", "terminated"})
"""`ContractStatus` / `CharterStatus` values whose objects may count (D1); Terminated needs a date (D2)."""
NOT_COUNTING_DOCUMENT = frozenset({"project", "approvalprocess", "rejected", "reviewed", "annul"})
"""Statuses that never count, silently: drafts, refusals, annulled information (D1)."""
COUNTING_OBJECT = frozenset({"approved"})
"""`StatusObject` values that count (D3)."""
NOT_COUNTING_OBJECT = frozenset({"project", "approvalprocess", "rejected", "locked", "annul"})
"""`StatusObject` values that never count, silently (D3)."""

_BASIS = {"contract": Basis.CONTRACT, "charter": Basis.CHARTER}


def contract_periods(docs: Iterable[CAChDocument], org_by_guid: Mapping[str, str]) -> tuple[list[ManagementPeriod], list[Skipped]]:
    """One period per counting object of each contract or charter (rules D1–D10).

    `org_by_guid` maps organisation GUIDs (the `UOGUID` a document was asked for, or its
    `orgPPAGUID`) to OGRNs; keys are compared without regard to case.
    """
    orgs = {k.lower(): v for k, v in org_by_guid.items()}
    copies: dict[tuple[str, str], list[CAChDocument]] = defaultdict(list)  # (GUID, version GUID) → each time it was read
    for doc in docs:
        copies[(doc.guid.lower(), doc.version_guid.lower())].append(doc)
    versions: dict[str, int] = defaultdict(int)
    for guid, _version in copies:
        versions[guid] += 1
    periods: list[ManagementPeriod] = []
    skipped: list[Skipped] = []
    for (guid, _version), same in copies.items():
        for item in _document_periods(same, orgs, versions[guid]):
            if isinstance(item, Skipped):
                skipped.append(item)
            else:
                periods.append(item)
    return periods, skipped


def _document_periods(same: list[CAChDocument], orgs: Mapping[str, str], n_versions: int) -> list[ManagementPeriod | Skipped]:
    """The periods of one document version, read once or several times (D8: repeats count once)."""
    doc = same[0]
    basis = _BASIS.get(doc.kind.lower())
    if basis is None:
        return [_skip(doc, f"unknown document kind {doc.kind!r}")]
    if n_versions > 1:  # D8
        return [_skip(doc, f"{n_versions} versions of one document in the answer; only the last may count (ask with LastVersionOnly)")]
    status = doc.status.lower()
    if status in NOT_COUNTING_DOCUMENT:  # D1
        return []
    if status not in COUNTING_DOCUMENT:
        return [_skip(doc, f"unknown status {doc.status!r}")]
    if status == "terminated" and doc.terminate_date is None:  # D2
        return [_skip(doc, "Terminated without a termination date")]
    named = {orgs[g.lower()] for d in same for g in (d.uo_guid, d.org_ppa_guid) if g and g.lower() in orgs}  # D4
    if len(named) > 1:
        return [_skip(doc, f"its organisation GUIDs name different organisations ({', '.join(sorted(named))})")]
    if not named:
        uo = ", ".join(sorted({d.uo_guid for d in same if d.uo_guid})) or "-"
        ppa = ", ".join(sorted({d.org_ppa_guid for d in same if d.org_ppa_guid})) or "-"
        return [_skip(doc, f"organisation unknown (UOGUID {uo}, orgPPAGUID {ppa})")]
    org = named.pop()
    return [_object_period(doc, obj, org, basis) for obj in doc.objects if _may_count(obj, basis)]


def _may_count(obj: ContractObject, basis: Basis) -> bool:
    """Objects passed over silently: a status that never counts (D3), and a charter object whose
    house a managing company manages under a contract (D10: the company's licence is the claim)."""
    if obj.status.lower() in NOT_COUNTING_OBJECT:
        return False
    return not (basis is Basis.CHARTER and obj.managed_by_contract)


def _object_period(doc: CAChDocument, obj: ContractObject, org: str, basis: Basis) -> ManagementPeriod | Skipped:
    what = f"{doc.kind} object"
    ident = f"{doc.guid}/{obj.fias_house_guid}"
    if obj.status.lower() not in COUNTING_OBJECT:  # D3
        why = "no StatusObject" if not obj.status else f"unknown StatusObject {obj.status!r}"
        return Skipped(what, ident, why)
    start = obj.start_date or doc.effective_date  # D5
    if start is None:
        return Skipped(what, ident, "no StartDate and no EffectiveDate")
    until = _until(doc, obj)  # D6
    if until is not None and until <= start:  # D7
        return Skipped(what, ident, f"ends ({until} exclusive) on or before it starts ({start}): never in force")
    return ManagementPeriod(
        building=obj.fias_house_guid.lower(),
        org=org,
        start=start,
        until=until,
        basis=basis,
        source_ids=tuple(x for x in (doc.version_guid, obj.version_guid) if x),  # D9
    )


def _until(doc: CAChDocument, obj: ContractObject) -> date | None:
    """D6: the earliest end any of the document's records gives; `PlanDateComptetion` is not one."""
    ends = [
        obj.end_date + timedelta(days=1) if obj.end_date else None,  # last day of services, inclusive
        obj.exclusion_date,  # first day the house is out of the document
        doc.terminate_date,  # first day the document no longer applies
    ]
    return min((d for d in ends if d is not None), default=None)


def _skip(doc: CAChDocument, why: str) -> Skipped:
    return Skipped(doc.kind, f"{doc.guid}/{doc.version_guid}", why)


# --- Precedence (P1–P5) ------------------------------------------------------------------

REFINE_WITHIN = timedelta(days=92)
"""A document object moves a licence start only to a day at most this far after the inclusion
(P2): further on it belongs to a later contract (a renewal), not to the one behind the inclusion."""

_SELF_MANAGED = frozenset({OrgKind.HOA, OrgKind.HOUSING_COOP})


def derive(
    licence: list[ManagementPeriod], documents: list[ManagementPeriod], org_kinds: Mapping[str, OrgKind]
) -> dict[str, tuple[ManagementPeriod, ...]]:
    """The management periods of each building, from licence and document periods (P1–P5).

    `licence` comes from `licence_periods`, `documents` from `contract_periods`; `org_kinds`
    gives each organisation's kind by OGRN (an organisation not listed is treated as a
    licensed managing company). Periods of two organisations covering the same day are both
    kept: `manager_on` reports that day as a conflict.
    """
    lic: dict[tuple[str, str], list[ManagementPeriod]] = defaultdict(list)
    docs: dict[tuple[str, str], list[ManagementPeriod]] = defaultdict(list)
    for p in licence:
        lic[(p.building, p.org)].append(p)
    for p in documents:
        docs[(p.building, p.org)].append(p)
    out: dict[str, set[ManagementPeriod]] = defaultdict(set)
    for building, org in sorted(lic.keys() | docs.keys()):
        own = docs.get((building, org), [])
        for p in lic.get((building, org), []):  # P1, P2
            out[building].add(_refine(p, own))
        if org_kinds.get(org, OrgKind.MANAGING_COMPANY) in _SELF_MANAGED:  # P3
            out[building].update(p for p in own if p.basis is Basis.CHARTER)
    return {b: tuple(sorted(ps, key=_order)) for b, ps in sorted(out.items()) if ps}  # P4, P5


def _refine(p: ManagementPeriod, own: list[ManagementPeriod]) -> ManagementPeriod:
    """P2: the licence period, its start moved to the first day a document of the same
    organisation covers when no such document covers the inclusion day itself."""
    overlapping = [d for d in own if _overlaps(d, p)]
    if not overlapping or any(d.covers(p.start) for d in overlapping):
        return p
    start = min(d.start for d in overlapping)
    if start - p.start > REFINE_WITHIN:
        return p
    refining = sorted({s for d in overlapping if d.start == start for s in d.source_ids})
    return replace(p, start=start, source_ids=(*p.source_ids, *(s for s in refining if s not in p.source_ids)))


def _overlaps(a: ManagementPeriod, b: ManagementPeriod) -> bool:
    return (b.until is None or a.start < b.until) and (a.until is None or b.start < a.until)


def _order(p: ManagementPeriod) -> tuple[date, str, date, str, tuple[str, ...]]:
    return (p.start, p.org, p.until or date.max, p.basis.value, p.source_ids)


def effective(domain: Domain) -> Domain:
    """The domain with its stored claims (licence, contract, charter) turned into the
    management periods the planner acts on (`derive`)."""
    licence = [p for ps in domain.periods.values() for p in ps if p.basis is Basis.LICENCE]
    documents = [p for ps in domain.periods.values() for p in ps if p.basis is not Basis.LICENCE]
    kinds = {o.ogrn: o.kind for o in domain.organisations.values()}
    return replace(domain, periods=derive(licence, documents, kinds))
