"""Pulling from GIS ZhKH into the stored snapshot, without ever mistaking silence for absence.

Everything is fetched first; only a complete pull is stored, in one transaction. Each
organisation's answer replaces only the claims that answer covers (its licence entries, its
contracts or charters). An organisation that suddenly answers with nothing while it had claims
keeps them ("unknown", not "nothing"), audited, until an operator forces the change. Every
change of a building's claims is audited with its GIS documents. `docs/management.md` says how
the stored claims become management periods.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from domchat.clock import Clock
from domchat.domain.model import Basis, Building, ManagementPeriod, OrgKind
from domchat.domain.notices import Deadlines
from domchat.domain.reasons import because
from domchat.errors import GisError
from domchat.gis_client.types import ActualLicense, CAChDocument, GuestGrantRecord, HouseData, OrgRecord
from domchat.mapping import gis as gismap
from domchat.mapping import notices as noticemap
from domchat.mapping import periods as periodmap
from domchat.storage import notices as notice_store
from domchat.storage import repo
from domchat.storage.audit import AuditEvent, append
from domchat.storage.db import transaction
from domchat.storage.tables import BuildingRow
from domchat.sync import grants
from domchat.sync.crash import crash_point
from domchat.sync.ports import GisSource, Progress, no_progress
from domchat.sync.scheduler import Rereads, rereads

log = structlog.get_logger("domchat.pull")
T = TypeVar("T")

HOUSES_READ = "gis.houses.full_read"
"""The instant the houses' ring of re-reads is read up to (`scheduler.rereads`; advanced in the
transaction that stores the slice), and `HOUSES_AFTER` the last house of that slice."""
HOUSES_AFTER = "gis.houses.reread_after"
DOCUMENTS_READ = "gis.documents.full_read"
"""When the contracts and charters of every managed house were last read."""
LICENCES_DIGEST = "gis.licences.digest"
"""A digest of the licence register as last stored: contracts are re-read when it changes."""
SOURCE_READ = "gis.read:"
"""Bookmark prefix: + a source's name (`PullReport.read`) → when (wall clock) it was last read in
full and stored; `domchat status` shows each."""


@dataclass(frozen=True)
class Hoa:
    """A homeowners' association and one house it manages, from the authority's register."""

    ogrn: str
    fias_guid: str
    address: str


@dataclass
class PullReport:
    ok: bool = True
    licensees: int = 0
    buildings_new: int = 0
    buildings_changed: int = 0
    period_changes: int = 0
    documents: int = 0
    kept_empty: list[str] = field(default_factory=list)
    skipped: int = 0
    grants_changed: int = 0
    error: str = ""
    problems: list[str] = field(default_factory=list)
    """What this pull could not read (a house GIS refused, documents that failed): the rest was
    used and the stored state of those parts stays. Non-empty makes the pull "degraded"."""
    read: list[str] = field(default_factory=list)
    """The sources this pull read in full (licence register, house data, organisations, contracts
    and charters, guest grants); recorded under `SOURCE_READ` when the pull is stored."""

    @property
    def degraded(self) -> bool:
        return bool(self.problems or self.kept_empty)


@dataclass(frozen=True)
class PullContext:
    db: Engine
    gis: GisSource
    region: str
    default_tz: str
    run_id: str
    actor: str
    trigger: str
    clock: Clock
    fence: Callable[[Session], None]
    """Refuses the store's transaction unless this process still holds the region's lease."""
    force: bool = False
    refresh_houses: bool = False
    """Re-read every building's house data (resync), not only new ones and this pull's slice."""
    refresh_documents: bool = False
    """Re-read every managed house's contracts and charters, and the HOA houses' addresses."""
    house_interval: timedelta = timedelta(days=7)
    """Every known house's data is re-read once in this period, a slice each pull."""
    house_slice: int = 0
    """Most known houses one pull re-reads (0: none)."""
    pull_grants: bool = False
    """Also pull guest-access grants from the provisional service."""
    pull_contracts: bool = True
    """Also read contracts and charters (exportCAChData) to date management from them."""
    progress: Progress = no_progress
    """Told after each of the `PULL_STEPS` (each a GIS ZhKH exchange that may take minutes)."""


