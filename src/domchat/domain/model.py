"""The domain: plain frozen types, no I/O.

Instants are timezone-aware UTC datetimes. Management and grant dates are *building-local*
calendar dates: a period starting on 1 December begins at 00:00 on 1 December in the
building's own time zone.
"""

from __future__ import annotations

import enum
import functools
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domchat.permissions import Permission as Permission  # noqa: PLC0414  (re-exported: the domain speaks of rights)

UserId = int
ChatId = int


class OrgKind(enum.StrEnum):
    MANAGING_COMPANY = "uo"  # управляющая организация (licensed)
    HOA = "tsj"  # ТСЖ
    HOUSING_COOP = "jsk"  # ЖСК / ЖК / иной кооператив


class Basis(enum.StrEnum):
    """Which GIS ZhKH record a management period comes from."""

    LICENCE = "licence"  # inclusion of the house in the licensee's licence register entry
    CONTRACT = "contract"  # an approved object of a management contract
    CHARTER = "charter"  # an approved object of an HOA/cooperative charter


class BuildingState(enum.StrEnum):
    ACTIVE = "active"
    TERMINATED = "terminated"  # demolished / emergency, per GIS TerminationDate or State


@functools.cache
def _zone(name: str) -> ZoneInfo:
    # ZoneInfo keeps only a few zones in its own cache; Russia has eleven.
    return ZoneInfo(name)


@dataclass(frozen=True, slots=True)
class Building:
    fias_guid: str
    address: str
    tz: str
    """IANA (Olson) zone name of the building, e.g. ``Asia/Yekaterinburg``."""
    oktmo: str | None = None
    state: BuildingState = BuildingState.ACTIVE

    def zone(self) -> ZoneInfo:
        return _zone(self.tz)

    def local_midnight(self, day: date) -> datetime:
        """The UTC instant at which `day` begins in this building's zone."""
        return datetime.combine(day, time(0), tzinfo=self.zone()).astimezone(ZoneInfo("UTC"))

    def local_date(self, at: datetime) -> date:
        return at.astimezone(self.zone()).date()


@dataclass(frozen=True, slots=True)
class Organisation:
    ogrn: str
    name: str
    inn: str = ""
    kind: OrgKind = OrgKind.MANAGING_COMPANY
    root_guid: str = ""
    ppa_guid: str = ""
    phone: str = ""
    dispatch_phone: str = ""


@dataclass(frozen=True, slots=True)
class ManagementPeriod:
    """One claim that `org` manages `building` from `start` until (not including) `until`."""

    building: str
    org: str
    start: date
    until: date | None
    """First local day on which the claim no longer holds; None while open-ended."""
    basis: Basis
    source_ids: tuple[str, ...] = ()
    """GIS document identifiers behind the claim (licence entry, contract object version…)."""

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.until is None or day < self.until)

    def doc(self) -> dict[str, object]:
        """A JSON-ready view (audit `before`/`after`, `domchat conflicts`)."""
        until = self.until.isoformat() if self.until else None
        return {
            "org": self.org,
            "start": self.start.isoformat(),
            "until": until,
            "basis": self.basis.value,
            "sources": list(self.source_ids),
        }


@dataclass(frozen=True, slots=True)
class Manager:
    """Who manages a building on one local day, and on what grounds."""

    org: str
    periods: tuple[ManagementPeriod, ...]

    @property
    def source_ids(self) -> tuple[str, ...]:
        return tuple(sorted({s for p in self.periods for s in p.source_ids}))


@dataclass(frozen=True, slots=True)
class Conflict:
    """Two or more organisations claim the same building on the same local day."""

    building: str
    day: date
    claims: tuple[ManagementPeriod, ...]

    @property
    def orgs(self) -> tuple[str, ...]:
        return tuple(sorted({p.org for p in self.claims}))


def manager_on(periods: tuple[ManagementPeriod, ...], day: date) -> Manager | Conflict | None:
    """The organisation managing on `day`, a conflict when several claim it, or None."""
    claims = tuple(p for p in periods if p.covers(day))
    if not claims:
        return None
    orgs = {p.org for p in claims}
    if len(orgs) > 1:
        return Conflict(building=claims[0].building, day=day, claims=claims)
    return Manager(org=next(iter(orgs)), periods=claims)


def boundaries(periods: tuple[ManagementPeriod, ...]) -> frozenset[date]:
    """Every local day on which some period starts or ends."""
    days: set[date] = set()
    for p in periods:
        days.add(p.start)
        if p.until is not None:
            days.add(p.until)
    return frozenset(days)


PREMISES_MAX = 64
PERSON_REF_MAX = 128


