"""The world, indexed the ways the GIS ZhKH services look things up.

The index holds references into the loaded world (no copies), so its cost is a few dict
entries per building and organisation.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Managed:
    """One management entry of one building."""

    building: dict[str, Any]
    entry: dict[str, Any]


class WorldIndex:
    def __init__(self, world: dict[str, Any]) -> None:
        self.world = world
        self.authority: dict[str, Any] = world["authority"]
        self.region: str = world["region"]["code"]
        self.region_name: str = world["region"].get("name", "")
        self.region_fias_guid: str | None = world["region"].get("fias_guid")
        self.today: str = world.get("today") or date.today().isoformat()
        """The day the world calls today (the generator's), else the real date: what "current" means."""
        self.by_fias: dict[str, dict[str, Any]] = {}
        self.by_hcs: dict[str, dict[str, Any]] = {}
        self.orgs_by_ogrn: dict[str, dict[str, Any]] = {}
        self.orgs_by_guid: dict[str, dict[str, Any]] = {}
        """Organisations by any of their GUIDs: root, version, PPA."""
        self.managed_by: dict[str, list[Managed]] = defaultdict(list)
        """Management entries by the OGRN of the managing organisation."""
        self.documents: dict[str, Managed] = {}
        """Contracts and charters by their GUID and version GUID."""
        for org in world["organisations"]:
            self.orgs_by_ogrn[org["ogrn"]] = org
            for key in ("root_guid", "version_guid", "ppa_guid"):
                self.orgs_by_guid[org[key].lower()] = org
        for b in world["buildings"]:
            self.by_fias[b["fias_guid"].lower()] = b
            self.by_hcs[b["hcs_guid"].lower()] = b
            for entry in b["management"]:
                m = Managed(b, entry)
                self.managed_by[entry["ogrn"]].append(m)
                doc = entry.get("document")
                if doc:
                    self.documents[doc["guid"].lower()] = m
                    self.documents[doc["version_guid"].lower()] = m

    def current(self, building: dict[str, Any]) -> dict[str, Any] | None:
        """The management entry of a building in force `today`, if any."""
        return next((e for e in building["management"] if e["start"] <= self.today and (not e.get("end") or self.today < e["end"])), None)

    def house(self, guid: str) -> dict[str, Any] | None:
        """A building by its FIAS or GIS ZhKH house GUID."""
        g = guid.lower()
        return self.by_fias.get(g) or self.by_hcs.get(g)

    def requester(self, ppa_guid: str | None) -> dict[str, Any] | None:
        """The authority or organisation registered under `ppa_guid`; None when unknown."""
        if ppa_guid is None:
            return None
        if ppa_guid.lower() == self.authority["ppa_guid"].lower():
            return self.authority
        return self.orgs_by_guid.get(ppa_guid.lower())

    def may_read(self, requester: dict[str, Any] | None, building: dict[str, Any]) -> bool:
        """Whether GIS ZhKH lets `requester` read the building (else AUT011003).

        The authority reads every building of its region except those the world marks
        `access_denied`; an organisation reads the buildings it manages or managed. An
        information system (ISRequestHeader, `requester` None) is not asked this question.
        """
        if requester is None or requester is self.authority:
            return not building.get("access_denied", False)
        return any(e["ogrn"] == requester["ogrn"] for e in building["management"])
