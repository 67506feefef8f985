"""Management periods from the licence register, contracts and charters (mapping/periods.py).

One test (or more) per rule tag and per worked example of docs/management.md: a test named
`test_<tag>_…` checks rule or example <tag>, and `test_the_doc_and_the_tests_name_the_same_rules`
keeps the two lists equal. DTOs are built directly; nothing here touches the network.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domchat.domain import reasons
from domchat.domain.actions import GrantAdmin, PinCard, RemoveMember, RevokeAdmin
from domchat.domain.model import ActualChat, Basis, Building, Conflict, ManagementPeriod, Manager, OrgKind, boundaries, manager_on
from domchat.domain.plan import plan
from domchat.gis_client.types import ActualLicense, CAChDocument, ContractObject, LicenseHouse
from domchat.mapping import gis as gismap
from domchat.mapping.periods import REFINE_WITHIN, Skipped, contract_periods, derive, licence_periods
from domchat.sync.executor import _lateness
from support.domain import B1, CHAT, ORG_A, ORG_B, POLICY, STAFF_A, STAFF_B, TEMPLATES, apply, domain, fresh_chat

DOC = Path(__file__).resolve().parents[2] / "docs" / "management.md"

HOA = "1028600000003"
GUID_A = "AAAAAAAA-0000-4000-8000-00000000000A"  # upper case on purpose: GUIDs compare without case
GUID_B = "bbbbbbbb-0000-4000-8000-00000000000b"
GUID_HOA = "cccccccc-0000-4000-8000-00000000000c"
ORGS = {GUID_A: ORG_A, GUID_B: ORG_B, GUID_HOA: HOA}
KINDS = {ORG_A: OrgKind.MANAGING_COMPANY, ORG_B: OrgKind.MANAGING_COMPANY, HOA: OrgKind.HOA}
D = date.fromisoformat

EN = reasons.load("en")  # reasons are stored as keys; the docs quote them in English


# --- builders ------------------------------------------------------------------------------


def entry(start: str | None, excluded: str | None = None, status: str | None = None, fias: str = B1, guid: str = "") -> LicenseHouse:
    return LicenseHouse(
        fias_house_guid=fias,
        house_address="г. Сургут, ул. Мира, д. 1",
        status=status or ("EXCLUDED" if excluded else "INCLUDED"),
        inclusion_date=D(start) if start else None,
        exclusion_date=D(excluded) if excluded else None,
        inclusion_entry_guid=f"incl-{guid or start}",
        exclusion_entry_guid=f"excl-{guid or excluded}" if excluded else None,
    )


def licence(ogrn: str, *houses: LicenseHouse) -> ActualLicense:
    return ActualLicense(f"lic-{ogrn}", f"086-{ogrn[-3:]}", "ACTIVE", ogrn, "86", houses)


def obj(
    start: str | None,
    end: str | None = None,
    status: str = "Approved",
    excluded: str | None = None,
    fias: str = B1,
    version: str = "o1",
    by_contract: bool = False,
) -> ContractObject:
    return ContractObject(
        fias_house_guid=fias,
        start_date=D(start) if start else None,
        end_date=D(end) if end else None,
        status=status,
        exclusion_date=D(excluded) if excluded else None,
        version_guid=version,
        managed_by_contract=by_contract,
    )


def doc(
    org_guid: str | None,
    *objects: ContractObject,
    kind: str = "contract",
    status: str = "Approved",
    terminated: str | None = None,
    effective: str | None = None,
    plan_end: str | None = None,
    signed: str | None = None,
    guid: str = "d1",
    version: str = "v1",
    ppa: str | None = None,
) -> CAChDocument:
    return CAChDocument(
        kind=kind,
        guid=guid,
        version_guid=version,
        status=status,
        org_ppa_guid=ppa,
        signing_date=D(signed) if signed else None,
        effective_date=D(effective) if effective else None,
        plan_date_completion=D(plan_end) if plan_end else None,
        terminate_date=D(terminated) if terminated else None,
        objects=objects,
        uo_guid=org_guid,
    )


def periods_of(
    licences: list[ActualLicense], docs: list[CAChDocument], kinds: dict[str, OrgKind] | None = None
) -> tuple[ManagementPeriod, ...]:
    """The derived periods of building B1, asserting nothing was skipped."""
    lic, lic_skipped = licence_periods(licences)
    con, con_skipped = contract_periods(docs, ORGS)
    assert lic_skipped == [] and con_skipped == []
    return derive(lic, con, KINDS if kinds is None else kinds).get(B1, ())


def spans(periods: tuple[ManagementPeriod, ...]) -> list[tuple[str, str, str | None, str]]:
    return [(p.org, p.start.isoformat(), p.until.isoformat() if p.until else None, p.basis.value) for p in periods]


def who(periods: tuple[ManagementPeriod, ...], day: str) -> str | tuple[str, ...] | None:
    """The manager's OGRN on a day, the conflicting OGRNs, or None."""
    m = manager_on(periods, D(day))
    if isinstance(m, Conflict):
        return m.orgs
    return m.org if isinstance(m, Manager) else None


