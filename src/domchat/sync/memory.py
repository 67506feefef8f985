"""What the daemon keeps between cycles so that a wake-up plans only what changed (issue 10, item 4).

The stored snapshot (its effective management periods), the chats as last observed, and each
bound building's next boundary (a local midnight at which its chat should change) in a heap.
Each cycle takes the touches the database's triggers recorded (migration 0007_touches), reloads
only the rows of the buildings and chats they name, and hands the planner those buildings, the
ones whose boundary has come, and the ones with actions left pending. A wake-up with nothing to
do costs one `DELETE … RETURNING` of an empty table and a look at the heap's top.

Everything is loaded again, and planned in full, on first use, after a touch of a region-wide
table (organisations, staff), when another process took the touches (a `sync --once`, another
instance), when the clock went back, when many touches came at once, and every
`full_every` as a safety net.
"""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TypeVar

import structlog
from sqlalchemy.engine import Engine

from domchat.domain.model import ActualChat, Building, ChatBinding, Domain, GuestGrant, ManagementPeriod, Pinned, UserId
from domchat.mapping.periods import effective
from domchat.storage import repo
from domchat.storage.db import snapshot, transaction

log = structlog.get_logger("domchat.memory")

TAKEN_BY = "touch.taken_by"
"""Bookmark: who took the touches last (a memory's id, or a whole plan's run id). A memory that
finds another name there missed touches and loads everything again."""


def take_all(db: Engine, taker: str, at: datetime) -> None:
    """Drop every touch: a whole plan, about to load everything, has no use for them."""
    with transaction(db) as s:
        repo.take_touches(s)
        repo.set_bookmark(s, TAKEN_BY, taker, at)


@dataclass
class _Region:
    """The snapshot's mappings, kept as dicts that touches update in place."""

    buildings: dict[str, Building] = field(default_factory=dict)
    periods: dict[str, tuple[ManagementPeriod, ...]] = field(default_factory=dict)
    bindings: dict[str, ChatBinding] = field(default_factory=dict)
    grants: dict[str, tuple[GuestGrant, ...]] = field(default_factory=dict)
    residents: dict[str, frozenset[UserId]] = field(default_factory=dict)
    refused: dict[int, frozenset[UserId]] = field(default_factory=dict)
    pins: dict[str, tuple[Pinned, ...]] = field(default_factory=dict)


