"""What an operation answers once processed: a payload for `getStateResult`, or an error.

Each service module registers one handler per operation it plays. A handler reads the
validated request element and the world, and returns the children that follow `MessageGUID`
in the service's `getStateResult`, in schema order.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from domchat.emulators.gis.world_index import WorldIndex
from domchat.emulators.gis.xmlbuild import maker

NSI_BASE = "http://dom.gosuslugi.ru/schema/integration/nsi-base/"
ORG_BASE = "http://dom.gosuslugi.ru/schema/integration/organizations-base/"
ORG_REGISTRY_BASE = "http://dom.gosuslugi.ru/schema/integration/organizations-registry-base/"
N = maker(NSI_BASE, {"nsi-base": NSI_BASE})
"""Builder of `nsi-base` elements (the children of every `nsiRef`)."""

EMPTY = "INT002012"
"""The real service's code for "no objects to export" (an empty result, not a failure)."""
ACCESS_DENIED = "AUT011003"


@dataclass(frozen=True)
class Request:
    body: etree._Element
    """The validated request element."""
    requester: dict[str, Any] | None
    """The authority or organisation named by `orgPPAGUID`; None under ISRequestHeader."""
    world: WorldIndex


@dataclass(frozen=True)
class Outcome:
    payload: list[etree._Element] = field(default_factory=list)
    error: tuple[str, str] | None = None
    """(ErrorCode, Description) when the message ends in `ErrorMessage`."""


Handler = Callable[[Request], Outcome]


def empty(what: str) -> Outcome:
    return Outcome(error=(EMPTY, f"Нет объектов для экспорта: {what}"))


def denied(building: dict[str, Any], requester: dict[str, Any] | None) -> Outcome:
    who = requester["ppa_guid"] if requester else "?"
    return Outcome(error=(ACCESS_DENIED, f"Доступ запрещен: дом {building['fias_guid']}, организация {who}"))


def nsi_guid(registry: int, code: str) -> str:
    """The GUID of an NSI entry: stable for a registry and code, as GIS ZhKH's are."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://dom.gosuslugi.ru/nsi/{registry}/{code}"))


def nsi_ref(maker: Any, tag: str, registry: int, code: str, name: str | None) -> etree._Element:
    el: etree._Element = getattr(maker, tag)(N.Code(code), N.GUID(nsi_guid(registry, code)))
    if name:
        el.append(N.Name(name))
    return el


def texts(el: etree._Element, tag: str) -> list[str]:
    """Text of every descendant named `tag` (Clark name)."""
    return [(x.text or "").strip() for x in el.iter(tag)]
