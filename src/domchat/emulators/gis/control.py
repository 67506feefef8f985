"""The GIS emulator's control API under `/_emulator/`: change the world between pulls, without
a restart, and inject or clear faults. JSON in, JSON out; `docs/emulators.md` lists the routes.

A change of managing organisation is what the authority's decision puts into GIS ZhKH: the
building's open licence entry is excluded from the change's first day, and the new
organisation's entry is included from it, with an approved contract whose object may start
on another day (`contract_start`, example E1 of docs/management.md). A change can be moved
to another day or cancelled while it is the building's last.
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from domchat.emulators.gis.faults import GisFaults
from domchat.errors import WorldError

PREFIX = "/_emulator"
_CHANGES = re.compile(rf"^{PREFIX}/buildings/([0-9a-fA-F-]{{36}})/changes(/last)?$")
_BUILDING = re.compile(rf"^{PREFIX}/buildings/([0-9a-fA-F-]{{36}})$")
_TERMINATION = "Смена способа управления или управляющей организации"


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class GisControl:
    """Routes over the emulator's world (a dict it re-indexes after each change) and faults."""

    def __init__(
        self,
        world: Callable[[], dict[str, Any]],
        changed: Callable[[], None],
        set_faults: Callable[[GisFaults], None],
        faults: Callable[[], GisFaults],
    ) -> None:
        self._world = world
        self._changed = changed
        self._set_faults = set_faults
        self._faults = faults

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        try:
            status, answer = self._route(method, path, _json(body) if body else {})
        except ControlError as e:
            status, answer = e.status, {"error": str(e)}
        except (WorldError, TypeError, ValueError) as e:
            status, answer = 400, {"error": str(e)}
        return status, json.dumps(answer, ensure_ascii=False).encode("utf-8")

    def _route(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        if path == f"{PREFIX}/faults":
            if method == "PUT":
                self._set_faults(GisFaults(**body))
            elif method == "DELETE":
                self._set_faults(GisFaults())
            elif method != "GET":
                raise ControlError(405, f"{method} {path} not allowed")
            return 200, dataclasses.asdict(self._faults())
        if found := _BUILDING.match(path):
            if method != "GET":
                raise ControlError(405, f"{method} {path} not allowed")
            return 200, self._building(found.group(1))["management"]
        found = _CHANGES.match(path)
        if found is None:
            raise ControlError(404, f"no route {method} {path}")
        building = self._building(found.group(1))
        last = found.group(2) is not None
        if method == "POST" and not last:
            entry = self._add(building, body)
        elif method == "PUT" and last:
            entry = self._move(building, body)
        elif method == "DELETE" and last:
            entry = self._cancel(building)
        else:
            raise ControlError(405, f"{method} {path} not allowed")
        self._changed()
        return 200, entry

    def _building(self, fias: str) -> dict[str, Any]:
        building: dict[str, Any] | None = next((b for b in self._world()["buildings"] if b["fias_guid"].lower() == fias.lower()), None)
        if building is None:
            raise ControlError(404, f"no building {fias}")
        return building

    def _add(self, building: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        ogrn = body.get("ogrn")
        if not any(o["ogrn"] == ogrn for o in self._world()["organisations"]):
            raise ControlError(400, f"no organisation with ogrn {ogrn!r}")
        start = _day(body, "start")
        before = _open_entry(building)
        if before is not None:
            if before["start"] >= start:
                raise ControlError(409, f"the change must start after the open entry's start {before['start']}")
            _end(before, start)
        entry = {
            "ogrn": ogrn,
            "basis": "licence",
            "start": start,
            "end": None,
            "entry_guid": str(uuid.uuid4()),
            "exclusion_entry_guid": None,
        }
        entry["document"] = _contract(building, entry, body.get("contract_start") and _day(body, "contract_start"), self._world())
        building["management"].append(entry)
        return entry

    def _move(self, building: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        entries = building["management"]
        if not entries:
            raise ControlError(409, "the building has no management entry to move")
        start = _day(body, "start")
        last = entries[-1]
        if len(entries) > 1:
            if entries[-2]["start"] >= start:
                raise ControlError(409, f"the change must start after the previous entry's start {entries[-2]['start']}")
            _end(entries[-2], start)
        last["start"] = start
        doc = last.get("document")
        if doc:
            doc["effective_date"] = start
            doc["object_start"] = _day(body, "contract_start") if body.get("contract_start") else start
            doc["state"] = _state(start, self._world())
        return dict(last)

    def _cancel(self, building: dict[str, Any]) -> dict[str, Any]:
        entries = building["management"]
        if len(entries) < 2:
            raise ControlError(409, "the building has no change to cancel")
        cancelled = entries.pop()
        before = entries[-1]
        before.update(end=None, exclusion_entry_guid=None)
        doc = before.get("document")
        if doc:
            doc.update(terminate=None, status="Approved", state=_state(before["start"], self._world()))
        return dict(cancelled)


def _open_entry(building: dict[str, Any]) -> dict[str, Any] | None:
    return next((e for e in reversed(building["management"]) if not e.get("end")), None)


def _end(entry: dict[str, Any], day: str) -> None:
    entry.update(end=day, exclusion_entry_guid=entry.get("exclusion_entry_guid") or str(uuid.uuid4()))
    doc = entry.get("document")
    if doc:
        doc["terminate"] = {"date": day, "reason": _TERMINATION}


def _contract(building: dict[str, Any], entry: dict[str, Any], contract_start: str | None, world: dict[str, Any]) -> dict[str, Any]:
    start = date.fromisoformat(entry["start"])
    return {
        "kind": "contract",
        "guid": str(uuid.uuid4()),
        "version_guid": str(uuid.uuid4()),
        "object_version_guid": str(uuid.uuid4()),
        "number": f"{building['fias_guid'][:8]}/{len(building['management']) + 1}",
        "signing_date": (start - timedelta(days=10)).isoformat(),
        "effective_date": entry["start"],
        "object_start": contract_start or entry["start"],
        "plan_end": (start + timedelta(days=5 * 365)).isoformat(),
        "status": "Approved",
        "object_status": "Approved",
        "state": _state(entry["start"], world),
        "version_number": 1,
        "terminate": None,
    }


def _state(start: str, world: dict[str, Any]) -> str:
    today = world.get("today") or date.today().isoformat()
    return "NotRunning" if start > today else "Running"


def _day(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ControlError(400, f"{key} must be a date (YYYY-MM-DD), got {value!r}") from None


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError as e:
        raise ControlError(400, f"not JSON: {e}") from None
    if not isinstance(value, dict):
        raise ControlError(400, "a JSON object is expected")
    return value