def days(first: str, last: str) -> list[str]:
    a, b = D(first), D(last)
    return [(a + timedelta(days=i)).isoformat() for i in range((b - a).days + 1)]


def one(docs: list[CAChDocument]) -> ManagementPeriod:
    periods, skipped = contract_periods(docs, ORGS)
    assert skipped == [] and len(periods) == 1
    return periods[0]


def skipped_why(docs: list[CAChDocument]) -> list[str]:
    periods, skipped = contract_periods(docs, ORGS)
    assert periods == []
    return [s.why for s in skipped]


# --- licence register ------------------------------------------------------------------------


def test_l1_one_period_per_house_entry() -> None:
    other = "22222222-2222-4222-8222-222222222222"
    periods, skipped = licence_periods([licence(ORG_A, entry("2019-03-01"), entry("2020-01-01", fias=other.upper()))])
    assert skipped == []
    assert [(p.building, p.org, p.start, p.basis) for p in periods] == [
        (B1, ORG_A, D("2019-03-01"), Basis.LICENCE),
        (other, ORG_A, D("2020-01-01"), Basis.LICENCE),
    ]
    assert periods[0].source_ids == ("incl-2019-03-01",)


def test_l2_exclusion_date_is_the_first_day_without() -> None:
    periods, _ = licence_periods(
        [licence(ORG_A, entry("2019-03-01"), entry("2019-03-01", "2026-12-01"), entry("2019-03-01", "2027-01-01", status="INCLUDED"))]
    )
    assert [p.until for p in periods] == [None, D("2026-12-01"), D("2027-01-01")]
    assert periods[1].source_ids == ("incl-2019-03-01", "excl-2026-12-01")
    assert periods[1].covers(D("2026-11-30")) and not periods[1].covers(D("2026-12-01"))


@pytest.mark.parametrize(
    ("house", "why"),
    [
        (entry(None), "no InclusionDate"),
        (entry("2019-03-01", status="EXCLUDED"), "EXCLUDED without ExclusionDate"),
        (entry("2019-03-01", status="SUSPENDED"), "unknown LicenseHouseStatus 'SUSPENDED'"),
        (entry("2026-12-01", "2026-12-01"), "ExclusionDate 2026-12-01 not after InclusionDate 2026-12-01"),
    ],
)
def test_l3_unusable_entries_are_skipped(house: LicenseHouse, why: str) -> None:
    periods, skipped = licence_periods([licence(ORG_A, house)])
    assert periods == [] and [s.why for s in skipped] == [why]


def test_licence_periods_and_skipped_are_still_importable_from_mapping_gis() -> None:
    assert gismap.licence_periods is licence_periods and gismap.Skipped is Skipped


# --- contracts and charters ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["contract", "charter"])
@pytest.mark.parametrize(
    ("status", "counts"),
    [
        ("Approved", True),
        ("Terminated", True),
        ("Project", False),
        ("ApprovalProcess", False),
        ("Rejected", False),
        ("Reviewed", False),
        ("Annul", False),
    ],
)
def test_d1_only_approved_or_terminated_documents_count(kind: str, status: str, counts: bool) -> None:
    terminated = "2027-01-01" if status == "Terminated" else None
    periods, skipped = contract_periods([doc(GUID_B, obj("2026-12-01"), kind=kind, status=status, terminated=terminated)], ORGS)
    assert skipped == []  # not counting is normal, not an error
    assert len(periods) == (1 if counts else 0)


def test_d1_an_unknown_document_status_is_skipped() -> None:
    assert skipped_why([doc(GUID_B, obj("2026-12-01"), status="Frozen")]) == ["unknown status 'Frozen'"]


def test_d2_terminated_without_a_date_is_skipped() -> None:
    assert skipped_why([doc(GUID_B, obj("2026-12-01"), status="Terminated")]) == ["Terminated without a termination date"]


@pytest.mark.parametrize(
    ("status", "counts"),
    [("Approved", True), ("Project", False), ("ApprovalProcess", False), ("Rejected", False), ("Locked", False), ("Annul", False)],
)
def test_d3_only_approved_objects_count(status: str, counts: bool) -> None:
    periods, skipped = contract_periods([doc(GUID_B, obj("2026-12-01", status=status))], ORGS)
    assert skipped == [] and len(periods) == (1 if counts else 0)


@pytest.mark.parametrize(("status", "why"), [("", "no StatusObject"), ("Blocked", "unknown StatusObject 'Blocked'")])
def test_d3_a_missing_or_unknown_object_status_is_skipped(status: str, why: str) -> None:
    assert skipped_why([doc(GUID_B, obj("2026-12-01", status=status))]) == [why]


