"""Reading and writing the domain and the observed chat state. Callers own the transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import delete
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from domchat.domain.model import (
    ActualChat,
    Basis,
    Building,
    BuildingState,
    ChatBinding,
    Domain,
    GuestGrant,
    ManagementPeriod,
    MemberState,
    Organisation,
    OrgKind,
)
from domchat.storage import notices
from domchat.storage.tables import (
    ActionRow,
    BindingRow,
    BookmarkRow,
    BuildingRow,
    ChatRow,
    GrantRow,
    MemberRow,
    OrganisationRow,
    PeriodRow,
    RefusalRow,
    ResidentRow,
    StaffRow,
    TouchRow,
    UpdateRow,
)

K = TypeVar("K", str, int)


_CHUNK = 500
"""Most values in one `IN (...)` list (SQLite bounds a statement's parameters)."""


def _chunks(keys: Collection[K] | None) -> Iterator[list[K] | None]:
    """`keys` in slices for `IN` lists; one None for "no filter"."""
    if keys is None:
        yield None
        return
    ordered = sorted(keys)
    for n in range(0, len(ordered), _CHUNK):
        yield ordered[n : n + _CHUNK]


def load_domain(session: Session, buildings: Collection[str] | None = None) -> Domain:
    """The stored snapshot; with `buildings`, only those buildings' rows (their periods,
    binding, grants and residents, pins, and the refusals in their chats), and none of the
    region-wide ones (organisations, staff), which the caller keeps from a whole load."""
    # Plain columns, not ORM objects: a region has tens of thousands of rows per table, and
    # building a model object per row cost three times the rest of loading (bench/storage.py).
    cols = (col(BuildingRow.fias_guid), col(BuildingRow.address), col(BuildingRow.tz), col(BuildingRow.oktmo), col(BuildingRow.state))
    found: dict[str, Building] = {}
    periods: dict[str, list[ManagementPeriod]] = defaultdict(list)
    pcols = (
        col(PeriodRow.building),
        col(PeriodRow.org),
        col(PeriodRow.start),
        col(PeriodRow.until),
        col(PeriodRow.basis),
        col(PeriodRow.source_ids),
    )
    bindings: dict[str, ChatBinding] = {}
    grants: dict[str, list[GuestGrant]] = defaultdict(list)
    gcols = (GrantRow.grant_id, GrantRow.building, GrantRow.premises, GrantRow.person_ref, GrantRow.valid_from, GrantRow.valid_to)
    for part in _chunks(buildings):
        q = sa_select(*cols)
        pq = sa_select(*pcols).order_by(col(PeriodRow.building), col(PeriodRow.start))
        bq = select(BindingRow)
        gq = sa_select(*map(col, gcols), col(GrantRow.status)).order_by(col(GrantRow.grant_id))
        if part is not None:
            q, pq = q.where(col(BuildingRow.fias_guid).in_(part)), pq.where(col(PeriodRow.building).in_(part))
            bq, gq = bq.where(col(BindingRow.building).in_(part)), gq.where(col(GrantRow.building).in_(part))
        found.update((f, Building(f, address, tz, oktmo, BuildingState(state))) for f, address, tz, oktmo, state in session.execute(q))
        for building, org, start, until, basis, sources in session.execute(pq):
            periods[building].append(ManagementPeriod(building, org, start, until, Basis(basis), tuple(x for x in sources.split(",") if x)))
        bindings.update((r.building, ChatBinding(r.building, r.chat_id, r.bound_at, r.bound_by)) for r in session.exec(bq))
        for gid, building, premises, person, start, end, status in session.execute(gq):
            grants[building].append(GuestGrant(gid, building, premises, person, start, end, revoked=status != "active"))
    bindings = {b: v for b, v in bindings.items() if b in found}
    scoped = buildings is not None
    organisations = (
        {}
        if scoped
        else {
            r.ogrn: Organisation(r.ogrn, r.name, r.inn, OrgKind(r.kind), r.root_guid, r.ppa_guid, r.phone, r.dispatch_phone)
            for r in session.exec(select(OrganisationRow))
        }
    )
    staff: dict[str, set[int]] = defaultdict(set)
    for s in () if scoped else session.exec(select(StaffRow).where(col(StaffRow.revoked_at).is_(None))):
        staff[s.org].add(s.user_id)
    residents: dict[str, set[int]] = defaultdict(set)
    grant_ids = {g.grant_id for gs in grants.values() for g in gs} if scoped else None
    for part in _chunks(grant_ids):
        rq = select(ResidentRow.grant_id, ResidentRow.user_id)
        for grant_id, user_id in session.exec(rq if part is None else rq.where(col(ResidentRow.grant_id).in_(part))):
            residents[grant_id].add(user_id)
    return Domain(
        buildings=found,
        organisations=organisations,
        periods={b: tuple(ps) for b, ps in periods.items()},
        bindings=bindings,
        staff={o: frozenset(u) for o, u in staff.items()},
        grants={b: tuple(gs) for b, gs in grants.items()},
        residents={g: frozenset(u) for g, u in residents.items()},
        refused=load_refused(session, {b.chat_id for b in bindings.values()} if scoped else None),
        pins=notices.load_pins(session, buildings),
    )


def load_refused(session: Session, chat_ids: Collection[int] | None = None) -> dict[int, frozenset[int]]:
    """Who the platform refused to add, by chat (all chats, or those of `chat_ids`)."""
    refused: dict[int, set[int]] = defaultdict(set)
    for part in _chunks(chat_ids):
        q = select(RefusalRow.chat_id, RefusalRow.user_id)
        for chat_id, user_id in session.exec(q if part is None else q.where(col(RefusalRow.chat_id).in_(part))):
            refused[chat_id].add(user_id)
    return {c: frozenset(u) for c, u in refused.items()}


def period(p: PeriodRow) -> ManagementPeriod:
    return ManagementPeriod(
        building=p.building,
        org=p.org,
        start=p.start,
        until=p.until,
        basis=Basis(p.basis),
        source_ids=tuple(x for x in p.source_ids.split(",") if x),
    )


def save_building(session: Session, b: Building, *, tz_assumed: bool, at: datetime) -> tuple[Building | None, bool]:
    """Insert or update a building; returns its previous value and whether anything changed."""
    row = session.get(BuildingRow, b.fias_guid)
    before = Building(row.fias_guid, row.address, row.tz, row.oktmo, BuildingState(row.state)) if row else None
    if before == b and row is not None and row.tz_assumed == tz_assumed:
        return before, False
    row = row or BuildingRow(fias_guid=b.fias_guid, address=b.address, tz=b.tz, updated_at=at)
    row.address, row.tz, row.oktmo, row.state, row.tz_assumed, row.updated_at = b.address, b.tz, b.oktmo, b.state.value, tz_assumed, at
    session.add(row)
    return before, True


def save_organisation(session: Session, o: Organisation, at: datetime) -> bool:
    row = session.get(OrganisationRow, o.ogrn)
    if row is not None and (row.name, row.inn, row.root_guid, row.ppa_guid) == (o.name, o.inn, o.root_guid, o.ppa_guid):
        return False
    row = row or OrganisationRow(ogrn=o.ogrn, name=o.name, updated_at=at)
    row.name, row.inn, row.kind, row.root_guid, row.ppa_guid, row.updated_at = o.name, o.inn, o.kind.value, o.root_guid, o.ppa_guid, at
    if o.phone:
        row.phone = o.phone
    if o.dispatch_phone:
        row.dispatch_phone = o.dispatch_phone
    session.add(row)
    return True


def replace_periods(
    session: Session, org: str, basis: Basis, periods: Iterable[ManagementPeriod]
) -> dict[str, tuple[tuple[ManagementPeriod, ...], tuple[ManagementPeriod, ...]]]:
    """Replace what one organisation's answer on one basis covers; returns the changes per building."""
    new: dict[str, list[ManagementPeriod]] = defaultdict(list)
    for p in periods:
        new[p.building].append(p)
    old: dict[str, list[ManagementPeriod]] = defaultdict(list)
    rows = list(session.exec(select(PeriodRow).where(PeriodRow.org == org, PeriodRow.basis == basis.value)))
    for r in rows:
        old[r.building].append(period(r))
    changed: dict[str, tuple[tuple[ManagementPeriod, ...], tuple[ManagementPeriod, ...]]] = {}
    for building in set(old) | set(new):
        before = tuple(sorted(old.get(building, ()), key=_sort_key))
        after = tuple(sorted(new.get(building, ()), key=_sort_key))
        if before != after:
            changed[building] = (before, after)
    if not changed:
        return changed
    session.execute(
        delete(PeriodRow).where(col(PeriodRow.org) == org, col(PeriodRow.basis) == basis.value, col(PeriodRow.building).in_(list(changed)))
    )
    for building in changed:
        for p in new.get(building, ()):
            session.add(
                PeriodRow(
                    building=p.building, org=p.org, start=p.start, until=p.until, basis=p.basis.value, source_ids=",".join(p.source_ids)
                )
            )
    return changed


def _sort_key(p: ManagementPeriod) -> tuple[object, ...]:
    return (p.start, p.until or p.start.max, p.source_ids)


def stored_period_orgs(session: Session, basis: Basis) -> dict[str, int]:
    """How many buildings each organisation has on `basis` in the stored snapshot."""
    counts: dict[str, int] = defaultdict(int)
    for r in session.exec(select(PeriodRow).where(PeriodRow.basis == basis.value)):
        counts[r.org] += 1
    return counts


# Observed chat state


def load_actual(session: Session, chat_ids: Collection[int] | None = None) -> dict[int, ActualChat]:
    """What was last seen of every chat, or of those of `chat_ids`."""
    members: dict[int, dict[int, MemberState]] = defaultdict(dict)
    rights: dict[str, frozenset[str]] = {}  # the same few sets of rights, shared, not one per member
    chats: list[ChatRow] = []
    for part in _chunks(chat_ids):
        stmt = select(ChatRow)
        mstmt = sa_select(
            col(MemberRow.chat_id), col(MemberRow.user_id), col(MemberRow.is_admin), col(MemberRow.is_owner), col(MemberRow.permissions)
        )
        if part is not None:
            stmt, mstmt = stmt.where(col(ChatRow.chat_id).in_(part)), mstmt.where(col(MemberRow.chat_id).in_(part))
        for chat_id, user_id, is_admin, is_owner, perms in session.execute(mstmt):
            if perms not in rights:
                rights[perms] = frozenset(x for x in perms.split(",") if x)
            members[chat_id][user_id] = MemberState(is_admin, is_owner, rights[perms])
        chats.extend(session.exec(stmt))
    return {
        c.chat_id: ActualChat(c.chat_id, c.title, c.pinned_text, c.owner_id, members.get(c.chat_id, {}), c.status == "active")
        for c in chats
    }


def save_actual(session: Session, chat: ActualChat, at: datetime) -> None:
    """Replace what is known of one chat with a fresh observation. Only members that changed
    are written: a re-read that finds the chat as it was leaves no touch (migration 0007)."""
    row = session.get(ChatRow, chat.chat_id) or ChatRow(chat_id=chat.chat_id, observed_at=at)
    row.title, row.owner_id, row.pinned_text, row.observed_at = chat.title, chat.owner_id, chat.pinned_text, at
    row.status = "active" if chat.active else "removed"
    session.add(row)
    stored = {m.user_id: m for m in session.exec(select(MemberRow).where(col(MemberRow.chat_id) == chat.chat_id))}
    for user, m in stored.items():
        if user not in chat.members:
            session.delete(m)
    for user, state in chat.members.items():
        new = _member_row(chat.chat_id, user, state)
        old = stored.get(user)
        if old is None:
            session.add(new)
        elif (old.is_owner, old.is_admin, old.permissions) != (new.is_owner, new.is_admin, new.permissions):
            old.is_owner, old.is_admin, old.permissions = new.is_owner, new.is_admin, new.permissions
            session.add(old)


def forget_chat(session: Session, chat_id: int) -> None:
    """Drop what was seen of a chat: the engine re-reads a bound chat it knows nothing of."""
    session.execute(delete(MemberRow).where(col(MemberRow.chat_id) == chat_id))
    row = session.get(ChatRow, chat_id)
    if row is not None:
        session.delete(row)


def _member_row(chat_id: int, user: int, m: MemberState) -> MemberRow:
    return MemberRow(chat_id=chat_id, user_id=user, is_owner=m.is_owner, is_admin=m.is_admin, permissions=",".join(sorted(m.permissions)))


def set_member(session: Session, chat_id: int, user: int, state: MemberState | None) -> None:
    """Record one member's new state after an effect (None: no longer a member)."""
    row = session.get(MemberRow, (chat_id, user))
    if state is None:
        if row is not None:
            session.delete(row)
        return
    new = _member_row(chat_id, user, state)
    if row is None:
        session.add(new)
    else:
        row.is_owner, row.is_admin, row.permissions = new.is_owner, new.is_admin, new.permissions
        session.add(row)


def add_member(session: Session, chat_id: int, user: int) -> None:
    """Someone joined: recorded as a plain member unless already known (rights are kept)."""
    if session.get(MemberRow, (chat_id, user)) is None:
        session.add(MemberRow(chat_id=chat_id, user_id=user))
    refusal = session.get(RefusalRow, (chat_id, user))
    if refusal is not None:
        session.delete(refusal)


def save_grant(session: Session, g: GuestGrant, *, source: str, status: str, at: datetime) -> tuple[GrantRow | None, bool]:
    """Insert or update a grant; returns a copy of the previous row and whether anything changed."""
    row = session.get(GrantRow, g.grant_id)
    before = row.model_copy() if row is not None else None
    values = {
        "building": g.building,
        "premises": g.premises,
        "person_ref": g.person_ref,
        "valid_from": g.valid_from,
        "valid_to": g.valid_to,
        "status": status,
    }
    if row is not None and all(getattr(row, k) == v for k, v in values.items()):
        return before, False
    row = row or GrantRow(grant_id=g.grant_id, building=g.building, valid_from=g.valid_from, updated_at=at)
    for k, v in values.items():
        setattr(row, k, v)
    row.source, row.updated_at = source, at
    session.add(row)
    return before, True


def demote(session: Session, chat_id: int, user: int) -> None:
    """The user keeps membership but no longer has admin rights."""
    row = session.get(MemberRow, (chat_id, user))
    if row is not None:
        row.is_admin, row.permissions = False, ""
        session.add(row)


def set_chat_fields(session: Session, chat_id: int, at: datetime, **fields: object) -> None:
    row = session.get(ChatRow, chat_id)
    if row is None:
        return
    for name, value in fields.items():
        setattr(row, name, value)
    row.observed_at = at
    session.add(row)


def next_ordinal(session: Session) -> int:
    """The next free place in the execution order of stored actions."""
    last = session.exec(select(ActionRow.ordinal).order_by(col(ActionRow.ordinal).desc()).limit(1)).first()
    return (last or 0) + 1


# Touches


@dataclass(frozen=True)
class Touches:
    """What changed since the touches were last taken (migration 0007_touches)."""

    buildings: frozenset[str]
    chats: frozenset[int]
    everything: bool
    rows: int


def take_touches(session: Session) -> Touches:
    """Take (delete and return) every touch recorded so far. Deleting exactly the rows read, in
    one statement, never loses one: a writer that commits later leaves its touch for next time
    (a cursor on `seq` would skip a lower number committed after a higher one)."""
    buildings: set[str] = set()
    chats: set[int] = set()
    everything, rows = False, 0
    for building, chat_id in session.execute(delete(TouchRow).returning(col(TouchRow.building), col(TouchRow.chat_id))):
        rows += 1
        if building is not None:
            buildings.add(building)
        elif chat_id is not None:
            chats.add(chat_id)
        else:
            everything = True
    return Touches(frozenset(buildings), frozenset(chats), everything, rows)


# Bookmarks


def get_bookmark(session: Session, name: str) -> str | None:
    row = session.get(BookmarkRow, name)
    return row.value if row else None


def set_bookmark(session: Session, name: str, value: str, at: datetime) -> None:
    row = session.get(BookmarkRow, name) or BookmarkRow(name=name, value=value, updated_at=at)
    row.value, row.updated_at = value, at
    session.add(row)


# MAX updates


def add_update(session: Session, key: str, at: datetime, update_type: str, body: str) -> bool:
    """Store an update unless one with its key is stored (or being stored by another writer,
    which PostgreSQL waits for): True if this call stored it."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(UpdateRow).values(update_key=key, received_at=at, update_type=update_type, body=body)
    stored = session.execute(statement.on_conflict_do_nothing(index_elements=["update_key"]).returning(col(UpdateRow.id)))
    return stored.first() is not None
