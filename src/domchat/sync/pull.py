"""Pulling from GIS ZhKH into the stored snapshot, without ever mistaking silence for absence.

Each licensee's answer replaces only what that licensee's answer covers. A licensee whose
answer failed keeps its previous periods ("unknown", not "nothing"); one that suddenly
answers with no houses at all while it had some is kept too, and audited, until an operator
forces the change. Every change of a building's periods is audited with its GIS documents.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from domchat.errors import GisError
from domchat.gis_client.types import ActualLicense
from domchat.mapping import gis as gismap
from domchat.storage import repo
from domchat.storage.audit import AuditEvent, append
from domchat.storage.db import transaction
from domchat.storage.tables import BuildingRow
from domchat.sync import grants
from domchat.sync.crash import crash_point
from domchat.sync.model import Basis, Building, ManagementPeriod
from domchat.sync.ports import GisSource

log = structlog.get_logger("domchat.pull")

HOUSES_READ = "gis.houses.full_read"
"""When every building's house data was last read (advanced in the transaction that stores it)."""


@dataclass
class PullReport:
    ok: bool = True
    licensees: int = 0
    buildings_new: int = 0
    buildings_changed: int = 0
    period_changes: int = 0
    kept_empty: list[str] = field(default_factory=list)
    skipped: int = 0
    grants_changed: int = 0
    error: str = ""
    failure: GisError | None = field(default=None, repr=False, compare=False)
    """The error that made the pull fail, for the caller's exit status."""


@dataclass(frozen=True)
class PullContext:
    db: Engine
    gis: GisSource
    region: str
    default_tz: str
    run_id: str
    actor: str
    trigger: str
    force: bool = False
    refresh_houses: bool = False
    """Re-read every building's house data (the periodic full reconcile), not only new ones."""
    pull_grants: bool = False
    """Also pull guest-access grants from the provisional service."""


def pull(ctx: PullContext, licensees: list[str], now: datetime) -> PullReport:
    report = PullReport(licensees=len(licensees))
    try:
        licences = ctx.gis.actual_licenses(licensees, ctx.region)
        by_org: dict[str, list[ActualLicense]] = defaultdict(list)
        for lic in licences:
            by_org[lic.licensee_ogrn].append(lic)
        periods, skipped = gismap.licence_periods(licences)
        report.skipped = len(skipped)
        addresses = {h.fias_house_guid.lower(): h.house_address for lic in licences for h in lic.houses}
        with Session(ctx.db) as s:
            known = set(s.exec(select(BuildingRow.fias_guid)))
        wanted = sorted(addresses) if ctx.refresh_houses else sorted(set(addresses) - known)
        houses = {k.lower(): v for k, v in ctx.gis.house_data(wanted).items()} if wanted else {}
        orgs = ctx.gis.organisations(licensees)
        grant_records = ctx.gis.guest_grants(sorted(addresses)) if ctx.pull_grants and addresses else []
    except GisError as e:
        report.ok, report.error, report.failure = False, str(e), e
        with transaction(ctx.db) as s:
            append(s, _event(ctx, "gis.pull", "failed", reason=f"{e}; planning continues on the stored snapshot"), now)
        log.error("GIS pull failed; the stored snapshot stays in force", error=str(e))
        return report

    with transaction(ctx.db) as s:
        for skip in skipped:
            append(s, _event(ctx, "gis.record_skipped", "skipped", reason=f"{skip.what} {skip.ident}: {skip.why}"), now)
        for rec in orgs:
            repo.save_organisation(s, gismap.organisation(rec), now)
        for fias, address in sorted(addresses.items()):
            if fias in known and fias not in houses:
                continue
            building, assumed = gismap.building(fias, address, houses.get(fias), ctx.default_tz)
            before, changed = repo.save_building(s, building, tz_assumed=assumed, at=now)
            if not changed:
                continue
            if before is None:
                report.buildings_new += 1
            else:
                report.buildings_changed += 1
            append(
                s,
                _event(
                    ctx,
                    "building.added" if before is None else "building.changed",
                    "done",
                    building=fias,
                    before=_building_doc(before),
                    after=_building_doc(building),
                    reason=f"time zone assumed {ctx.default_tz}: GIS gave no usable OlsonTZ" if assumed else "from GIS ZhKH",
                ),
                now,
            )
        if ctx.refresh_houses:
            repo.set_bookmark(s, HOUSES_READ, datetime.now(UTC).isoformat(), now)
        s.flush()
        crash_point("pull", "in_transaction")  # buildings written, periods not yet: all or nothing
        if grant_records:
            g = grants.apply(s, grant_records, source="gis", actor=ctx.actor, trigger=ctx.trigger, run_id=ctx.run_id, now=now)
            report.grants_changed = g.added + g.changed
        per_org: dict[str, list[ManagementPeriod]] = defaultdict(list)
        for p in periods:
            per_org[p.org].append(p)
        stored_counts = repo.stored_period_orgs(s, Basis.LICENCE)
        for org in licensees:
            new = per_org.get(org, [])
            if not new and stored_counts.get(org, 0) and not ctx.force:
                report.kept_empty.append(org)
                append(
                    s,
                    _event(
                        ctx,
                        "gis.empty_answer",
                        "kept",
                        org=org,
                        reason=f"GIS returned no licensed houses for {org}, which had {stored_counts[org]}; kept until --force",
                    ),
                    now,
                )
                continue
            for fias, (before_p, after_p) in sorted(repo.replace_periods(s, org, Basis.LICENCE, new).items()):
                report.period_changes += 1
                append(
                    s,
                    _event(
                        ctx,
                        "management.periods",
                        "done",
                        building=fias,
                        org=org,
                        before=[p.doc() for p in before_p],
                        after=[p.doc() for p in after_p],
                        reason="licence register: " + ", ".join(sorted({x for p in (*before_p, *after_p) for x in p.source_ids})),
                    ),
                    now,
                )
    return report


def _event(ctx: PullContext, action: str, outcome: str, **kw: object) -> AuditEvent:
    return AuditEvent(actor=ctx.actor, trigger=ctx.trigger, action=action, outcome=outcome, run_id=ctx.run_id, **kw)  # type: ignore[arg-type]


def _building_doc(b: Building | None) -> dict[str, object] | None:
    if b is None:
        return None
    return {"address": b.address, "tz": b.tz, "oktmo": b.oktmo, "state": b.state.value}
