"""Emulator worlds: the JSON files both emulators serve, and a deterministic generator.

A world is building-centric: each building carries its own management history, so that the
generator can stream a world of any size (building `i` is a pure function of the seed and
`i`) and the emulators can index it however their services need. `world.schema.json` beside
this module is the contract (`domchat world schema` prints it).

This module belongs to the emulators: the clients and the mapping never import it.
"""

from __future__ import annotations

import itertools
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import IO, Any

import jsonschema

from domchat.emulators.gis import faults as gis_faults
from domchat.errors import WorldError

FORMAT = "domchat-world/1"

# (city, IANA zone, NSI code of the zone, OKTMO prefix): several zones, as in a large region.
_CITIES = (
    ("г. Ханты-Мансийск", "Asia/Yekaterinburg", "5", "71871"),
    ("г. Сургут", "Asia/Yekaterinburg", "5", "71876"),
    ("г. Калининград", "Europe/Kaliningrad", "1", "27701"),
    ("г. Самара", "Europe/Samara", "3", "36701"),
    ("г. Омск", "Asia/Omsk", "6", "52701"),
    ("г. Красноярск", "Asia/Krasnoyarsk", "8", "04701"),
    ("г. Якутск", "Asia/Yakutsk", "10", "98701"),
    ("г. Владивосток", "Asia/Vladivostok", "11", "05701"),
    ("г. Петропавловск-Камчатский", "Asia/Kamchatka", "13", "30701"),
)
_STREETS = (
    "ул. Ленина",
    "ул. Мира",
    "ул. Гагарина",
    "ул. Энгельса",
    "пр-кт Победы",
    "ул. Сибирская",
    "ул. Комсомольская",
    "ул. Школьная",
    "ул. Набережная",
    "ул. Строителей",
    "ул. Чехова",
)
_AGENDA = (
    "Избрание председателя и секретаря общего собрания",
    "Утверждение плана текущего ремонта общего имущества на следующий год",
    "Установка системы видеонаблюдения во дворе",
    "Благоустройство придомовой территории",
    "Выбор совета многоквартирного дома",
    "Заключение собственниками прямых договоров с ресурсоснабжающими организациями",
)
_ORG_WORDS = ("Уют", "Домострой", "Комфорт", "Северный дом", "Жилсервис", "Управдом", "Партнёр", "Новый дом")


@dataclass(frozen=True)
class GeneratorOptions:
    buildings: int
    seed: int
    today: date
    """The day that "today" means for the changes the world schedules."""
    change_share: float = 0.12
    """Share of buildings whose managing organisation changes (today or later)."""
    buildings_per_org: int = 40
    staff_per_org: int = 2
    authority_accounts: int = 2
    charter_share: float = 0.0
    """Share of buildings managed by their own HOA (ТСЖ) under a charter instead of a licensed UO."""


def _date_details(rng: random.Random, start: int) -> dict[str, Any]:
    """`DateDetails` as contracts have them: mostly a window in the billing month and payment by a
    day of the next; some windows run into the next month or end on its last day, some days are
    ones a short month lacks, and some documents give only part of the dates or none."""
    if rng.random() < 0.08:
        return {}
    dd: dict[str, Any] = {}
    if rng.random() < 0.85:
        shape = rng.random()
        if shape < 0.15:  # into the next month
            dd["metering_start"] = {"day": start, "next_month": False}
            dd["metering_end"] = {"day": rng.choice((3, 5)), "next_month": True}
        elif shape < 0.4:
            dd["metering_start"] = {"day": start, "next_month": False}
            dd["metering_end"] = {"day": "last", "next_month": False}
        elif shape < 0.45:  # a day February and the 30-day months lack
            dd["metering_start"] = {"day": 26, "next_month": False}
            dd["metering_end"] = {"day": 31, "next_month": False}
        else:
            dd["metering_start"] = {"day": start, "next_month": False}
            dd["metering_end"] = {"day": min(start + 5, 30), "next_month": False}
    if rng.random() < 0.8:
        dd["payment_document"] = {"day": 1, "next_month": True} if rng.random() < 0.9 else {"day": "last", "next_month": False}
    if rng.random() < 0.9:
        dd["payment"] = (
            {"day": rng.choice((10, 15, 20, 25)), "next_month": True} if rng.random() < 0.95 else {"day": "last", "next_month": False}
        )
    return dd


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _ogrn(rng: random.Random, region: str) -> str:
    # OGRN: sign (1), year (2), region (2), record (7), check digit = (first 12 mod 11) mod 10.
    body = "1" + f"{rng.randint(2, 24):02d}" + region + f"{rng.randint(0, 9_999_999):07d}"
    return body + str(int(body) % 11 % 10)


