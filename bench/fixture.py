"""A region (or a country) of bound house chats as domain values, for the planner and storage benchmarks.

Shaped like the real thing: eleven time zones; one managing organisation per ~40 buildings
with 2–5 enrolled staff each; every building bound to a chat holding its owner (an authority
account), the bot, the two other authority accounts, the manager's staff and 0–50 residents,
each resident through a guest-access grant in force (plus a few grants that expired); every
building has one to three past periods of management behind the current one.

`CHANGE_DAY` is a day on which `change_share` of the buildings get a new manager. `BEFORE` is
an instant before 00:00 of that day in every zone and `AFTER` one after it in every zone, so
a chat observed at `BEFORE` and planned at `AFTER` is "the morning after a midnight change".
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from domchat.domain import templates
from domchat.domain.desired import desired_chat
from domchat.domain.model import (
    ActualChat,
    Basis,
    Building,
    ChatBinding,
    Domain,
    GuestGrant,
    ManagementPeriod,
    MemberState,
    Organisation,
    Permission,
    Policy,
)
from domchat.domain.templates import Templates

ZONES = (
    "Europe/Kaliningrad",
    "Europe/Moscow",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Omsk",
    "Asia/Krasnoyarsk",
    "Asia/Irkutsk",
    "Asia/Yakutsk",
    "Asia/Vladivostok",
    "Asia/Magadan",
    "Asia/Kamchatka",
)
CITIES = ("г. Калининград", "г. Москва", "г. Самара", "г. Сургут", "г. Омск", "г. Красноярск", "г. Иркутск", "г. Якутск", "г. Владивосток")
STREETS = ("ул. Ленина", "ул. Мира", "ул. Гагарина", "пр-кт Победы", "ул. Сибирская", "ул. Комсомольская", "ул. Набережная", "ул. Чехова")

CHANGE_DAY = date(2026, 12, 1)
BEFORE = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)
"""Before 00:00 on CHANGE_DAY everywhere: Kamchatka (UTC+12) reaches it at 12:00 UTC."""
AFTER = datetime(2026, 11, 30, 22, 30, tzinfo=UTC)
"""After 00:00 on CHANGE_DAY everywhere: Kaliningrad (UTC+2) reaches it at 22:00 UTC."""

BOT = 1
AUTHORITY = (100, 101, 102)
BUILDINGS_PER_ORG = 40

POLICY = Policy(
    bot_user_id=BOT,
    authority_accounts=frozenset(AUTHORITY),
    staff_permissions=frozenset({Permission.READ_ALL_MESSAGES, Permission.WRITE, Permission.PIN_MESSAGE, Permission.ADD_REMOVE_MEMBERS}),
    authority_permissions=frozenset(
        {Permission.READ_ALL_MESSAGES, Permission.ADD_ADMINS, Permission.ADD_REMOVE_MEMBERS, Permission.CHANGE_CHAT_INFO}
    ),
)
PREMISES = tuple(f"кв. {k + 1}" for k in range(100))
"""Shared strings: a country's worth of grants must fit in memory beside two observed states."""
_BOT_STATE = MemberState(is_admin=True, permissions=frozenset(p.value for p in Permission if p is not Permission.CAN_CALL))
_PLAIN = MemberState()


@dataclass(frozen=True)
class Region:
    domain: Domain
    changed: frozenset[str]
    """Buildings whose manager changes on CHANGE_DAY."""
    owners: dict[str, int]
    """The authority account that owns each building's chat."""


def region(buildings: int, change_share: float = 0.1, seed: int = 1, zones: tuple[str, ...] = ZONES) -> Region:
    houses: dict[str, Building] = {}
    periods: dict[str, tuple[ManagementPeriod, ...]] = {}
    bindings: dict[str, ChatBinding] = {}
    grants: dict[str, tuple[GuestGrant, ...]] = {}
    residents: dict[str, frozenset[int]] = {}
    changed: set[str] = set()
    owners: dict[str, int] = {}
    organisations: Mapping[str, Organisation] = {}
    staff: Mapping[str, frozenset[int]] = {}
    for part in slices(buildings, change_share, seed, zones):
        d = part.domain
        organisations, staff = d.organisations, d.staff
        houses |= d.buildings
        periods |= d.periods
        bindings |= d.bindings
        grants |= d.grants
        residents |= d.residents
        changed |= part.changed
        owners |= part.owners
    domain = Domain(houses, organisations, periods, bindings, staff, grants, residents)
    return Region(domain, frozenset(changed), owners)