def test_d4_the_organisation_comes_from_uo_guid_or_org_ppa_guid() -> None:
    assert one([doc(GUID_A.lower(), obj("2026-12-01"))]).org == ORG_A
    assert one([doc(None, obj("2026-12-01"), ppa=GUID_B.upper())]).org == ORG_B
    assert one([doc(GUID_B, obj("2026-12-01"), ppa="not-known")]).org == ORG_B
    assert skipped_why([doc("dddddddd-0000-4000-8000-00000000000d", obj("2026-12-01"))]) == [
        "organisation unknown (UOGUID dddddddd-0000-4000-8000-00000000000d, orgPPAGUID -)"
    ]
    assert skipped_why([doc(None, obj("2026-12-01"))]) == ["organisation unknown (UOGUID -, orgPPAGUID -)"]
    assert skipped_why([doc(GUID_A, obj("2026-12-01"), ppa=GUID_B)]) == [
        f"its organisation GUIDs name different organisations ({ORG_A}, {ORG_B})"
    ]
    # The same document version read for two organisations.
    assert skipped_why([doc(GUID_A, obj("2026-12-01")), doc(GUID_B, obj("2026-12-01"))]) == [
        f"its organisation GUIDs name different organisations ({ORG_A}, {ORG_B})"
    ]
    # A not-counting document is passed over before its organisation is looked up.
    assert contract_periods([doc("unknown", obj("2026-12-01"), status="Project")], ORGS) == ([], [])


def test_d5_start_is_the_object_start_else_the_effective_date() -> None:
    assert one([doc(GUID_B, obj("2026-12-01"), effective="2026-11-15")]).start == D("2026-12-01")
    assert one([doc(GUID_B, obj(None), effective="2026-11-15")]).start == D("2026-11-15")
    periods, skipped = contract_periods([doc(GUID_B, obj(None))], ORGS)
    assert periods == [] and [(s.what, s.why) for s in skipped] == [("contract object", "no StartDate and no EffectiveDate")]
    # A charter's Date (the HOA's registration) is not a start of management.
    periods, skipped = contract_periods([doc(GUID_HOA, obj(None), kind="charter", signed="2010-05-05")], ORGS)
    assert periods == [] and [s.why for s in skipped] == ["no StartDate and no EffectiveDate"]


@pytest.mark.parametrize(
    ("end", "excluded", "terminated", "until"),
    [
        (None, None, None, None),
        ("2027-02-28", None, None, "2027-03-01"),  # EndDate is the last day of services
        (None, "2027-03-01", None, "2027-03-01"),  # DateExclusion is the first day out
        (None, None, "2027-03-01", "2027-03-01"),  # the termination date is the first day without
        ("2027-05-31", "2027-04-01", "2027-03-01", "2027-03-01"),  # the earliest wins
        ("2027-02-27", "2027-04-01", "2027-03-01", "2027-02-28"),
    ],
)
def test_d6_until_is_the_earliest_end_and_never_the_planned_completion(
    end: str | None, excluded: str | None, terminated: str | None, until: str | None
) -> None:
    status = "Terminated" if terminated else "Approved"
    p = one([doc(GUID_B, obj("2026-12-01", end=end, excluded=excluded), status=status, terminated=terminated, plan_end="2027-01-15")])
    assert p.until == (D(until) if until else None)


def test_d6_an_approved_document_with_a_termination_date_ends_then() -> None:
    assert one([doc(GUID_B, obj("2026-12-01"), terminated="2027-03-01")]).until == D("2027-03-01")


@pytest.mark.parametrize(
    ("end", "terminated"),
    [("2026-11-30", None), (None, "2026-12-01"), (None, "2026-11-25")],
)
def test_d7_an_object_ending_on_or_before_its_start_is_skipped(end: str | None, terminated: str | None) -> None:
    status = "Terminated" if terminated else "Approved"
    why = skipped_why([doc(GUID_B, obj("2026-12-01", end=end), status=status, terminated=terminated)])
    assert len(why) == 1 and why[0].endswith("on or before it starts (2026-12-01): never in force")


def test_d8_repeats_count_once_and_several_versions_are_skipped() -> None:
    first = doc(GUID_B, obj("2026-12-01"))
    assert len(contract_periods([first, first, replace(first, guid="D1", version_guid="V1")], ORGS)[0]) == 1
    # A repeat read without its organisation (asked with another house) is the same document.
    assert one([first, replace(first, uo_guid=None)]).org == ORG_B
    newer = replace(first, version_guid="v2", status="Terminated", terminate_date=D("2027-01-01"))
    periods, skipped = contract_periods([first, newer], ORGS)
    assert periods == [] and len(skipped) == 2
    assert all(s.why.startswith("2 versions of one document in the answer") for s in skipped)


def test_d9_basis_sources_and_building() -> None:
    upper = B1.upper()
    c = one([doc(GUID_B, obj("2026-12-01", fias=upper, version="obj-v7"), version="doc-v3")])
    h = one([doc(GUID_HOA, obj("2026-12-01"), kind="charter")])
    assert (c.basis, c.source_ids, c.building) == (Basis.CONTRACT, ("doc-v3", "obj-v7"), B1)
    assert h.basis is Basis.CHARTER
    periods, skipped = contract_periods([doc(GUID_B, obj("2026-12-01"), kind="agreement")], ORGS)
    assert periods == [] and [s.why for s in skipped] == ["unknown document kind 'agreement'"]


