"""Common NSI directories (`hcs-nsi-common-types.xsd`): the entries the other answers refer to.

The emulator's directories are small and fixed, except OlsonTZ, whose entries are the zones the
world's buildings use. Every `nsiRef` the other services put in an answer points at an entry
listed here, with the same code, GUID and name.
"""

from __future__ import annotations

from typing import Any

from domchat.emulators.gis.answers import NSI_BASE, Handler, Outcome, Request, empty, nsi_guid
from domchat.emulators.gis.contract import BASE
from domchat.emulators.gis.xmlbuild import maker

NSI_COMMON = "http://dom.gosuslugi.ru/schema/integration/nsi-common/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_C = maker(NSI_COMMON, {"nsi-common": NSI_COMMON, "base": BASE, "nsi-base": NSI_BASE, "xsi": XSI})
_N = maker(NSI_BASE)

ORG_ROLE = 20
HOUSE_STATE = 24
OLSON_TZ = 32
CONTRACT_BASE = 58
LICENCE_DOCUMENT_TYPE = 63
"""Document types: the licences XSD names NSI 63 for "Тип документа" (`OtherDetailsType`)."""
LICENCE_ENTRY_TYPE = 215
"""Licence register entry types ("Тип реестровой записи (НСИ 215)" in the licences XSD)."""

FIXED: dict[int, dict[str, str]] = {
    ORG_ROLE: {"1": "Управляющая организация", "19": "ТСЖ", "20": "ЖСК"},
    HOUSE_STATE: {"1": "Аварийный", "2": "Исправный", "3": "Ветхий"},
    CONTRACT_BASE: {"1": "Решение собрания собственников", "2": "Открытый конкурс органа местного самоуправления"},
    LICENCE_DOCUMENT_TYPE: {"1": "Решение о предоставлении лицензии"},
    LICENCE_ENTRY_TYPE: {"1": "Включение дома", "2": "Исключение дома"},
}
ROLE_BY_KIND = {"uo": "1", "tsj": "19", "jsk": "20"}
HOUSE_STATE_BY_STATE = {"active": "2", "terminated": "1"}
_CREATED = "2016-01-01T00:00:00"


def entries(registry: int, world: dict[str, Any]) -> dict[str, str]:
    """Code → name of every entry of a directory."""
    if registry == OLSON_TZ:
        return {b["tz_code"]: b["tz"] for b in world["buildings"] if b.get("tz_code")}
    return FIXED.get(registry, {})


def export_nsi_item(req: Request) -> Outcome:
    registry = int(req.body.findtext(f"{{{NSI_COMMON}}}RegistryNumber") or 0)
    found = entries(registry, req.world.world)
    if not found:
        return empty(f"справочник {registry} не найден или пуст")
    item = _C.NsiItem(_N.NsiItemRegistryNumber(str(registry)), _N.Created(_CREATED))
    for code, name in sorted(found.items(), key=lambda kv: int(kv[0])):
        field = _N.NsiElementField(_N.Name("Наименование"), _N.Value(name))
        field.set(f"{{{XSI}}}type", "nsi-base:NsiElementStringFieldType")
        item.append(_N.NsiElement(_N.Code(code), _N.GUID(nsi_guid(registry, code)), _N.Modified(_CREATED), _N.IsActual("true"), field))
    return Outcome([item])


HANDLERS: dict[str, Handler] = {"exportNsiItem": export_nsi_item}