def text_problem(value: str, limit: int) -> str | None:
    """Why `value` cannot be kept as a short text, if it cannot. Checked before storing, because
    the databases differ: PostgreSQL refuses a NUL or an over-long value with an error that names
    no row, SQLite keeps both."""
    if len(value) > limit:
        return f"is longer than {limit} characters"
    bad = next((c for c in value if unicodedata.category(c) == "Cc"), None)
    return None if bad is None else f"holds the control character U+{ord(bad):04X}"


def grant_problem(premises: str, person_ref: str) -> str | None:
    """Why a grant's free-text fields cannot be stored, naming the field; None when they can."""
    for name, value, limit in (("premises", premises, PREMISES_MAX), ("person_ref", person_ref, PERSON_REF_MAX)):
        problem = text_problem(value, limit)
        if problem is not None:
            return f"{name} {problem}"
    return None


@dataclass(frozen=True, slots=True)
class GuestGrant:
    grant_id: str
    building: str
    premises: str
    person_ref: str
    valid_from: date
    valid_to: date | None
    """Last local day of validity (inclusive), None when open-ended."""
    revoked: bool = False

    def in_force(self, day: date) -> bool:
        return not self.revoked and self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True, slots=True)
class ChatBinding:
    building: str
    chat_id: ChatId
    bound_at: datetime
    bound_by: UserId
    """The authority account that owned the chat when the code was accepted."""


@dataclass(frozen=True, slots=True)
class Policy:
    """What the authority decided about chats: accounts, rights, how to treat drift."""

    bot_user_id: UserId
    authority_accounts: frozenset[UserId]
    staff_permissions: frozenset[Permission]
    authority_permissions: frozenset[Permission]
    repair_admin_drift: bool = True
    """Revoke admin rights nobody granted (True) or only report them (False)."""
    repair_member_drift: bool = True
    """Remove members nobody entitled (True) or only report them to the audit (False)."""
    authority_name: str = "орган жилищного надзора"
    """How the chat card names the authority (Russian, read by residents)."""
    services: tuple[tuple[str, str], ...] = ()
    """(button text, URL) of the residents' services the card links to, in order (docs/notices.md)."""
    dispatch_button: str = ""
    """Text of the card's button that calls the manager's emergency dispatch; none when empty."""


@dataclass(frozen=True, slots=True)
class MemberState:
    is_admin: bool = False
    is_owner: bool = False
    permissions: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ActualChat:
    """What a chat looks like in MAX, as last observed."""

    chat_id: ChatId
    title: str | None
    pinned_text: str | None
    owner_id: UserId | None
    members: Mapping[UserId, MemberState]
    active: bool = True
    """False once the bot was removed from the chat or the chat was closed."""


@dataclass(frozen=True, slots=True)
class Domain:
    """Everything domchat knows that decides what chats should look like; a pure value."""

    buildings: Mapping[str, Building]
    organisations: Mapping[str, Organisation]
    periods: Mapping[str, tuple[ManagementPeriod, ...]]
    """Management periods by building FIAS GUID."""
    bindings: Mapping[str, ChatBinding]
    """Chat bindings by building FIAS GUID."""
    staff: Mapping[str, frozenset[UserId]]
    """Enrolled staff user ids by organisation OGRN."""
    grants: Mapping[str, tuple[GuestGrant, ...]] = field(default_factory=dict)
    """Guest-access grants by building FIAS GUID."""
    residents: Mapping[str, frozenset[UserId]] = field(default_factory=dict)
    """Bound resident user ids by grant id."""
    refused: Mapping[ChatId, frozenset[UserId]] = field(default_factory=dict)
    """Users the platform refused to add to a chat (privacy): not added again, may join by link."""

    def local_midnights_after(self, building: str, after: datetime) -> datetime | None:
        """The first instant after `after` at which this building's manager or residents may change."""
        b = self.buildings[building]
        days = set(boundaries(self.periods.get(building, ())))
        for g in self.grants.get(building, ()):
            days.add(g.valid_from)
            if g.valid_to is not None:
                days.add(g.valid_to + timedelta(days=1))
        instants = [t for t in (b.local_midnight(d) for d in days) if t > after]
        return min(instants, default=None)

    def next_boundary(self, after: datetime) -> datetime | None:
        """The first instant after `after` at which some bound chat should change."""
        instants = [t for b in self.bindings if (t := self.local_midnights_after(b, after)) is not None]
        return min(instants, default=None)

    def conflicts(self, at: datetime) -> list[Conflict]:
        """Every building two or more organisations claim on its local date at `at`."""
        found = []
        for building, periods in sorted(self.periods.items()):
            b = self.buildings.get(building)
            m = manager_on(periods, b.local_date(at)) if b is not None else None
            if isinstance(m, Conflict):
                found.append(m)
        return found