def test_d9_one_period_per_counting_object() -> None:
    other = "22222222-2222-4222-8222-222222222222"
    periods, skipped = contract_periods(
        [doc(GUID_B, obj("2026-12-01"), obj("2027-01-01", fias=other, version="o2"), obj("2026-12-01", status="Annul", version="o3"))],
        ORGS,
    )
    assert skipped == [] and sorted((p.building, p.start) for p in periods) == [(B1, D("2026-12-01")), (other, D("2027-01-01"))]


def test_d10_a_charter_object_managed_under_a_contract_is_no_claim_of_the_hoa() -> None:
    other = "22222222-2222-4222-8222-222222222222"
    charter = doc(GUID_HOA, obj("2027-02-01", by_contract=True), obj("2027-02-01", fias=other, version="o2"), kind="charter")
    periods, skipped = contract_periods([charter], ORGS)
    assert skipped == []  # normal, not an error
    assert [(p.building, p.org, p.basis) for p in periods] == [(other, HOA, Basis.CHARTER)]  # the other object still counts
    # The managing company's licence is the claim, refined by its contract as usual, with no conflict.
    lic = [licence(ORG_A, entry("2019-03-01", "2027-02-01")), licence(ORG_B, entry("2027-01-20"))]
    ps = periods_of(lic, [charter, doc(GUID_B, obj("2027-02-01"), guid="d2")])
    assert spans(ps) == [(ORG_A, "2019-03-01", "2027-02-01", "licence"), (ORG_B, "2027-02-01", None, "licence")]
    assert who(ps, "2027-02-01") == ORG_B
    # Without the flag the same charter is the HOA's claim, and the HOA and the company conflict.
    unflagged = doc(GUID_HOA, obj("2027-02-01"), kind="charter")
    assert who(periods_of(lic, [unflagged, doc(GUID_B, obj("2027-02-01"), guid="d2")]), "2027-02-01") == (ORG_B, HOA)
    # A contract object never carries the flag in GIS; if one did, it would change nothing.
    assert one([doc(GUID_B, obj("2027-02-01", by_contract=True))]).basis is Basis.CONTRACT


# --- precedence --------------------------------------------------------------------------------


def test_p1_a_licence_entry_is_a_claim_whatever_the_kind() -> None:
    hoa_licence = periods_of([licence(HOA, entry("2020-01-01"))], [])
    unknown_kind = periods_of([licence(ORG_A, entry("2020-01-01"))], [], kinds={})
    assert spans(hoa_licence) == [(HOA, "2020-01-01", None, "licence")]
    assert spans(unknown_kind) == [(ORG_A, "2020-01-01", None, "licence")]


def test_p2_a_contract_alone_never_makes_a_licensed_manager() -> None:
    assert periods_of([], [doc(GUID_B, obj("2026-12-01"))]) == ()
    assert periods_of([], [doc(GUID_B, obj("2026-12-01"), kind="charter")]) == ()
    assert periods_of([], [doc(GUID_B, obj("2026-12-01"))], kinds={}) == ()  # unknown kind: licensed


def test_p2_a_contract_refines_the_start_within_the_licence_period() -> None:
    ps = periods_of([licence(ORG_B, entry("2026-11-20"))], [doc(GUID_B, obj("2026-12-01", version="obj-b"), version="doc-b")])
    assert spans(ps) == [(ORG_B, "2026-12-01", None, "licence")]
    assert ps[0].source_ids == ("incl-2026-11-20", "doc-b", "obj-b")


def test_p2_the_licence_keeps_its_start_when_a_document_covers_the_inclusion_day() -> None:
    ps = periods_of([licence(ORG_B, entry("2026-11-20"))], [doc(GUID_B, obj("2026-01-01")), doc(GUID_B, obj("2026-12-01"), guid="d2")])
    assert spans(ps) == [(ORG_B, "2026-11-20", None, "licence")] and ps[0].source_ids == ("incl-2026-11-20",)


def test_p2_the_licence_decides_the_end_and_bounds_the_start() -> None:
    # The contract starts before the inclusion and runs past the exclusion: the register wins both ways.
    ps = periods_of([licence(ORG_B, entry("2026-11-20", "2027-03-01"))], [doc(GUID_B, obj("2026-10-01", end="2027-12-31"))])
    assert spans(ps) == [(ORG_B, "2026-11-20", "2027-03-01", "licence")]
    # The contract ends before the exclusion: the register still decides the end.
    ps = periods_of([licence(ORG_B, entry("2026-11-20"))], [doc(GUID_B, obj("2026-12-01", end="2027-01-31"))])
    assert spans(ps) == [(ORG_B, "2026-12-01", None, "licence")]


def test_p2_documents_outside_the_licence_period_or_too_late_do_not_refine() -> None:
    lic = [licence(ORG_B, entry("2026-01-01", "2026-06-01"))]
    assert spans(periods_of(lic, [doc(GUID_B, obj("2026-06-01"))])) == [(ORG_B, "2026-01-01", "2026-06-01", "licence")]
    lic = [licence(ORG_B, entry("2026-01-01"))]
    within = (D("2026-01-01") + REFINE_WITHIN).isoformat()
    beyond = (D("2026-01-01") + REFINE_WITHIN + timedelta(days=1)).isoformat()
    assert REFINE_WITHIN.days == 92  # the doc says so
    assert spans(periods_of(lic, [doc(GUID_B, obj(within))])) == [(ORG_B, within, None, "licence")]
    # A renewal long after the inclusion (its predecessor not read) never takes today away.
    assert spans(periods_of(lic, [doc(GUID_B, obj(beyond))])) == [(ORG_B, "2026-01-01", None, "licence")]


