"""domchat's PROVISIONAL guest-access service (no official operation exists in 14.4.0.1).

Its contract (WSDL + XSD) lives with the client in `domchat/gis_client/provisional/`; the
emulator reads those files like the official ones and shares no code with the client.
"""

from __future__ import annotations

from typing import Any

from domchat.emulators.gis.answers import Handler, Outcome, Request, denied, empty
from domchat.emulators.gis.contract import BASE
from domchat.emulators.gis.xmlbuild import maker

GA = "urn:x-domchat:integration:guest-access-provisional:0.1"
G = maker(GA, {"ga": GA, "base": BASE})


def export_guest_access(req: Request) -> Outcome:
    w = req.world
    asked = [(x.text or "").strip() for x in req.body.iterfind(f"{{{GA}}}FIASHouseGuid")]
    if asked:
        buildings = []
        for guid in asked:
            b = w.house(guid)
            if b is None:
                continue
            if not w.may_read(req.requester, b):
                return denied(b, req.requester)
            buildings.append(b)
    else:
        buildings = [b for b in w.world["buildings"] if w.may_read(req.requester, b)]
    results = [_grant(b, g) for b in buildings for g in b.get("guest_grants", [])]
    return Outcome(results) if results else empty("разрешения на гостевой доступ не найдены")


def _grant(b: dict[str, Any], g: dict[str, Any]) -> Any:
    el = G.exportGuestAccessResult(
        G.GrantGUID(g["grant_id"]),
        G.FIASHouseGuid(b["fias_guid"]),
        G.Premises(g["premises"]),
        G.PersonRef(g["person_ref"]),
        G.ValidFrom(g["valid_from"]),
    )
    if g.get("valid_to"):
        el.append(G.ValidTo(g["valid_to"]))
    el.append(G.Status(g["status"].capitalize()))
    return el


HANDLERS: dict[str, Handler] = {"exportGuestAccess": export_guest_access}