def slices(buildings: int, change_share: float = 0.1, seed: int = 1, zones: tuple[str, ...] = ZONES) -> Iterator[Region]:
    """`region` one building at a time, each slice's domain holding that building and every
    organisation (shared): a large region streamed without being held whole."""
    rng = random.Random(seed)
    n_orgs = max(3, buildings // BUILDINGS_PER_ORG)
    organisations: dict[str, Organisation] = {}
    staff: dict[str, frozenset[int]] = {}
    for j in range(n_orgs):
        ogrn = f"10{j:011d}"
        organisations[ogrn] = Organisation(
            ogrn, f'ООО "УК Комфорт-{j + 1}"', inn=f"86{j:08d}", phone=f"+7 (3467) {j % 90 + 10}-00-00", dispatch_phone="+7 (3467) 05-05-05"
        )
        staff[ogrn] = frozenset(1_000_000 + j * 10 + k for k in range(rng.randint(2, 5)))
    ogrns = list(organisations)
    next_user = 10_000_000
    for i in range(buildings):
        fias = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        house = Building(
            fias,
            f"{CITIES[i % len(CITIES)]}, {STREETS[rng.randrange(len(STREETS))]}, д. {rng.randint(1, 150)}",
            zones[i % len(zones)],
            oktmo=f"71876{rng.randint(0, 999_999):06d}",
        )
        org = rng.randrange(n_orgs)
        history = _history(rng, fias, ogrns, org)
        changed = rng.random() < change_share
        if changed:
            last = history[-1]
            new = ogrns[(org + 1 + rng.randrange(n_orgs - 1)) % n_orgs]
            history[-1] = ManagementPeriod(fias, last.org, last.start, CHANGE_DAY, Basis.LICENCE, last.source_ids)
            history.append(ManagementPeriod(fias, new, CHANGE_DAY, None, Basis.LICENCE, (str(uuid.UUID(int=rng.getrandbits(128))),)))
        owner = AUTHORITY[i % len(AUTHORITY)]
        binding = ChatBinding(fias, -70_000_000_000_000 - i, datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=i), owner)
        mine: list[GuestGrant] = []
        residents: dict[str, frozenset[int]] = {}
        for k in range(rng.randint(0, 50)):
            grant = GuestGrant(f"{fias}-g{k}", fias, PREMISES[k], "", date(2025, 6, 1), _valid_to(rng))
            mine.append(grant)
            residents[grant.grant_id] = frozenset({next_user})
            next_user += 1
        for k in range(rng.choice((0, 0, 1, 3))):  # grants that ended: their residents have left
            mine.append(GuestGrant(f"{fias}-x{k}", fias, PREMISES[k + 60], "", date(2024, 1, 1), date(2026, 10, 31)))
        domain = Domain({fias: house}, organisations, {fias: tuple(history)}, {fias: binding}, staff, {fias: tuple(mine)}, residents)
        yield Region(domain, frozenset({fias} if changed else ()), {fias: owner})


def _history(rng: random.Random, fias: str, ogrns: list[str], org: int) -> list[ManagementPeriod]:
    """One to three managers so far, the last one current (open-ended)."""
    start = date(2015, 1, 1) + timedelta(days=rng.randint(0, 800))
    out = []
    for k in range(rng.randint(1, 3), 0, -1):
        until = start + timedelta(days=rng.randint(400, 1200)) if k > 1 else None
        who = ogrns[org] if k == 1 else ogrns[rng.randrange(len(ogrns))]
        out.append(ManagementPeriod(fias, who, start, until, Basis.LICENCE, (str(uuid.UUID(int=rng.getrandbits(128))),)))
        start = until or start
    return out


def _valid_to(rng: random.Random) -> date | None:
    return None if rng.random() < 0.7 else date(2027, 1, 1) + timedelta(days=rng.randint(0, 700))


def chats(r: Region, at: datetime, tpl: Templates | None = None) -> Iterator[ActualChat]:
    """Every bound chat exactly as the domain wants it at `at` (what MAX shows after a full sync)."""
    tpl = tpl or TEMPLATES
    for fias, binding in r.domain.bindings.items():
        owner = r.owners[fias]
        want = desired_chat(r.domain, fias, at, POLICY, tpl, owner=owner)
        members: dict[int, MemberState] = {u: _PLAIN for u in want.members}
        for user, perms in want.admins.items():
            members[user] = MemberState(is_admin=True, permissions=frozenset(p.value for p in perms))
        members[owner] = MemberState(is_admin=True, is_owner=True, permissions=frozenset(p.value for p in POLICY.authority_permissions))
        members[BOT] = _BOT_STATE
        yield ActualChat(binding.chat_id, want.title, want.card, owner, members)


def observed(r: Region, at: datetime) -> dict[int, ActualChat]:
    return {c.chat_id: c for c in chats(r, at)}


TEMPLATES = templates.load()