def test_p2_documents_of_another_organisation_do_not_refine() -> None:
    ps = periods_of([licence(ORG_B, entry("2026-11-20"))], [doc(GUID_A, obj("2026-12-01"))])
    assert spans(ps) == [(ORG_B, "2026-11-20", None, "licence")]


def test_p3_an_hoa_manages_through_its_charter_and_not_through_contracts() -> None:
    ps = periods_of([], [doc(GUID_HOA, obj("2027-02-01"), kind="charter"), doc(GUID_HOA, obj("2026-01-01"), guid="d2")])
    assert spans(ps) == [(HOA, "2027-02-01", None, "charter")]
    coop = periods_of([], [doc(GUID_HOA, obj("2027-02-01"), kind="charter")], kinds={HOA: OrgKind.HOUSING_COOP})
    assert spans(coop) == [(HOA, "2027-02-01", None, "charter")]


def test_p4_same_organisation_claims_never_conflict() -> None:
    ps = periods_of(
        [licence(ORG_B, entry("2026-11-20"), entry("2026-12-01", guid="second"))],
        [doc(GUID_B, obj("2026-12-01")), doc(GUID_B, obj("2026-12-01"), kind="charter", guid="d2")],
    )
    assert all(who(ps, d) == ORG_B for d in days("2026-12-01", "2027-01-31"))


def test_p4_two_organisations_on_the_same_day_are_kept_and_conflict() -> None:
    ps = periods_of([licence(ORG_A, entry("2019-03-01"))], [doc(GUID_HOA, obj("2026-12-01"), kind="charter")])
    assert spans(ps) == [(ORG_A, "2019-03-01", None, "licence"), (HOA, "2026-12-01", None, "charter")]
    assert who(ps, "2026-11-30") == ORG_A and who(ps, "2026-12-01") == (ORG_A, HOA)


def test_p5_sorted_by_start_and_identical_periods_once() -> None:
    lic, _ = licence_periods([licence(ORG_B, entry("2026-11-20")), licence(ORG_A, entry("2019-03-01", "2026-12-01"))])
    out = derive([*lic, *lic], [], KINDS)
    assert spans(out[B1]) == [(ORG_A, "2019-03-01", "2026-12-01", "licence"), (ORG_B, "2026-11-20", None, "licence")]
    assert list(derive([], [], KINDS)) == []
    # A building with documents but no claim is not in the result at all.
    con, _ = contract_periods([doc(GUID_B, obj("2026-12-01")), doc(GUID_HOA, obj("2026-12-01"), guid="d2")], ORGS)
    assert derive([], con, KINDS) == {}


def test_t1_a_period_starts_at_local_midnight() -> None:
    b = Building(B1, "г. Сургут, ул. Мира, д. 1", "Asia/Yekaterinburg")
    ps = periods_of([licence(ORG_A, entry("2019-03-01", "2026-12-01")), licence(ORG_B, entry("2026-12-01"))], [])
    midnight = b.local_midnight(D("2026-12-01"))
    assert midnight == datetime(2026, 11, 30, 19, 0, tzinfo=UTC)
    assert who(ps, b.local_date(midnight - timedelta(microseconds=1)).isoformat()) == ORG_A
    assert who(ps, b.local_date(midnight).isoformat()) == ORG_B


# --- worked examples -------------------------------------------------------------------------


def _e1_records(with_contract: bool = True) -> tuple[list[ActualLicense], list[CAChDocument]]:
    lic = [licence(ORG_A, entry("2019-03-01", "2026-12-01")), licence(ORG_B, entry("2026-11-20"))]
    contract = doc(GUID_B, obj("2026-12-01"), signed="2026-11-10", effective="2026-12-01", plan_end="2031-11-30")
    return lic, [replace(contract, doc_num="12/2026")] if with_contract else []


def _settled(periods: tuple[ManagementPeriod, ...], at: datetime) -> ActualChat:
    d = domain(periods)
    return apply(fresh_chat(), plan(d, {CHAT: fresh_chat()}, at, POLICY, TEMPLATES).actions)


