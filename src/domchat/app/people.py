"""Use cases around people: chat binding codes, staff enrolment, grants and residents' invitations."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from sqlmodel import Session, col, func, select

from domchat.app.progress import Progress, counted, no_progress
from domchat.app.wiring import App
from domchat.domain.model import Building
from domchat.domain.reasons import because
from domchat.errors import ConfigError, DomchatError
from domchat.gis_client.grants_file import read_grants
from domchat.gis_client.types import GuestGrantRecord
from domchat.storage import audit
from domchat.storage.db import transaction
from domchat.storage.tables import (
    BindingRow,
    BuildingRow,
    GrantRow,
    OrganisationRow,
    ResidentInviteRow,
    ResidentRow,
    StaffRow,
)
from domchat.sync import binding, enrolment, grants, residents


def _done(s: Session, operator: str, trigger: str, action: str, now: datetime, **kw: Any) -> None:
    """Audit an operator's command that did what was asked."""
    audit.append(s, audit.AuditEvent(actor=operator, trigger=trigger, action=action, outcome="done", **kw), now)


def pending_chats(app: App, operator: str) -> list[dict[str, str]]:
    """Buildings without a chat, each with a fresh one-time binding code (earlier codes stop working)."""
    engine = app.ready_db()
    now = app.clock.now()
    ttl = timedelta(days=app.settings.chats.binding_code_ttl_days)
    out = []
    with transaction(engine) as s:
        bound = set(s.exec(select(BindingRow.building)))
        for b in s.exec(select(BuildingRow).where(BuildingRow.state == "active").order_by(col(BuildingRow.address))):
            if b.fias_guid in bound:
                continue
            code = binding.issue_code(s, b.fias_guid, now, ttl)
            out.append({"building": b.fias_guid, "address": b.address, "code": code, "expires_at": (now + ttl).isoformat()})
        _done(
            s,
            operator,
            "cli:chats-pending",
            "chat.codes_issued",
            now,
            after={"buildings": len(out)},
            reason=because("codes_issued"),
        )
    return out


def org_invite(app: App, ogrn: str, operator: str) -> str:
    """A personal enrolment deep link for one staff member of `ogrn`."""
    engine = app.ready_db()
    now = app.clock.now()
    with Session(engine) as s:
        if s.get(OrganisationRow, ogrn) is None:
            raise DomchatError(f"unknown organisation {ogrn}: not in the stored GIS snapshot (run a sync first)")
    platform = app.max()
    try:
        username = app.bot_username(platform)
    finally:
        platform.close()
    with transaction(engine) as s:
        token = enrolment.issue_invite(s, ogrn, now, timedelta(days=app.settings.chats.invite_ttl_days), operator)
        _done(s, operator, "cli:org-invite", "staff.invite", now, org=ogrn, reason=because("enrol_link_issued"))
    return f"https://max.ru/{username}?start={token}"


def import_grants(app: App, path: Path, operator: str) -> grants.GrantsReport:
    """Grants from a CSV/JSON file; the whole file is checked before anything is stored."""
    records = read_grants(path)
    now = app.clock.now()
    with transaction(app.ready_db()) as s:
        return grants.apply(s, records, source="file", actor=operator, trigger="cli:grants-import", run_id="", now=now)