def _inn(rng: random.Random, region: str) -> str:
    digits = [int(c) for c in region + f"{rng.randint(0, 9_999_999):07d}"]
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    return "".join(map(str, digits)) + str(sum(w * d for w, d in zip(weights, digits, strict=True)) % 11 % 10)


class WorldGenerator:
    """Builds a world deterministically: the same options give byte-identical files."""

    def __init__(self, opts: GeneratorOptions, region: str = "86") -> None:
        if opts.buildings < 1:
            raise WorldError("a world needs at least one building")
        self.opts = opts
        self.region = region
        self.n_orgs = max(3, -(-opts.buildings // opts.buildings_per_org))
        self._idents: dict[int, tuple[str, str]] = {}

    def _rng(self, *key: object) -> random.Random:
        return random.Random(":".join(map(str, (self.opts.seed, *key))))

    def authority(self) -> dict[str, Any]:
        rng = self._rng("authority")
        return {
            "name": "Служба жилищного и строительного надзора",
            "ogrn": _ogrn(rng, self.region),
            "ppa_guid": _guid(rng),
            "max_accounts": [100 + i for i in range(self.opts.authority_accounts)],
        }

    def _org_ident(self, j: int) -> tuple[str, str]:
        """An organisation's OGRN and kind, remembered: building entries need only these, and
        rebuilding the whole organisation for each entry cost more than the building itself."""
        if j not in self._idents:
            org = self.organisation(j)
            self._idents[j] = (org["ogrn"], org["kind"])
        return self._idents[j]

    def organisation(self, j: int) -> dict[str, Any]:
        rng = self._rng("org", j)
        word = _ORG_WORDS[j % len(_ORG_WORDS)]
        kind = "uo"
        name = f'ООО "УК {word}-{j + 1}"'
        inn = _inn(rng, self.region)
        return {
            "ogrn": _ogrn(rng, self.region),
            "inn": inn,
            "kpp": inn[:4] + "01001",
            "name": name,
            "short_name": name,
            "kind": kind,
            "root_guid": _guid(rng),
            "version_guid": _guid(rng),
            "ppa_guid": _guid(rng),
            "phone": f"+7 (3467) {rng.randint(20, 99)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}",
            "dispatch_phone": f"+7 (3467) {rng.randint(20, 99)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}",
            "licence": {"guid": _guid(rng), "number": f"0{self.region}{j + 1:06d}"} if kind == "uo" else None,
            "staff": [10_000 + j * 100 + k for k in range(self.opts.staff_per_org)],
        }

    def _is_charter(self, i: int) -> bool:
        return self.opts.charter_share > 0 and self._rng("charter", i).random() < self.opts.charter_share

    def hoa(self, i: int) -> dict[str, Any]:
        """The HOA (ТСЖ) of building `i`, when that building is managed under a charter."""
        rng = self._rng("hoa", i)
        inn = _inn(rng, self.region)
        name = f'ТСЖ "{_STREETS[i % len(_STREETS)].split(" ", 1)[1]}-{i + 1}"'
        return {
            "ogrn": _ogrn(rng, self.region),
            "inn": inn,
            "kpp": inn[:4] + "01001",
            "name": name,
            "short_name": name,
            "kind": "tsj",
            "root_guid": _guid(rng),
            "version_guid": _guid(rng),
            "ppa_guid": _guid(rng),
            "phone": f"+7 (3467) {rng.randint(20, 99)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}",
            "licence": None,
            "staff": [5_000_000 + i * 10 + k for k in range(self.opts.staff_per_org)],
        }

    def building(self, i: int) -> dict[str, Any]:
        b = self._building(i)
        if self._is_charter(i):
            entry = b["management"][0]
            b["management"] = [{**entry, "ogrn": self.hoa(i)["ogrn"], "basis": "charter", "end": None, "exclusion_entry_guid": None}]
        # Separate random streams: adding documents and grants leaves every other value as it was.
        for k, entry in enumerate(b["management"]):
            entry["document"] = self._document(i, k, entry)
        b["guest_grants"] = self._grants(i)
        b["votings"] = self._votings(i)
        return b

    def _votings(self, i: int) -> list[dict[str, Any]]:
        """Owners' meetings: about one building in five has one a month either side of today,
        some still taking decisions, some over with a protocol, a few cancelled."""
        rng = self._rng("votings", i)
        today = self.opts.today
        votings = []
        for _ in range(rng.choice((0, 0, 0, 0, 1, 1, 2))):
            start = today + timedelta(days=rng.randint(-40, 20))
            end = start + timedelta(days=rng.randint(10, 30))
            form = rng.choice(("absentee", "absentee", "meeting", "mixed"))
            meeting_at = datetime.combine(start, time(rng.choice((18, 19)), 30)).isoformat()
            over = end < today
            questions = rng.sample(_AGENDA, rng.randint(2, 4))
            protocol = None
            if over and rng.random() < 0.8:
                eligible = rng.random() < 0.75
                protocol = {
                    "guid": _guid(rng),
                    "number": f"{rng.randint(1, 12)}/{end.year}",
                    "date": (end + timedelta(days=rng.randint(1, 10))).isoformat(),
                    "eligible": eligible,
                    "results": [
                        {"agree": a, "against": b, "abstain": round(100 - a - b, 2), "made": eligible and a > 50}
                        for a, b in ((round(rng.uniform(30, 90), 2), round(rng.uniform(0, 10), 2)) for _ in questions)
                    ],
                }
            votings.append(
                {
                    "message_guid": _guid(rng),
                    "number": f"{rng.randint(1, 99)}",
                    "message_date": (start - timedelta(days=rng.randint(10, 20))).isoformat(),
                    "kind": rng.choice(("extra", "extra", "annual")),
                    "form": form,
                    "start": start.isoformat(),
                    "end": end.isoformat(),
                    "meeting_at": meeting_at,
                    "place": "во дворе дома, у первого подъезда",
                    "resolution_place": "почтовый ящик совета дома в первом подъезде; через ГИС ЖКХ",
                    "status": "Cancelled" if rng.random() < 0.05 else ("Finished" if over else ("Goes" if start <= today else "Posted")),
                    "agenda": questions,
                    "protocol": protocol,
                }
            )
        return votings

    def _document(self, i: int, k: int, entry: dict[str, Any]) -> dict[str, Any]:
        rng = self._rng("document", i, k)
        today = self.opts.today
        start = date.fromisoformat(entry["start"])
        end = date.fromisoformat(entry["end"]) if entry["end"] else None
        ended = end is not None and end <= today
        metering_start = rng.choice((15, 20, 23))  # drawn first, so that every other value stays as it was
        return {
            "kind": "charter" if entry["basis"] == "charter" else "contract",
            "guid": _guid(rng),
            "version_guid": _guid(rng),
            "object_version_guid": _guid(rng),
            "number": f"{self.region}-{i + 1}/{k + 1}",
            "signing_date": (start - timedelta(days=rng.randint(5, 40))).isoformat(),
            "effective_date": start.isoformat(),
            "plan_end": (start + timedelta(days=5 * 365)).isoformat(),
            "status": "Terminated" if ended else "Approved",
            "object_status": "Approved",
            "state": "NotRunning" if start > today else ("Expired" if ended else "Running"),
            "version_number": rng.randint(1, 3),
            "terminate": {"date": end.isoformat(), "reason": "Смена способа управления или управляющей организации"} if end else None,
            "date_details": _date_details(rng, metering_start),
        }

    def _grants(self, i: int) -> list[dict[str, Any]]:
        rng = self._rng("grants", i)
        today = self.opts.today
        grants = []
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
            valid_from = today - timedelta(days=rng.randint(1, 400))
            valid_to = None if rng.random() < 0.5 else today + timedelta(days=rng.randint(-60, 300))
            revoked = rng.random() < 0.1
            grants.append(
                {
                    "grant_id": _guid(rng),
                    "premises": f"кв. {rng.randint(1, 120)}",
                    "person_ref": f"esia:{rng.randint(10**9, 10**10 - 1)}",
                    "valid_from": valid_from.isoformat(),
                    "valid_to": valid_to.isoformat() if valid_to else None,
                    "status": "revoked" if revoked else ("expired" if valid_to and valid_to < today else "active"),
                }
            )
        return grants

    def _building(self, i: int) -> dict[str, Any]:
        rng = self._rng("building", i)
        city, tz, tz_code, oktmo = _CITIES[i % len(_CITIES)]
        org = i % self.n_orgs
        today = self.opts.today
        since = today - timedelta(days=rng.randint(200, 3000))
        first = self._entry(rng, org, since)
        management = [first]
        if rng.random() < self.opts.change_share:
            # The new manager takes over today or within three weeks; the old one leaves that day.
            switch = today + timedelta(days=0 if rng.random() < 0.4 else rng.randint(1, 21))
            new = (org + 1 + rng.randrange(self.n_orgs - 1)) % self.n_orgs
            first["end"] = switch.isoformat()
            first["exclusion_entry_guid"] = _guid(rng)
            management.append(self._entry(rng, new, switch))
        return {
            "fias_guid": _guid(rng),
            "hcs_guid": _guid(rng),
            "unique_number": f"{self.region}{i + 1:010d}",
            "address": f"{city}, {_STREETS[rng.randrange(len(_STREETS))]}, д. {rng.randint(1, 150)}",
            "oktmo": oktmo + f"{rng.randint(0, 999):03d}",
            "tz": tz,
            "tz_code": tz_code,
            "state": "active",
            "modified": f"{since.isoformat()}T09:00:00",
            "management": management,
        }

    def _entry(self, rng: random.Random, org: int, start: date) -> dict[str, Any]:
        ogrn, kind = self._org_ident(org)
        basis = "licence" if kind == "uo" else "charter"
        return {
            "ogrn": ogrn,
            "basis": basis,
            "start": start.isoformat(),
            "end": None,
            "entry_guid": _guid(rng),
            "exclusion_entry_guid": None,
        }

    def users(self) -> Iterator[dict[str, Any]]:
        for uid in self.authority()["max_accounts"]:
            yield {"user_id": uid, "first_name": "Оператор", "last_name": f"РОИВ {uid}", "privacy": False}
        for j in range(self.n_orgs):
            for uid in self.organisation(j)["staff"]:
                yield {"user_id": uid, "first_name": "Сотрудник", "last_name": f"УО {j + 1}-{uid % 100}", "privacy": False}
        for i in self._charter_buildings():
            for uid in self.hoa(i)["staff"]:
                yield {"user_id": uid, "first_name": "Председатель", "last_name": f"ТСЖ {i + 1}-{uid % 10}", "privacy": False}

    def _charter_buildings(self) -> Iterator[int]:
        return (i for i in range(self.opts.buildings) if self._is_charter(i))

    def write(self, out: IO[str]) -> None:
        """Stream the world to `out`; memory does not grow with the number of buildings."""
        head = {
            "format": FORMAT,
            "seed": self.opts.seed,
            "today": self.opts.today.isoformat(),
            "region": {"code": self.region, "name": "Ханты-Мансийский автономный округ – Югра"},
            "authority": self.authority(),
            "bot": {"user_id": 1, "username": "domchat_bot", "name": "Госуслуги Дом"},
        }
        out.write(json.dumps(head, ensure_ascii=False, indent=1)[:-2])
        out.write(',\n "organisations": [\n')
        _stream(out, itertools.chain((self.organisation(j) for j in range(self.n_orgs)), (self.hoa(i) for i in self._charter_buildings())))
        out.write('],\n "users": [\n')
        _stream(out, self.users())
        out.write('],\n "buildings": [\n')
        _stream(out, (self.building(i) for i in range(self.opts.buildings)))
        out.write("]\n}\n")


def _stream(out: IO[str], items: Iterator[dict[str, Any]]) -> None:
    for n, item in enumerate(items):
        if n:
            out.write(",\n")
        out.write("  " + json.dumps(item, ensure_ascii=False, separators=(",", ":")))
    out.write("\n ")


def schema() -> dict[str, Any]:
    """The JSON Schema of world files."""
    text = resources.files("domchat.emulators").joinpath("world.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    loaded["$defs"]["faults"]["properties"].update(gis_faults.schema_properties())
    return loaded


def load(path: Path) -> dict[str, Any]:
    """Read and validate a world file; a bad one fails naming the first problem and where."""
    try:
        world: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WorldError(f"no such world file: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise WorldError(f"{path}: not a JSON world file: {e}") from None
    validator = jsonschema.Draft202012Validator(schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(world))
    if error is not None:
        where = "/".join(map(str, error.absolute_path)) or "(top)"
        raise WorldError(f"{path}: {where}: {error.message}")
    return world