def test_e1_a_normal_change_of_manager_from_1_december() -> None:
    ps = periods_of(*_e1_records())
    assert spans(ps) == [(ORG_A, "2019-03-01", "2026-12-01", "licence"), (ORG_B, "2026-12-01", None, "licence")]
    assert all(who(ps, d) == ORG_A for d in days("2026-11-20", "2026-11-30"))
    assert who(ps, "2026-12-01") == ORG_B

    d = domain(ps)
    before, at = datetime(2026, 11, 30, 18, 59, 59, tzinfo=UTC), datetime(2026, 11, 30, 19, 0, tzinfo=UTC)
    chat = _settled(ps, before)
    assert plan(d, {CHAT: chat}, before, POLICY, TEMPLATES).next_change == at  # the daemon wakes at local midnight
    switch = plan(d, {CHAT: chat}, at, POLICY, TEMPLATES).actions
    assert (
        {a.user_id for a in switch if isinstance(a, RevokeAdmin)}
        == {a.user_id for a in switch if isinstance(a, RemoveMember)}
        == set(STAFF_A)
    )
    assert {a.user_id for a in switch if isinstance(a, GrantAdmin)} == set(STAFF_B)
    assert any(isinstance(a, PinCard) for a in switch)

    # Without the contract (not read yet) 20–30 November is a conflict, never a guess.
    unrefined = periods_of(*_e1_records(with_contract=False))
    assert all(who(unrefined, d) == (ORG_A, ORG_B) for d in days("2026-11-20", "2026-11-30"))


def test_e2_a_backdated_change_is_applied_at_once_and_audited_late() -> None:
    before = periods_of([licence(ORG_A, entry("2019-03-01"))], [])
    after = periods_of(
        [licence(ORG_A, entry("2019-03-01", "2026-12-01")), licence(ORG_B, entry("2026-12-01"))], [doc(GUID_B, obj("2026-12-01"))]
    )
    now = datetime(2026, 12, 5, 5, 0, tzinfo=UTC)  # 10:00 on 5 December in Surgut
    chat = _settled(before, datetime(2026, 11, 1, tzinfo=UTC))
    assert who(after, "2026-12-05") == ORG_B
    actions = plan(domain(after), {CHAT: chat}, now, POLICY, TEMPLATES).actions
    assert {a.user_id for a in actions if isinstance(a, GrantAdmin)} == set(STAFF_B)
    assert {a.user_id for a in actions if isinstance(a, RevokeAdmin)} == set(STAFF_A)
    assert {a.due for a in actions} == {"2026-11-30T19:00:00+00:00"}
    assert EN.reason(_lateness(actions[0].due, now)) == "LATE by 4 days, 10:00:00 (due 2026-11-30T19:00:00+00:00)"


def test_e3_a_cancelled_future_change_changes_nothing() -> None:
    planned = periods_of(*_e1_records())
    assert D("2026-12-01") in boundaries(planned)

    lic = [licence(ORG_A, entry("2019-03-01")), licence(ORG_B, entry("2026-12-01", "2026-12-01"))]
    annulled = doc(GUID_B, obj("2026-12-01"), status="Annul")
    lic_periods, lic_skipped = licence_periods(lic)
    con_periods, con_skipped = contract_periods([annulled], ORGS)
    assert [s.ident for s in lic_skipped] == [f"{ORG_B}/{B1}"] and con_periods == [] and con_skipped == []
    ps = derive(lic_periods, con_periods, KINDS)[B1]
    assert spans(ps) == [(ORG_A, "2019-03-01", None, "licence")]
    assert D("2026-12-01") not in boundaries(ps)

    d = domain(ps)
    chat = _settled(planned, datetime(2026, 11, 15, tzinfo=UTC))
    assert plan(d, {CHAT: chat}, datetime(2026, 11, 25, tzinfo=UTC), POLICY, TEMPLATES).next_change is None
    assert plan(d, {CHAT: chat}, datetime(2026, 11, 30, 19, 0, 2, tzinfo=UTC), POLICY, TEMPLATES).actions == ()


def test_e4_an_hoa_takes_over_from_a_managing_company() -> None:
    charter = doc(GUID_HOA, obj("2027-02-01"), kind="charter", signed="2026-10-01")
    ps = periods_of([licence(ORG_A, entry("2019-03-01", "2027-02-01"))], [charter])
    assert spans(ps) == [(ORG_A, "2019-03-01", "2027-02-01", "licence"), (HOA, "2027-02-01", None, "charter")]
    assert who(ps, "2027-01-31") == ORG_A and who(ps, "2027-02-01") == HOA
    # The register not yet updated: a conflict from 1 February, the HOA is not assumed to win.
    lagging = periods_of([licence(ORG_A, entry("2019-03-01"))], [charter])
    assert who(lagging, "2027-01-31") == ORG_A and who(lagging, "2027-02-01") == (ORG_A, HOA)


def test_e5_a_terminated_contract() -> None:
    terminated = doc(GUID_B, obj("2026-12-01"), status="Terminated", terminated="2027-03-01")
    assert one([terminated]).until == D("2027-03-01")
    still_listed = periods_of([licence(ORG_B, entry("2026-11-20"))], [terminated])
    assert spans(still_listed) == [(ORG_B, "2026-12-01", None, "licence")] and who(still_listed, "2027-03-01") == ORG_B
    excluded = periods_of([licence(ORG_B, entry("2026-11-20", "2027-03-01"))], [terminated])
    assert spans(excluded) == [(ORG_B, "2026-12-01", "2027-03-01", "licence")] and who(excluded, "2027-03-01") is None
    hoa = periods_of([], [doc(GUID_HOA, obj("2027-02-01"), kind="charter", status="Terminated", terminated="2027-06-01")])
    assert spans(hoa) == [(HOA, "2027-02-01", "2027-06-01", "charter")]
    assert skipped_why([doc(GUID_B, obj("2026-12-01"), status="Terminated")]) == ["Terminated without a termination date"]