@dataclass
class _Fetched:
    licence: list[ManagementPeriod]
    documents: list[ManagementPeriod] | None
    """None when the documents were not read this time (the stored ones stay)."""
    answered: set[str]
    """Organisations GIS returned documents for, even documents that make no claim (so that
    their stored claims may end instead of being kept as an "empty answer")."""
    skipped: list[periodmap.Skipped]
    addresses: dict[str, str]
    known: set[str]
    houses: dict[str, HouseData]
    orgs: list[OrgRecord]
    grants: list[GuestGrantRecord]
    digest: str
    deadlines: dict[str, Deadlines] | None = None
    """`DateDetails` by document version, when the documents were read (docs/notices.md)."""
    again: Rereads[str] | None = None
    """The known houses this pull re-read, a slice of their ring (None: all, or none)."""


def pull(ctx: PullContext, licensees: list[str], now: datetime, hoas: Sequence[Hoa] = ()) -> PullReport:
    """Fetch and store; raises the `GisError` that made the whole pull fail (audited first).

    Only the licence register is indispensable. A house GIS will not describe, or documents,
    organisations or grants it fails to give, are left as stored and named in `problems`."""
    report = PullReport(licensees=len(licensees))
    try:
        with ctx.gis.budget():
            got = _fetch(ctx, licensees, hoas, report)
    except GisError as e:
        with transaction(ctx.db) as s:
            append(s, _event(ctx, "gis.pull", "failed", reason=because("gis_unavailable", detail=str(e))), now)
        log.error("gis.pull_failed", error=str(e), fallback="stored snapshot")
        raise
    with transaction(ctx.db) as s:
        for problem in report.problems:
            append(s, _event(ctx, "gis.pull", "partial", reason=because("pull_partial", detail=problem)), now)
        _store(ctx, s, got, licensees, hoas, now, report)
        ctx.fence(s)  # last, so that the lease row is locked only for the commit
    return report


PULL_STEPS = 5


