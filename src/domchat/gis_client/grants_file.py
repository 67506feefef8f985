"""Guest-access grants from a file, for authorities that receive them outside GIS ZhKH.

CSV (UTF-8, comma-separated, a header row) or JSON (a list of objects, or `{"grants": [...]}`)
with the fields of `GuestGrantRecord`: grant_id, fias_house_guid, premises, person_ref,
valid_from, valid_to (empty or null for open-ended), status (active, revoked, expired).
A bad file fails naming the file, the row and the field; nothing of it is returned.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from domchat.errors import InputError
from domchat.gis_client.types import GuestGrantRecord

FIELDS = ("grant_id", "fias_house_guid", "premises", "person_ref", "valid_from", "valid_to", "status")
STATUSES = frozenset({"active", "revoked", "expired"})
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_MAX_BYTES = 256 * 1024 * 1024
_MAX_FIELD = 128 * 1024
"""Longest value of one field, in characters (the csv module's own limit, kept for JSON too)."""


class GrantsFileError(InputError):
    """A grants file that cannot be read or has a bad row."""


def read_grants(path: Path) -> list[GuestGrantRecord]:
    """Read and check every grant in `path` (`.csv` or `.json`, by extension)."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise GrantsFileError(f"{path}: grants file must be .csv or .json")
    try:
        if path.stat().st_size > _MAX_BYTES:
            raise GrantsFileError(f"{path}: larger than {_MAX_BYTES // (1024 * 1024)} MiB")
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise GrantsFileError(f"no such grants file: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise GrantsFileError(f"{path}: cannot read: {e}") from None
    rows = _csv_rows(path, text) if suffix == ".csv" else _json_rows(path, text)
    grants = [_grant(path, where, row) for where, row in rows]
    seen: dict[str, str] = {}
    for (where, _row), g in zip(rows, grants, strict=True):
        if g.grant_id in seen:
            raise GrantsFileError(f"{path}: {where}: grant_id {g.grant_id} repeats {seen[g.grant_id]}")
        seen[g.grant_id] = where
    return grants


def _csv_rows(path: Path, text: str) -> list[tuple[str, Mapping[str, Any]]]:
    reader = csv.DictReader(text.splitlines())
    try:
        missing = [f for f in FIELDS if f != "valid_to" and f not in (reader.fieldnames or ())]
        if missing:
            raise GrantsFileError(f"{path}: header lacks {', '.join(missing)}")
        return [(f"line {n}", row) for n, row in enumerate(reader, start=2)]
    except csv.Error as e:  # a field over csv's limit (_MAX_FIELD), a NUL byte, …: on the line after the last one read
        raise GrantsFileError(f"{path}: line {reader.line_num + 1}: {e}") from None


def _json_rows(path: Path, text: str) -> list[tuple[str, Mapping[str, Any]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise GrantsFileError(f"{path}: not JSON: {e}") from None
    except RecursionError:
        raise GrantsFileError(f"{path}: not a grants file: JSON nested too deeply") from None
    items: Any = data.get("grants") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise GrantsFileError(f'{path}: expected a list of grants or {{"grants": [...]}}')
    rows: list[tuple[str, Mapping[str, Any]]] = []
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise GrantsFileError(f"{path}: grant #{n + 1}: not an object")
        rows.append((f"grant #{n + 1}", item))
    return rows


def _grant(path: Path, where: str, row: Mapping[str, Any]) -> GuestGrantRecord:
    def field(name: str, *, required: bool = True) -> str:
        value = row.get(name)
        value = "" if value is None else str(value).strip()
        if len(value) > _MAX_FIELD:
            raise GrantsFileError(f"{path}: {where}: {name} is longer than {_MAX_FIELD // 1024} KiB")
        if required and not value:
            raise GrantsFileError(f"{path}: {where}: {name} is missing")
        return value

    def day(name: str, *, required: bool) -> date | None:
        value = field(name, required=required)
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise GrantsFileError(f"{path}: {where}: {name} is not a date (YYYY-MM-DD): {value!r}") from None

    extra = sorted(set(row) - set(FIELDS))
    if extra:
        raise GrantsFileError(f"{path}: {where}: unknown field {extra[0]!r}")
    for name in ("grant_id", "fias_house_guid"):
        if not _GUID.match(field(name)):
            raise GrantsFileError(f"{path}: {where}: {name} is not a GUID: {field(name)!r}")
    status = field("status").lower()
    if status not in STATUSES:
        raise GrantsFileError(f"{path}: {where}: status must be one of {', '.join(sorted(STATUSES))}, got {status!r}")
    valid_from = day("valid_from", required=True)
    valid_to = day("valid_to", required=False)
    assert valid_from is not None
    if valid_to is not None and valid_to < valid_from:
        raise GrantsFileError(f"{path}: {where}: valid_to {valid_to} is before valid_from {valid_from}")
    return GuestGrantRecord(
        grant_id=field("grant_id").lower(),
        fias_house_guid=field("fias_house_guid").lower(),
        premises=field("premises"),
        person_ref=field("person_ref"),
        valid_from=valid_from,
        valid_to=valid_to,
        status=status,
    )
