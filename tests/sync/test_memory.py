"""Incremental planning plans what a whole plan would, building for building.

A small region is stored in the database and changed at random, the way every writer of the
daemon's world changes it: GIS claims, bindings, grants and residents, staff, organisations,
chats seen to change (people joining, rights granted by hand, the planned actions carried out),
refusals, and time passing across local midnights in several zones. After each step the
memory takes the touches, plans the buildings it names, and each bound building's latest
incremental plan must be exactly what a whole plan from a fresh load yields for it now.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from domchat.domain.actions import Action, AddMembers, GrantAdmin
from domchat.domain.model import ActualChat, Basis, Building, GuestGrant, ManagementPeriod, MemberState, OrgKind
from domchat.domain.plan import plan
from domchat.mapping.periods import effective
from domchat.storage import repo
from domchat.storage.db import transaction
from domchat.storage.tables import BindingRow, OrganisationRow, RefusalRow, ResidentRow, StaffRow
from domchat.sync.memory import PlanMemory, take_all
from support.domain import AUTH, POLICY, TEMPLATES, apply, fresh_chat

ZONES = ("Europe/Kaliningrad", "Europe/Moscow", "Asia/Yekaterinburg", "Asia/Vladivostok", "Asia/Kamchatka")
BUILDINGS = tuple(f"{n:08d}-0000-4000-8000-000000000000" for n in range(1, 6))
ORGS = {"1028600000011": OrgKind.MANAGING_COMPANY, "1028600000022": OrgKind.MANAGING_COMPANY, "1028600000033": OrgKind.HOA}
USERS = tuple(range(500, 512))
START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


class Region:
    """The stored world, and the writes that change it (each in its own transaction)."""

    def __init__(self, db: Engine, rnd: random.Random) -> None:
        self.db, self.rnd = db, rnd
        self.now = START
        self.chat_ids = iter(range(-70000000000001, -70000001000000, -1))
        self.grants = 0
        with transaction(db) as s:
            for ogrn, kind in ORGS.items():
                s.add(OrganisationRow(ogrn=ogrn, name=f"УК {ogrn[-2:]}", kind=kind.value, phone="1", updated_at=self.now))
            for n, b in enumerate(BUILDINGS):
                repo.save_building(s, Building(b, f"ул. Мира, д. {n}", ZONES[n]), tz_assumed=False, at=self.now)
            for ogrn in ORGS:
                s.add(StaffRow(org=ogrn, user_id=USERS[int(ogrn[-1])], enrolled_at=self.now))
        for b in BUILDINGS[:4]:
            self.bind(b)
        for b in BUILDINGS:
            self.claims(b)

    def day(self) -> date:
        return self.now.date() + timedelta(days=self.rnd.randint(-3, 6))

    # Steps

    def time_passes(self) -> None:
        self.now += timedelta(hours=self.rnd.choice((1, 5, 11, 23, 47)))

    def bind(self, building: str | None = None) -> None:
        b = building or self.rnd.choice(BUILDINGS)
        with transaction(self.db) as s:
            old = s.get(BindingRow, b)
            if old is not None:
                s.delete(old)
                return
            chat = fresh_chat()
            chat_id = next(self.chat_ids)
            repo.save_actual(s, ActualChat(chat_id, chat.title, None, AUTH, chat.members), self.now)
            s.add(BindingRow(building=b, chat_id=chat_id, bound_at=self.now, bound_by=AUTH))

    def claims(self, building: str | None = None) -> None:
        """An organisation's answer on one basis changes for one building: a new claim from a
        day near now ending its open one, or its claims withdrawn."""
        b = building or self.rnd.choice(BUILDINGS)
        org = self.rnd.choice(list(ORGS))
        basis = Basis.CHARTER if ORGS[org] is OrgKind.HOA and self.rnd.random() < 0.5 else Basis.LICENCE
        start = self.day()
        until = start + timedelta(days=self.rnd.randint(1, 5)) if self.rnd.random() < 0.4 else None
        with transaction(self.db) as s:
            others = [p for o in BUILDINGS if o != b for p in self._stored(s, org, basis, o)]
            mine: list[ManagementPeriod] = []
            if self.rnd.random() < 0.85:
                ended = [replace(p, until=start) if p.until is None and p.start < start else p for p in self._stored(s, org, basis, b)]
                mine = [*ended[-2:], ManagementPeriod(b, org, start, until, basis, (f"doc-{start}",))]
            repo.replace_periods(s, org, basis, [*others, *mine])

    def _stored(self, s: Session, org: str, basis: Basis, building: str) -> list[ManagementPeriod]:
        return [p for p in repo.load_domain(s, [building]).periods.get(building, ()) if p.org == org and p.basis is basis]

    def grant(self) -> None:
        b = self.rnd.choice(BUILDINGS)
        with transaction(self.db) as s:
            existing = [g for gs in repo.load_domain(s, [b]).grants.values() for g in gs]
            if existing and self.rnd.random() < 0.4:
                g = self.rnd.choice(existing)
                repo.save_grant(s, g, source="gis", status="revoked" if not g.revoked else "active", at=self.now)
                return
            self.grants += 1
            start = self.day()
            end = start + timedelta(days=self.rnd.randint(0, 4)) if self.rnd.random() < 0.6 else None
            repo.save_grant(s, GuestGrant(f"g{self.grants}", b, "кв. 1", "", start, end), source="gis", status="active", at=self.now)
            s.add(ResidentRow(grant_id=f"g{self.grants}", user_id=self.rnd.choice(USERS), bound_at=self.now))

    def resident(self) -> None:
        if self.grants:
            with transaction(self.db) as s:
                gid, user = f"g{self.rnd.randint(1, self.grants)}", self.rnd.choice(USERS)
                row = s.get(ResidentRow, (gid, user))
                s.delete(row) if row is not None else s.add(ResidentRow(grant_id=gid, user_id=user, bound_at=self.now))

    def staff(self) -> None:
        org, user = self.rnd.choice(list(ORGS)), self.rnd.choice(USERS)
        with transaction(self.db) as s:
            row = s.get(StaffRow, (org, user))
            if row is None:
                s.add(StaffRow(org=org, user_id=user, enrolled_at=self.now))
            else:
                row.revoked_at = None if row.revoked_at else self.now
                s.add(row)

    def organisation(self) -> None:
        with transaction(self.db) as s:
            row = s.get(OrganisationRow, self.rnd.choice(list(ORGS)))
            assert row is not None
            row.phone = str(self.rnd.randint(1, 3))
            s.add(row)

    def chat_changes(self) -> None:
        """Somebody joins or leaves, or is given rights by hand; or a re-read finds nothing new."""
        with transaction(self.db) as s:
            chats = list(repo.load_actual(s).values())
            chat = self.rnd.choice(chats)
            user = self.rnd.choice((*USERS, 900, 901))
            what = self.rnd.random()
            if what < 0.4:
                repo.add_member(s, chat.chat_id, user)
            elif what < 0.6:
                repo.set_member(s, chat.chat_id, user, MemberState(is_admin=True, permissions=frozenset({"write"})))
            elif what < 0.8 and user in chat.members:
                repo.set_member(s, chat.chat_id, user, None)
            else:
                repo.save_actual(s, chat, self.now)

    def refusal(self) -> None:
        with transaction(self.db) as s:
            chat = self.rnd.choice(list(repo.load_actual(s)))
            user = self.rnd.choice(USERS)
            if s.get(RefusalRow, (chat, user)) is None:
                s.add(RefusalRow(chat_id=chat, user_id=user, code="privacy", at=self.now))

    def moves(self) -> None:
        """GIS gives a house another time zone (a re-read corrects an assumed one)."""
        with transaction(self.db) as s:
            b = self.rnd.choice(BUILDINGS)
            old = repo.load_domain(s, [b]).buildings[b]
            repo.save_building(s, Building(b, old.address, self.rnd.choice(ZONES)), tz_assumed=False, at=self.now)

    def carried_out(self, actions: list[Action]) -> None:
        """The executor did a building's planned actions: the chat now shows them."""
        if not actions:
            return
        chat_id = actions[0].chat_id
        with transaction(self.db) as s:
            chat = repo.load_actual(s, [chat_id])[chat_id]
            added = {u for a in actions if isinstance(a, AddMembers) for u in a.user_ids}
            doable = tuple(a for a in actions if not (isinstance(a, GrantAdmin) and a.user_id not in {*chat.members, *added}))
            done = apply(chat, doable)
            repo.save_actual(s, done, self.now)