def test_e6_two_organisations_on_one_day_freeze_rights_until_the_data_agrees() -> None:
    contract = doc(GUID_B, obj("2026-12-01"))
    ps = periods_of([licence(ORG_A, entry("2019-03-01")), licence(ORG_B, entry("2026-12-01"))], [contract])
    conflict = manager_on(ps, D("2026-12-01"))  # what `domchat conflicts` lists
    assert isinstance(conflict, Conflict) and conflict.orgs == (ORG_A, ORG_B)
    assert [p.doc()["org"] for p in conflict.claims] == [ORG_A, ORG_B]

    now = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)
    chat = _settled(periods_of([licence(ORG_A, entry("2019-03-01"))], []), datetime(2026, 11, 1, tzinfo=UTC))
    frozen = plan(domain(ps), {CHAT: chat}, now, POLICY, TEMPLATES)
    assert len(frozen.conflicts) == 1 and frozen.conflicts[0].orgs == (ORG_A, ORG_B)
    assert not [a for a in frozen.actions if isinstance(a, (GrantAdmin, RevokeAdmin, RemoveMember, PinCard))]

    fixed = periods_of([licence(ORG_A, entry("2019-03-01", "2026-12-01")), licence(ORG_B, entry("2026-12-01"))], [contract])
    resolved = plan(domain(fixed), {CHAT: chat}, now, POLICY, TEMPLATES)
    assert resolved.conflicts == ()
    assert {a.user_id for a in resolved.actions if isinstance(a, GrantAdmin)} == set(STAFF_B)
    assert {a.user_id for a in resolved.actions if isinstance(a, RevokeAdmin)} == set(STAFF_A)
    assert EN.reason(_lateness(resolved.actions[0].due, now)).startswith("LATE by 1 day, 10:00:00")


def test_e7_the_same_change_in_two_time_zones() -> None:
    kaliningrad = Building("11111111-0000-4000-8000-000000000039", "г. Калининград, ул. Мира, д. 1", "Europe/Kaliningrad")
    kamchatka = Building("11111111-0000-4000-8000-000000000041", "г. Петропавловск-Камчатский, ул. Мира, д. 1", "Asia/Kamchatka")
    lic = []
    for b in (kaliningrad, kamchatka):
        lic += [licence(ORG_A, entry("2019-03-01", "2026-12-01", fias=b.fias_guid)), licence(ORG_B, entry("2026-12-01", fias=b.fias_guid))]
    out = derive(licence_periods(lic)[0], [], KINDS)
    assert kaliningrad.local_midnight(D("2026-12-01")) == datetime(2026, 11, 30, 22, 0, tzinfo=UTC)
    assert kamchatka.local_midnight(D("2026-12-01")) == datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    at = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    assert who(out[kamchatka.fias_guid], kamchatka.local_date(at).isoformat()) == ORG_B
    assert who(out[kaliningrad.fias_guid], kaliningrad.local_date(at).isoformat()) == ORG_A


# --- properties --------------------------------------------------------------------------------

BASE = date(2026, 1, 1)
HORIZON = 260  # days examined; dates are drawn within the first 220
# Counting statuses are drawn more often, so that most examples have claims to combine.
DOC_STATUSES = ["Approved"] * 3 + ["Terminated"] * 2 + ["Project", "ApprovalProcess", "Rejected", "Reviewed", "Annul"]
OBJECT_STATUSES = ["Approved"] * 5 + ["Project", "ApprovalProcess", "Rejected", "Locked", "Annul"]
GUID_OF = {ORG_A: GUID_A, ORG_B: GUID_B, HOA: GUID_HOA}

offsets = st.integers(min_value=0, max_value=220)
maybe = st.one_of(st.none(), st.none(), offsets)  # mostly open-ended


def _day(n: int | None) -> str | None:
    return None if n is None else (BASE + timedelta(days=n)).isoformat()


@st.composite
def records(draw: st.DrawFn, ogrn: str) -> tuple[ActualLicense, list[CAChDocument]]:
    """An organisation's licence entries on B1 and a mix of its contracts and charters.

    Document objects often start shortly after an inclusion, so that start refinement (P2),
    including its 92-day limit, is exercised as much as overlaps and conflicts are."""
    houses, inclusions = [], []
    for i in range(draw(st.integers(min_value=0, max_value=2))):
        start = draw(st.integers(min_value=0, max_value=100))
        excluded = draw(st.none() | st.integers(min_value=start + 1, max_value=start + 120))
        houses.append(entry(_day(start), _day(excluded), guid=f"{ogrn}-{i}"))
        inclusions.append(start)
    after = st.tuples(st.sampled_from(inclusions), st.integers(1, 100)).map(sum) if inclusions else offsets
    starts = st.one_of(after, after, offsets)
    docs = []
    for i in range(draw(st.integers(min_value=0, max_value=3))):
        status = draw(st.sampled_from(DOC_STATUSES))
        objects = [
            obj(
                _day(draw(starts)),
                end=_day(draw(maybe)),
                status=draw(st.sampled_from(OBJECT_STATUSES)),
                excluded=_day(draw(maybe)),
                version=f"{ogrn}-{i}-{k}",
                by_contract=draw(st.sampled_from([False] * 4 + [True])),
            )
            for k in range(draw(st.integers(min_value=1, max_value=2)))
        ]
        terminated = _day(draw(offsets if status == "Terminated" else maybe))
        kind = draw(st.sampled_from(["contract", "charter"]))
        docs.append(
            doc(GUID_OF[ogrn], *objects, kind=kind, status=status, terminated=terminated, guid=f"{ogrn}-{i}", version=f"{ogrn}-{i}-v")
        )
    return licence(ogrn, *houses), docs