class PlanMemory:
    """The daemon's planning state across cycles; see the module's docstring."""

    def __init__(self, full_every: timedelta = timedelta(hours=6), *, crowd: float = 0.25) -> None:
        self.full_every = full_every
        self.crowd = crowd
        """Touches naming more than this share of the region's buildings load everything again
        (one whole load is cheaper than that many scoped ones)."""
        self.id = f"memory:{uuid.uuid4()}"
        self._domain: Domain | None = None
        self._region = _Region()
        self.actual: dict[int, ActualChat] = {}
        self._chat_building: dict[int, str] = {}
        self._next: dict[str, datetime] = {}
        self._heap: list[tuple[datetime, str]] = []
        self._ring: list[int] | None = None
        self._dirty: set[str] = set()
        self._whole = True
        """The next `take` hands over every building (a whole load happened since the last)."""
        self._full_at: datetime | None = None
        self._now: datetime | None = None
        self.loads = 0
        """Whole loads so far (tests and the bench look at it)."""

    @property
    def domain(self) -> Domain:
        assert self._domain is not None, "catch_up first"
        return self._domain

    def invalidate(self) -> None:
        """Forget everything: the next cycle loads and plans in full (after an error mid-way,
        touches may have been taken and not planned)."""
        self._domain = None

    # Keeping up with the database

    def catch_up(self, db: Engine, now: datetime) -> None:
        """Take the touches recorded since the last call and reload what they name (or everything)."""
        whole = self._domain is None or self._now is None or now < self._now
        whole = whole or (self._full_at is not None and now - self._full_at >= self.full_every)
        self._now = now
        valid, self._domain = self._domain, None  # until the merge is complete: touches are taken
        with transaction(db) as s:
            if repo.get_bookmark(s, TAKEN_BY) != self.id:
                whole = True
                repo.set_bookmark(s, TAKEN_BY, self.id, now)
            touched = repo.take_touches(s)
        crowd = len(touched.buildings) + len(touched.chats) > self.crowd * len(self._region.buildings)
        if whole or touched.everything or (touched.rows and crowd):
            self._load_all(db, now)
        else:
            assert valid is not None
            if touched.rows:
                self._merge(db, valid, touched.buildings, touched.chats)
            self._domain = valid

    def _load_all(self, db: Engine, now: datetime) -> None:
        with snapshot(db) as s:  # a pull the daemon stores meanwhile: whole or not at all
            d = effective(repo.load_domain(s))
            self.actual = repo.load_actual(s)
        self._region = _Region(
            dict(d.buildings), dict(d.periods), dict(d.bindings), dict(d.grants), dict(d.residents), dict(d.refused), dict(d.pins)
        )
        r = self._region
        self._domain = Domain(r.buildings, d.organisations, r.periods, r.bindings, d.staff, r.grants, r.residents, r.refused, r.pins)
        self._chat_building = {b.chat_id: k for k, b in r.bindings.items()}
        self._ring = None
        self._next, self._heap = {}, []
        self._dirty.clear()
        self._whole, self._full_at = True, now
        self.loads += 1
        log.info("memory.loaded", buildings=len(r.buildings), bound=len(r.bindings), chats=len(self.actual))

    def _merge(self, db: Engine, domain: Domain, buildings: Collection[str], chats: Collection[int]) -> None:
        """Reload the rows of `buildings` and `chats` into the kept snapshot (`domain` holds the
        same dicts, and the region-wide organisations their periods are derived with)."""
        r = self._region
        with snapshot(db) as s:
            part = effective(replace(repo.load_domain(s, buildings), organisations=domain.organisations))
            new_chats = {b.chat_id for b in part.bindings.values()}
            refused = repo.load_refused(s, {*chats, *new_chats})
            seen = repo.load_actual(s, chats)
        for b in buildings:
            for g in r.grants.get(b, ()):
                r.residents.pop(g.grant_id, None)
            before = r.bindings.get(b)
            _put(r.buildings, b, part.buildings.get(b))
            _put(r.periods, b, part.periods.get(b))
            _put(r.bindings, b, part.bindings.get(b))
            _put(r.grants, b, part.grants.get(b))
            _put(r.pins, b, part.pins.get(b))
            after = r.bindings.get(b)
            if before != after:
                self._ring = None
                if before is not None:
                    self._chat_building.pop(before.chat_id, None)
                if after is not None:
                    self._chat_building[after.chat_id] = b
        r.residents.update(part.residents)
        for c in {*chats, *new_chats}:
            _put(r.refused, c, refused.get(c))
        for c in chats:
            _put(self.actual, c, seen.get(c))
        self._dirty.update(buildings)
        self._dirty.update(k for c in chats if (k := self._chat_building.get(c)) is not None)

    # What to plan

    def take(self, now: datetime, chats: Iterable[int] = ()) -> frozenset[str] | None:
        """The buildings to plan at `now` (None: all of them): those touched since the last call,
        those whose next boundary has come, and those bound to `chats` (actions left pending).
        Their next boundaries are noted from here."""
        domain = self.domain
        if self._whole:
            self._whole = False
            self._dirty.clear()
            self._next = {b: t for b in domain.bindings if (t := domain.local_midnights_after(b, now)) is not None}
            self._heap = [(t, b) for b, t in self._next.items()]
            heapq.heapify(self._heap)
            return None
        chosen = self._dirty | {b for c in chats if (b := self._chat_building.get(c)) is not None}
        self._dirty = set()
        while self._heap and self._heap[0][0] <= now:
            t, b = heapq.heappop(self._heap)
            if self._next.get(b) == t:
                chosen.add(b)
        for b in chosen:
            t = domain.local_midnights_after(b, now) if b in domain.bindings else None
            if t is None:
                self._next.pop(b, None)
            elif self._next.get(b) != t:
                self._next[b] = t
                heapq.heappush(self._heap, (t, b))
        return frozenset(chosen)

    def next_change(self) -> datetime | None:
        """The first boundary to come in the whole region (as of the last `take`)."""
        while self._heap and self._next.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    @property
    def ring(self) -> list[int]:
        """The bound chats in order, for the spread re-reads (rebuilt when a binding changes)."""
        if self._ring is None:
            self._ring = sorted(self._chat_building)
        return self._ring


K = TypeVar("K")
V = TypeVar("V")


def _put(kept: dict[K, V], key: K, value: V | None) -> None:
    if value is None:
        kept.pop(key, None)
    else:
        kept[key] = value
