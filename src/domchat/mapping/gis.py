"""GIS ZhKH records → domain values. Pure.

Management periods live in `periods.py` (rules in docs/management.md); `licence_periods` and
`Skipped` are re-exported here for the pull.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domchat.domain.model import Building, BuildingState, Organisation, OrgKind
from domchat.gis_client.types import HouseData, OrgRecord
from domchat.mapping.periods import Skipped, licence_periods

__all__ = ["Skipped", "building", "licence_periods", "organisation"]


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