kinds = st.sampled_from([OrgKind.MANAGING_COMPANY, OrgKind.HOA, OrgKind.HOUSING_COOP])


def _inputs(lics: list[ActualLicense], docs: list[CAChDocument]) -> tuple[list[ManagementPeriod], list[ManagementPeriod]]:
    return licence_periods(lics)[0], contract_periods(docs, ORGS)[0]


def _claims(org: str, kind: OrgKind, lic: list[ManagementPeriod], con: list[ManagementPeriod], day: date) -> bool:
    """Whether `org` manages on `day`, by the rules of docs/management.md applied day by day."""
    own = [p for p in con if p.org == org]
    for p in (p for p in lic if p.org == org and p.covers(day)):
        scan = (p.start + timedelta(days=i) for i in range((BASE + timedelta(days=HORIZON + 400) - p.start).days))
        first = next((x for x in scan if p.covers(x) and any(d.covers(x) for d in own)), None)
        start = p.start if first is None or first - p.start > timedelta(days=92) else first
        if start <= day:
            return True
    return kind in (OrgKind.HOA, OrgKind.HOUSING_COOP) and any(d.basis is Basis.CHARTER and d.covers(day) for d in own)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=kinds, first=records(ORG_A), second=records(ORG_A))
def test_p4_property_claims_of_one_organisation_never_conflict(
    kind: OrgKind, first: tuple[ActualLicense, list[CAChDocument]], second: tuple[ActualLicense, list[CAChDocument]]
) -> None:
    again = [replace(d, guid=d.guid + "-again", version_guid=d.version_guid + "-again") for d in second[1]]
    ps = derive(*_inputs([first[0], second[0]], [*first[1], *again]), {ORG_A: kind}).get(B1, ())
    for i in range(HORIZON):
        assert not isinstance(manager_on(ps, BASE + timedelta(days=i)), Conflict)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind_a=kinds,
    kind_b=kinds,
    a=records(ORG_A),
    b=records(ORG_B),
)
def test_p4_property_two_organisations_claiming_one_day_always_conflict(
    kind_a: OrgKind, kind_b: OrgKind, a: tuple[ActualLicense, list[CAChDocument]], b: tuple[ActualLicense, list[CAChDocument]]
) -> None:
    org_kinds = {ORG_A: kind_a, ORG_B: kind_b}
    lic, con = _inputs([a[0], b[0]], [*a[1], *b[1]])
    ps = derive(lic, con, org_kinds).get(B1, ())
    for i in range(HORIZON):
        day = BASE + timedelta(days=i)
        expected = sorted(o for o in (ORG_A, ORG_B) if _claims(o, org_kinds[o], lic, con, day))
        got = manager_on(ps, day)
        if len(expected) == 2:
            assert isinstance(got, Conflict) and got.orgs == tuple(expected)
        elif expected:
            assert isinstance(got, Manager) and got.org == expected[0]
        else:
            assert got is None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=records(ORG_A))
def test_u1_missing_documents_never_take_a_day_from_a_licensed_manager(a: tuple[ActualLicense, list[CAChDocument]]) -> None:
    lic_p, con = _inputs([a[0]], a[1])
    with_docs = derive(lic_p, con, KINDS).get(B1, ())
    without = derive(lic_p, [], KINDS).get(B1, ())
    for i in range(HORIZON):
        day = BASE + timedelta(days=i)
        if manager_on(with_docs, day) is not None:
            assert manager_on(without, day) is not None


def test_u1_a_failed_contract_answer_leaves_the_register_in_charge() -> None:
    ps = periods_of([licence(ORG_A, entry("2019-03-01"))], [])
    assert who(ps, "2026-12-01") == ORG_A


# --- the doc and the tests --------------------------------------------------------------------


def test_the_doc_and_the_tests_name_the_same_rules() -> None:
    text = DOC.read_text(encoding="utf-8")
    rules = set(re.findall(r"^- \*\*([LDPTU]\d+)\*\*", text, flags=re.MULTILINE))
    examples = set(re.findall(r"^### (E\d+) ", text, flags=re.MULTILINE))
    tested = {m.upper() for m in re.findall(r"^def test_([a-z]\d+)_", Path(__file__).read_text(encoding="utf-8"), flags=re.MULTILINE)}
    assert rules and examples
    assert tested == rules | examples