def _fetch(ctx: PullContext, licensees: list[str], hoas: Sequence[Hoa], report: PullReport) -> _Fetched:
    ctx.progress("pull", 0, PULL_STEPS)
    # The register comes in batches, each turned into periods and dropped: never held whole.
    licence: list[ManagementPeriod] = []
    skipped: list[periodmap.Skipped] = []
    addresses: dict[str, str] = {}

    def take(batch: list[ActualLicense]) -> None:
        periods, skips = periodmap.licence_periods(batch)
        licence.extend(periods)
        skipped.extend(skips)
        addresses.update((h.fias_house_guid.lower(), h.house_address) for lic in batch for h in lic.houses)

    if licensees:
        ctx.gis.actual_licenses(licensees, ctx.region, batches=take)
        report.read.append("licence register")
    ctx.progress("pull", 1, PULL_STEPS)
    with Session(ctx.db) as s:
        stored = dict(s.exec(select(BuildingRow.fias_guid, BuildingRow.address)).all())
        stored_digest = repo.get_bookmark(s, LICENCES_DIGEST)
        read_up_to, after = repo.get_bookmark(s, HOUSES_READ), repo.get_bookmark(s, HOUSES_AFTER)
    known = set(stored)
    # HOA houses are in no licence: their address comes from GIS's address register (read for
    # new houses and on the full read), the authority's register standing in where GIS has none.
    ask = [h.fias_guid for h in hoas if h.fias_guid not in addresses and (ctx.refresh_documents or h.fias_guid not in known)]
    basic = {k.lower(): v for k, v in ctx.gis.basic_houses(ask, on_error=_keep_register_address).items()} if ask else {}
    for h in hoas:
        if h.fias_guid in basic:
            addresses[h.fias_guid] = basic[h.fias_guid].address
        elif h.fias_guid not in addresses:
            # A known house not asked, or not described, this time keeps its stored address; the
            # register's text stands in only for a house GIS has never described.
            addresses[h.fias_guid] = stored.get(h.fias_guid, h.address)
    new = set(addresses) - known
    again: Rereads[str] | None = None
    if ctx.refresh_houses:
        wanted = sorted(addresses)
    else:
        # House data rarely changes: each pull re-reads a slice, the whole ring once a `house_interval`.
        last = datetime.fromisoformat(read_up_to) if read_up_to else None
        again = rereads(sorted(set(addresses) & known), after, last, ctx.clock.wall(), ctx.house_interval, ctx.house_slice)
        wanted = sorted(new | set(again.items))

    refused: list[str] = []

    def house_failed(house: str, error: GisError) -> None:
        refused.append(house)
        report.problems.append(f"house {house}: {error}")

    houses = {k.lower(): v for k, v in ctx.gis.house_data(wanted, on_error=house_failed).items()} if wanted else {}
    if wanted and not refused:
        report.read.append("house data")
    ctx.progress("pull", 2, PULL_STEPS)
    # A known house GIS would not describe keeps its stored data; a new one is stored from its
    # licence entry with the default zone (audited as assumed), and read again on the full read.
    orgs: list[OrgRecord] = _optional(
        report, "organisations", lambda: ctx.gis.organisations(sorted({*licensees, *(h.ogrn for h in hoas)})), []
    )
    ctx.progress("pull", 3, PULL_STEPS)
    digest = _digest(licence, hoas)
    documents: list[ManagementPeriod] | None = None
    deadlines: dict[str, Deadlines] | None = None
    answered: set[str] = set()
    if ctx.pull_contracts and orgs and (ctx.refresh_documents or new or digest != stored_digest):
        by_ogrn = {o.ogrn: o for o in orgs}
        pairs = [(by_ogrn[p.org].org_root_entity_guid, p.building) for p in licence if p.org in by_ogrn]
        pairs += [(by_ogrn[h.ogrn].org_root_entity_guid, h.fias_guid) for h in hoas if h.ogrn in by_ogrn]
        docs: list[CAChDocument] | None = _optional(
            report, "contracts and charters", lambda: ctx.gis.contracts_and_charters(sorted(set(pairs))) if pairs else [], None
        )
        if docs is not None:
            org_by_guid = {g.lower(): o.ogrn for o in orgs for g in (o.org_root_entity_guid, o.org_ppa_guid) if g}
            documents, doc_skipped = periodmap.contract_periods(docs, org_by_guid)
            skipped += doc_skipped
            deadlines, dates_skipped = noticemap.deadlines_by_version(docs)
            skipped += [periodmap.Skipped("date details", f"{d.document} {d.part}", d.why) for d in dates_skipped]
            answered = {org_by_guid[d.uo_guid.lower()] for d in docs if d.uo_guid and d.uo_guid.lower() in org_by_guid}
    ctx.progress("pull", 4, PULL_STEPS)
    want_grants = ctx.pull_grants and addresses
    grant_records: list[GuestGrantRecord] = (
        _optional(report, "guest grants", lambda: ctx.gis.guest_grants(sorted(addresses)), []) if want_grants else []
    )
    ctx.progress("pull", PULL_STEPS, PULL_STEPS)
    return _Fetched(licence, documents, answered, skipped, addresses, known, houses, orgs, grant_records, digest, deadlines, again)


def _optional(report: PullReport, what: str, fetch: Callable[[], T], otherwise: T) -> T:
    """`fetch()`, or `otherwise` with the failure noted: the rest of the pull is still used."""
    try:
        got = fetch()
    except GisError as e:
        report.problems.append(f"{what}: {e}")
        log.warning("gis.pull_part_failed", part=what, error=str(e), then="the stored state of that part stays")
        return otherwise
    report.read.append(what)
    return got


def _keep_register_address(_house: str, _error: GisError) -> None:
    """A house GIS will not describe keeps the address of the authority's register."""


