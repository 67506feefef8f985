"""Guest-access grants into the store: from the provisional GIS service or a file, audited.

A grant that disappears from a source is not deleted ("unknown", not "revoked"): only an
explicit `revoked` or `expired` status, or its end date, takes a resident out of a chat.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from domchat.domain.model import GuestGrant, grant_problem
from domchat.domain.reasons import because
from domchat.gis_client.types import GuestGrantRecord
from domchat.storage import repo
from domchat.storage.audit import AuditEvent, append
from domchat.storage.tables import BuildingRow


@dataclass
class GrantsReport:
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    unknown_building: list[str] | None = None
    unstorable: int = 0
    """Grants refused because a text field is too long or holds a control character."""


def apply(
    s: Session, records: Iterable[GuestGrantRecord], *, source: str, actor: str, trigger: str, run_id: str, now: datetime
) -> GrantsReport:
    """Store grants in the caller's transaction; grants of buildings not in the snapshot are refused."""
    report = GrantsReport(unknown_building=[])
    for r in records:
        building = r.fias_house_guid.lower()
        refusal = None
        if s.get(BuildingRow, building) is None:
            assert report.unknown_building is not None
            report.unknown_building.append(r.grant_id)
            refusal = because("grant_unknown_building", grant=r.grant_id)
        elif (problem := grant_problem(r.premises, r.person_ref)) is not None:
            report.unstorable += 1
            refusal = because("grant_unstorable", grant=r.grant_id, problem=problem)
        if refusal is not None:
            append(
                s,
                AuditEvent(
                    actor=actor,
                    trigger=trigger,
                    action="grant.refused",
                    outcome="refused",
                    run_id=run_id,
                    building=building,
                    reason=refusal,
                ),
                now,
            )
            continue
        grant = GuestGrant(r.grant_id, building, r.premises, r.person_ref, r.valid_from, r.valid_to, r.status != "active")
        before, changed = repo.save_grant(s, grant, source=source, status=r.status, at=now)
        if not changed:
            report.unchanged += 1
            continue
        if before is None:
            report.added += 1
        else:
            report.changed += 1
        after = {
            "premises": r.premises,
            "valid_from": r.valid_from.isoformat(),
            "valid_to": r.valid_to.isoformat() if r.valid_to else None,
            "status": r.status,
        }
        old = None if before is None else {"valid_to": before.valid_to.isoformat() if before.valid_to else None, "status": before.status}
        append(
            s,
            AuditEvent(
                actor=actor,
                trigger=trigger,
                action="grant.added" if before is None else "grant.changed",
                outcome="done",
                run_id=run_id,
                building=building,
                before=old,
                after=after,
                reason=because("grant_from", grant=r.grant_id, source=source),
            ),
            now,
        )
    return report