def export_invitations(app: App, operator: str, *, everyone: bool = False, progress: Progress = no_progress) -> list[dict[str, str]]:
    """A personal link for each grant in force whose resident has not joined yet.

    Only the links' hashes are kept, so a link is shown once: by default only grants never
    invited before get one; `everyone` re-issues links for all (earlier unused links stop working).
    """
    now = app.clock.now()
    ttl = timedelta(days=app.settings.chats.resident_invite_ttl_days)
    platform = app.max()
    try:
        username = app.bot_username(platform)
    finally:
        platform.close()
    out: list[dict[str, str]] = []
    with transaction(app.ready_db()) as s:
        joined = set(s.exec(select(ResidentRow.grant_id)))
        invited = set(s.exec(select(ResidentInviteRow.grant_id)))
        active = GrantRow.status == "active"
        total = int(s.exec(select(func.count(col(GrantRow.grant_id))).where(active)).one())
        grants_in_force = s.exec(select(GrantRow).where(active).order_by(col(GrantRow.building), col(GrantRow.premises)))
        for g in counted(grants_in_force, progress, "invitations", total):
            building = s.get(BuildingRow, g.building)
            if g.grant_id in joined or (g.grant_id in invited and not everyone) or building is None:
                continue
            if g.valid_to is not None and g.valid_to < Building(g.building, "", building.tz).local_date(now):
                continue
            token = residents.issue(s, g.grant_id, now, ttl, operator)
            out.append(
                {
                    "grant_id": g.grant_id,
                    "building": g.building,
                    "address": building.address,
                    "premises": g.premises,
                    "person_ref": g.person_ref,
                    "link": f"https://max.ru/{username}?start={token}",
                    "expires_at": (now + ttl).isoformat(),
                }
            )
        _done(
            s,
            operator,
            "cli:invitations-export",
            "resident.invitations",
            now,
            after={"invitations": len(out)},
            reason=because("invitations_issued"),
        )
    _deliver(app, out)
    return out


def _deliver(app: App, invitations: list[dict[str, str]]) -> None:
    """POST each invitation to the authority's delivery webhook, when one is configured."""
    url = app.settings.chats.invitation_webhook_url
    if not url or not invitations:
        return
    with requests.Session() as http:
        for inv in invitations:
            try:
                http.post(url, json=inv, timeout=30).raise_for_status()
            except requests.RequestException as e:
                raise DomchatError(f"invitation webhook {url} failed for grant {inv['grant_id']}: {type(e).__name__}") from None


def issue_invitation(app: App, building: str, premises: str, days: int, operator: str) -> dict[str, str]:
    """A personal invitation for a tenant without guest access, valid `days` building-local days."""
    now = app.clock.now()
    with Session(app.ready_db()) as s:
        row = s.get(BuildingRow, building.lower())
    if row is None:
        raise DomchatError(f"unknown building {building}: not in the stored GIS snapshot")
    if days < 1:
        raise ConfigError("--days", "must be at least 1")
    local = Building(row.fias_guid, row.address, row.tz).local_date(now)
    record = GuestGrantRecord(
        grant_id=f"manual-{uuid.uuid4()}",
        fias_house_guid=row.fias_guid,
        premises=premises,
        person_ref=f"issued by {operator}",
        valid_from=local,
        valid_to=local + timedelta(days=days - 1),
        status="active",
    )
    with transaction(app.db) as s:
        grants.apply(s, [record], source="manual", actor=operator, trigger="cli:invitations-issue", run_id="", now=now)
    invitations = [i for i in export_invitations(app, operator) if i["grant_id"] == record.grant_id]
    return invitations[0]


def staff_list(app: App, ogrn: str | None = None) -> list[dict[str, Any]]:
    with Session(app.ready_db()) as s:
        stmt = select(StaffRow).order_by(col(StaffRow.org), col(StaffRow.user_id))
        if ogrn is not None:
            stmt = stmt.where(StaffRow.org == ogrn)
        return [
            {
                "org": r.org,
                "user_id": r.user_id,
                "enrolled_at": r.enrolled_at.isoformat(),
                "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
            }
            for r in s.exec(stmt)
        ]


def staff_revoke(app: App, ogrn: str, user_id: int, operator: str) -> None:
    """The user is no longer staff of `ogrn`: the next cycle takes their rights away."""
    now = app.clock.now()
    with transaction(app.ready_db()) as s:
        row = s.get(StaffRow, (ogrn, user_id))
        if row is None or row.revoked_at is not None:
            raise DomchatError(f"user {user_id} is not enrolled staff of {ogrn}")
        row.revoked_at = now
        s.add(row)
        _done(s, operator, "cli:org-staff-revoke", "staff.revoke", now, org=ogrn, user_id=user_id)