def _digest(licence: list[ManagementPeriod], hoas: Sequence[Hoa]) -> str:
    parts = sorted(f"{p.building}|{p.org}|{p.start}|{p.until}" for p in licence) + sorted(f"{h.ogrn}|{h.fias_guid}" for h in hoas)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _store(
    ctx: PullContext, s: Session, got: _Fetched, licensees: list[str], hoas: Sequence[Hoa], now: datetime, report: PullReport
) -> None:
    report.skipped = len(got.skipped)
    for skip in got.skipped:
        append(
            s,
            _event(ctx, "gis.record_skipped", "skipped", reason=because("record_skipped", what=skip.what, ident=skip.ident, why=skip.why)),
            now,
        )
    hoa_orgs = {h.ogrn for h in hoas}
    for rec in got.orgs:
        kind = OrgKind.HOA if rec.ogrn in hoa_orgs and rec.ogrn not in licensees else OrgKind.MANAGING_COMPANY
        repo.save_organisation(s, gismap.organisation(rec, kind), now)
    for fias, address in sorted(got.addresses.items()):
        if fias in got.known and fias not in got.houses:
            continue
        _save_building(ctx, s, fias, address, got.houses.get(fias), now, report)
    if ctx.refresh_houses:
        repo.set_bookmark(s, HOUSES_READ, ctx.clock.wall().isoformat(), now)
    elif got.again is not None and got.again.items:
        # A house GIS refused counts as read: it is asked again on the next lap, not every pull.
        repo.set_bookmark(s, HOUSES_READ, got.again.read_up_to(len(got.again.items), ctx.clock.wall()).isoformat(), now)
        repo.set_bookmark(s, HOUSES_AFTER, got.again.items[-1], now)
    for source in report.read:
        repo.set_bookmark(s, SOURCE_READ + source, ctx.clock.wall().isoformat(), now)
    s.flush()
    crash_point("pull", "in_transaction")  # buildings written, periods not yet: all or nothing
    if got.grants:
        g = grants.apply(s, got.grants, source="gis", actor=ctx.actor, trigger=ctx.trigger, run_id=ctx.run_id, now=now)
        report.grants_changed = g.added + g.changed
    _replace(ctx, s, Basis.LICENCE, licensees, got.licence, now, report, answered=set())
    if got.documents is not None:
        report.documents = len(got.documents)
        organisations = sorted({*licensees, *hoa_orgs})
        for basis in (Basis.CONTRACT, Basis.CHARTER):
            _replace(ctx, s, basis, organisations, [p for p in got.documents if p.basis is basis], now, report, answered=got.answered)
        repo.set_bookmark(s, LICENCES_DIGEST, got.digest, now)
        if ctx.refresh_documents:
            repo.set_bookmark(s, DOCUMENTS_READ, ctx.clock.wall().isoformat(), now)
    if got.deadlines is not None:
        notice_store.save_deadlines(s, got.deadlines, now)


def _save_building(
    ctx: PullContext, s: Session, fias: str, address: str, house: HouseData | None, now: datetime, report: PullReport
) -> None:
    building, assumed = gismap.building(fias, address, house, ctx.default_tz)
    before, changed = repo.save_building(s, building, tz_assumed=assumed, at=now)
    if not changed:
        return
    if before is None:
        report.buildings_new += 1
    else:
        report.buildings_changed += 1
    why = because("tz_assumed", tz=ctx.default_tz) if assumed else because("from_gis")
    action = "building.added" if before is None else "building.changed"
    append(s, _event(ctx, action, "done", building=fias, before=_building_doc(before), after=_building_doc(building), reason=why), now)


def _replace(
    ctx: PullContext,
    s: Session,
    basis: Basis,
    orgs: Sequence[str],
    claims: list[ManagementPeriod],
    now: datetime,
    report: PullReport,
    *,
    answered: set[str],
) -> None:
    """Each organisation's claims on `basis` become what this pull says, unless it says nothing at all."""
    per_org: dict[str, list[ManagementPeriod]] = defaultdict(list)
    for p in claims:
        per_org[p.org].append(p)
    stored = repo.stored_period_orgs(s, basis)
    for org in orgs:
        new = per_org.get(org, [])
        if not new and stored.get(org, 0) and org not in answered and not ctx.force:
            report.kept_empty.append(org)
            why = because("empty_answer_kept", basis=basis.value, org=org, stored=stored[org])
            append(s, _event(ctx, "gis.empty_answer", "kept", org=org, reason=why), now)
            continue
        for fias, (before, after) in sorted(repo.replace_periods(s, org, basis, new).items()):
            report.period_changes += 1
            sources = sorted({x for p in (*before, *after) for x in p.source_ids})
            append(
                s,
                _event(
                    ctx,
                    "management.periods",
                    "done",
                    building=fias,
                    org=org,
                    before=[p.doc() for p in before],
                    after=[p.doc() for p in after],
                    reason=because("documents", basis=basis.value, documents=sources),
                ),
                now,
            )


def _event(ctx: PullContext, action: str, outcome: str, **kw: object) -> AuditEvent:
    return AuditEvent(actor=ctx.actor, trigger=ctx.trigger, action=action, outcome=outcome, run_id=ctx.run_id, **kw)  # type: ignore[arg-type]


def _building_doc(b: Building | None) -> dict[str, object] | None:
    if b is None:
        return None
    return {"address": b.address, "tz": b.tz, "oktmo": b.oktmo, "state": b.state.value}
