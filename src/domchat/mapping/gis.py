"""GIS ZhKH records → domain values. Pure; the rules are written down in docs/management.md."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domchat.gis_client.types import ActualLicense, HouseData, LicenseHouse, OrgRecord
from domchat.sync.model import Basis, Building, BuildingState, ManagementPeriod, Organisation, OrgKind

# Licence statuses under which the register still means something for management.
_EXCLUDED = "EXCLUDED"
_INCLUDED = "INCLUDED"


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record that could not be turned into domain values, and why (logged and audited)."""

    what: str
    ident: str
    why: str


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


def building(fias_guid: str, address: str, house: HouseData | None, default_tz: str) -> tuple[Building, bool]:
    """The building, and whether its time zone had to be assumed (no usable OlsonTZ)."""
    tz, assumed = default_tz, True
    if house is not None and house.olson_tz is not None and house.olson_tz.name:
        try:
            ZoneInfo(house.olson_tz.name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
        else:
            tz, assumed = house.olson_tz.name, False
    terminated = house is not None and house.termination_date is not None
    return (
        Building(
            fias_guid=fias_guid.lower(),
            address=" ".join(address.split()),
            tz=tz,
            oktmo=house.oktmo if house is not None else None,
            state=BuildingState.TERMINATED if terminated else BuildingState.ACTIVE,
        ),
        assumed,
    )


def organisation(rec: OrgRecord, kind: OrgKind = OrgKind.MANAGING_COMPANY) -> Organisation:
    return Organisation(
        ogrn=rec.ogrn,
        name=rec.short_name or rec.full_name,
        inn=rec.inn,
        kind=kind,
        root_guid=rec.org_root_entity_guid,
        ppa_guid=rec.org_ppa_guid or "",
    )
