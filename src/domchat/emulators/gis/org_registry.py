"""Organisation registry, common part (`hcs-organizations-registry-common-types.xsd`)."""

from __future__ import annotations

from typing import Any

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
from domchat.emulators.gis.licenses import legal
from domchat.emulators.gis.xmlbuild import maker

ORG_COMMON = "http://dom.gosuslugi.ru/schema/integration/organizations-registry-common/"
C = maker(ORG_COMMON, {"org-common": ORG_COMMON, "base": BASE})
_R = maker(ORG_REGISTRY_BASE)
_B = maker(BASE)


def _find(req: Request, crit: Any) -> dict[str, Any] | None:
    w = req.world
    ogrn = crit.findtext(f"{{{ORG_BASE}}}OGRN") or crit.findtext(f"{{{ORG_BASE}}}OGRNIP")
    if ogrn:
        org = w.orgs_by_ogrn.get(ogrn)
        kpp = crit.findtext(f"{{{ORG_BASE}}}KPP")
        return org if org is not None and (kpp is None or org.get("kpp") == kpp) else None
    for tag in (f"{{{ORG_REGISTRY_BASE}}}orgVersionGUID", f"{{{ORG_REGISTRY_BASE}}}orgRootEntityGUID", f"{{{ORG_COMMON}}}orgPPAGUID"):
        guid = crit.findtext(tag)
        if guid:
            return w.orgs_by_guid.get(guid.lower())
    return None


def export_org_registry(req: Request) -> Outcome:
    since = req.body.findtext(f"{{{ORG_COMMON}}}lastEditingDateFrom")
    results = []
    seen: set[str] = set()
    for crit in req.body.iterfind(f"{{{ORG_COMMON}}}SearchCriteria"):
        org = _find(req, crit)
        if org is None or org["ogrn"] in seen:
            continue
        edited = str(org.get("last_edited") or "2020-01-01")
        if since and edited < since:
            continue
        seen.add(org["ogrn"])
        role = nsi.ROLE_BY_KIND[org.get("kind", "uo")]
        results.append(
            C.exportOrgRegistryResult(
                _R.orgRootEntityGUID(org["root_guid"]),
                C.OrgVersion(
                    _R.orgVersionGUID(org["version_guid"]),
                    C.lastEditingDate(edited),
                    C.IsActual("true"),
                    legal(C, "Legal", org),
                ),
                _B.orgPPAGUID(org["ppa_guid"]),
                nsi_ref(C, "organizationRoles", nsi.ORG_ROLE, role, nsi.FIXED[nsi.ORG_ROLE][role]),
            )
        )
    return Outcome(results) if results else empty("организации по заданным критериям не найдены")


HANDLERS: dict[str, Handler] = {"exportOrgRegistry": export_org_registry}