def _whole(db: Engine, now: datetime) -> dict[str, set[str]]:
    with Session(db) as s:
        domain = effective(repo.load_domain(s))
        actual = repo.load_actual(s)
    return _by_building(plan(domain, actual, now, POLICY, TEMPLATES).actions)


def _by_building(actions: tuple[Action, ...]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for a in actions:
        out[a.building].add(a.key())
    return out


@pytest.mark.parametrize("seed", range(4))
def test_incremental_plans_equal_whole_plans(engine: Engine, seed: int) -> None:
    rnd = random.Random(seed)
    region = Region(engine, rnd)
    memory = PlanMemory(full_every=timedelta(days=365), crowd=100.0)  # a tiny region: merge, never reload for many touches
    latest: dict[str, set[str]] = {}  # each building's actions as its latest incremental plan had them
    steps = [
        region.time_passes,
        region.time_passes,
        region.bind,
        region.claims,
        region.claims,
        region.grant,
        region.resident,
        region.staff,
        region.organisation,
        region.chat_changes,
        region.chat_changes,
        region.refusal,
        region.moves,
    ]
    incremental = whole = 0
    for _ in range(60):
        step = rnd.choice(steps)
        step()
        now = region.now
        memory.catch_up(engine, now)
        chosen = memory.take(now)
        result = plan(memory.domain, memory.actual, now, POLICY, TEMPLATES, chosen)
        got = _by_building(result.actions)
        for b in memory.domain.bindings if chosen is None else chosen:
            latest[b] = got.get(b, set())
        incremental += chosen is not None
        whole += chosen is None
        want = _whole(engine, now)
        for b in memory.domain.bindings:
            assert latest.get(b) == want.get(b, set()), f"{step.__name__}: building {b} planned {latest.get(b)}, a whole plan {want.get(b)}"
        with Session(engine) as s:
            fresh = effective(repo.load_domain(s))
        assert memory.next_change() == fresh.next_boundary(now)
        assert dict(memory.domain.periods) == dict(fresh.periods) and dict(memory.domain.grants) == dict(fresh.grants)
        assert dict(memory.domain.residents) == dict(fresh.residents) and dict(memory.domain.refused) == dict(fresh.refused)
        if got and rnd.random() < 0.5:
            done = rnd.choice(sorted(got))
            region.carried_out([a for a in result.actions if a.building == done])
    assert incremental > 2 * whole  # most steps were planned incrementally (staff and organisations reload)


def test_another_taker_makes_the_memory_load_everything(engine: Engine) -> None:
    region = Region(engine, random.Random(1))
    memory = PlanMemory()
    memory.catch_up(engine, region.now)
    assert memory.take(region.now) is None and memory.loads == 1
    memory.catch_up(engine, region.now)
    assert memory.take(region.now) == frozenset() and memory.loads == 1  # nothing changed: nothing to plan
    region.chat_changes()
    take_all(engine, "run-of-sync-once", region.now)  # `sync --once` planned in between, taking the touches
    memory.catch_up(engine, region.now)
    assert memory.take(region.now) is None and memory.loads == 2
