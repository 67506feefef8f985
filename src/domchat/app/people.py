"""Use cases around people: chat binding codes, staff enrolment, grants and residents' invitations."""

from __future__ import annotations

import csv
import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import requests
from sqlmodel import Session, col, func, select

from domchat.app.progress import Progress, counted, no_progress
from domchat.app.trail import checkpointed
from domchat.app.wiring import App, log
from domchat.domain.model import Building, grant_problem
from domchat.domain.reasons import because
from domchat.errors import ConfigError, DeliveryFailed, DomchatError, InputError
from domchat.gis_client.grants_file import read_grants
from domchat.gis_client.types import GuestGrantRecord
from domchat.storage import audit
from domchat.storage.db import transaction
from domchat.storage.files import atomic_private
from domchat.storage.tables import (
    BindingCodeRow,
    BindingRow,
    BuildingRow,
    GrantRow,
    OrganisationRow,
    ResidentInviteRow,
    ResidentRow,
    StaffRow,
)
from domchat.sync import binding, enrolment, grants, residents, tokens


def _done(s: Session, operator: str, trigger: str, action: str, now: datetime, **kw: Any) -> None:
    """Audit an operator's command that did what was asked."""
    audit.append(s, audit.AuditEvent(actor=operator, trigger=trigger, action=action, outcome="done", **kw), now)


def _unbound(s: Session, building: str | None = None) -> list[BuildingRow]:
    """Active buildings without a chat (only `building`, when given), by address."""
    bound = set(s.exec(select(BindingRow.building)))
    query = select(BuildingRow).where(BuildingRow.state == "active").order_by(col(BuildingRow.address))
    if building is not None:
        query = query.where(BuildingRow.fias_guid == building.lower())
    return [b for b in s.exec(query) if b.fias_guid not in bound]


def pending_chats(app: App) -> list[dict[str, str]]:
    """Buildings without a chat, with the expiry of their active binding code ("" when none);
    changes nothing (the codes themselves are not kept, only their hashes)."""
    now = app.clock.now()
    with Session(app.ready_db()) as s:
        codes = s.exec(
            select(BindingCodeRow.building, func.max(BindingCodeRow.expires_at))
            .where(BindingCodeRow.status == "active", col(BindingCodeRow.expires_at) > now)
            .group_by(BindingCodeRow.building)
        )
        expiry = {b: at.isoformat() for b, at in codes}
        return [{"building": b.fias_guid, "address": b.address, "code_expires_at": expiry.get(b.fias_guid, "")} for b in _unbound(s)]


@checkpointed
def issue_binding_codes(app: App, operator: str, building: str | None = None) -> list[dict[str, str]]:
    """A fresh one-time binding code for each building without a chat, or only `building`;
    earlier codes of those buildings stop working. Audited."""
    engine = app.ready_db()
    now = app.clock.now()
    ttl = timedelta(days=app.settings.chats.binding_code_ttl_days)
    out = []
    with transaction(engine) as s:
        targets = _unbound(s, building)
        if building is not None and not targets:
            raise DomchatError(f"no building {building.lower()} without a chat: unknown, inactive or already bound")
        for b in targets:
            code = binding.issue_code(s, b.fias_guid, now, ttl)
            out.append({"building": b.fias_guid, "address": b.address, "code": code, "expires_at": (now + ttl).isoformat()})
        _done(
            s,
            operator,
            "cli:chats-codes-issue",
            "chat.codes_issued",
            now,
            building=building.lower() if building else None,
            after={"buildings": len(out)},
            reason=because("codes_issued"),
        )
    return out


@checkpointed
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


@checkpointed
def import_grants(app: App, path: Path, operator: str) -> grants.GrantsReport:
    """Grants from a CSV/JSON file; the whole file is checked before anything is stored."""
    records = read_grants(path)
    for n, r in enumerate(records, 1):
        if (problem := grant_problem(r.premises, r.person_ref)) is not None:
            raise InputError(f"{path}: grant #{n} ({r.grant_id}): {problem}")
    now = app.clock.now()
    with transaction(app.ready_db()) as s:
        return grants.apply(s, records, source="file", actor=operator, trigger="cli:grants-import", run_id="", now=now)


INVITATION_FIELDS = ("grant_id", "building", "address", "premises", "person_ref", "link", "expires_at")


@checkpointed
def export_invitations(
    app: App,
    operator: str,
    *,
    everyone: bool = False,
    fmt: str = "csv",
    out: Path | None = None,
    stream: IO[str] | None = None,
    grant: str | None = None,
    progress: Progress = no_progress,
) -> list[dict[str, str]]:
    """A personal link for each grant in force whose resident has no delivered invitation yet.

    Only the links' hashes are kept, so a link is shown once; it counts as delivered only once
    written out (`out`: a temporary file flushed and renamed; `stream`) or returned to the caller,
    and, when `chats.invitation_webhook_url` is set, accepted there. Links that were not delivered
    were seen by nobody: the next export issues fresh ones in their place, so a failure loses no
    invitation. `everyone` re-issues links for all not joined (earlier unused links stop working);
    `grant` limits the export to one grant.
    """
    if fmt not in ("csv", "json"):
        raise ConfigError("--format", "must be csv or json")
    issued = _issue_invitations(app, operator, everyone=everyone, grant=grant, progress=progress)
    links = [inv for _, inv in issued]
    try:
        if out is not None:
            with atomic_private(out) as f:
                _write_invitations(f, fmt, links)
        elif stream is not None:
            _write_invitations(stream, fmt, links)
            stream.flush()
    except OSError as e:
        undelivered = f"none of {len(links)} invitations was delivered (the next export issues them)"
        raise ConfigError("--out", f"cannot write {out or 'the output'}: {e.strerror}; {undelivered}") from None
    accepted = _post_invitations(app, issued)
    _mark_delivered(app, accepted)
    if len(accepted) < len(issued):
        url = app.settings.chats.invitation_webhook_url
        raise DeliveryFailed(
            f"invitation webhook {url} failed: {len(accepted)} of {len(issued)} invitations delivered;"
            " the next export issues the rest anew (the links written for them stop working)"
        )
    return links


def _issue_invitations(
    app: App, operator: str, *, everyone: bool, grant: str | None, progress: Progress
) -> list[tuple[str, dict[str, str]]]:
    """Fresh links (token hash, invitation) for the grants that want one; undelivered earlier links of theirs stop working."""
    now = app.clock.now()
    ttl = timedelta(days=app.settings.chats.resident_invite_ttl_days)
    platform = app.max()
    try:
        username = app.bot_username(platform)
    finally:
        platform.close()
    out: list[tuple[str, dict[str, str]]] = []
    with transaction(app.ready_db()) as s:
        joined = set(s.exec(select(ResidentRow.grant_id)))
        delivered = set(s.exec(select(ResidentInviteRow.grant_id).where(col(ResidentInviteRow.delivered_at).is_not(None))))
        wanted = [GrantRow.status == "active", *([GrantRow.grant_id == grant] if grant is not None else [])]
        total = int(s.exec(select(func.count(col(GrantRow.grant_id))).where(*wanted)).one())
        stmt = select(GrantRow).where(*wanted).order_by(col(GrantRow.building), col(GrantRow.premises))
        for g in counted(s.exec(stmt), progress, "invitations", total):
            building = s.get(BuildingRow, g.building)
            if g.grant_id in joined or (g.grant_id in delivered and not everyone) or building is None:
                continue
            if g.valid_to is not None and g.valid_to < Building(g.building, "", building.tz).local_date(now):
                continue
            token = residents.issue(s, g.grant_id, now, ttl, operator)
            invitation = {
                "grant_id": g.grant_id,
                "building": g.building,
                "address": building.address,
                "premises": g.premises,
                "person_ref": g.person_ref,
                "link": f"https://max.ru/{username}?start={token}",
                "expires_at": (now + ttl).isoformat(),
            }
            out.append((tokens.digest(token), invitation))
        _done(
            s,
            operator,
            "cli:invitations-export",
            "resident.invitations",
            now,
            after={"invitations": len(out)},
            reason=because("invitations_issued"),
        )
    return out


def _write_invitations(f: IO[str], fmt: str, invitations: list[dict[str, str]]) -> None:
    if fmt == "json":
        f.write(json.dumps(invitations, ensure_ascii=False, indent=2) + "\n")
    else:
        w = csv.DictWriter(f, fieldnames=INVITATION_FIELDS)
        w.writeheader()
        w.writerows(invitations)


def _post_invitations(app: App, issued: list[tuple[str, dict[str, str]]]) -> list[str]:
    """POST each invitation to the authority's delivery webhook, when one is configured; the hashes of those accepted."""
    url = app.settings.chats.invitation_webhook_url
    if not url:
        return [h for h, _ in issued]
    accepted: list[str] = []
    with requests.Session() as http:
        for token_hash, inv in issued:
            try:
                http.post(url, json=inv, timeout=30).raise_for_status()
            except requests.RequestException as e:
                log.warning("invitations.webhook_failed", url=url, grant_id=inv["grant_id"], error=type(e).__name__)
                break
            accepted.append(token_hash)
    return accepted


def _mark_delivered(app: App, token_hashes: list[str]) -> None:
    now = app.clock.now()
    with transaction(app.db) as s:
        for token_hash in token_hashes:
            row = s.get(ResidentInviteRow, token_hash)
            if row is not None:
                row.delivered_at = now
                s.add(row)


@checkpointed
def issue_invitation(app: App, building: str, premises: str, days: int, operator: str) -> dict[str, str]:
    """A personal invitation for a tenant without guest access, valid `days` building-local days."""
    now = app.clock.now()
    with Session(app.ready_db()) as s:
        row = s.get(BuildingRow, building.lower())
    if row is None:
        raise InputError(f"unknown building {building}: not in the stored GIS snapshot")
    if days < 1:
        raise ConfigError("--days", "must be at least 1")
    if (problem := grant_problem(premises, f"issued by {operator}")) is not None:
        raise InputError(f"invitation for building {building}: {problem}")
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
    (invitation,) = export_invitations(app, operator, grant=record.grant_id)
    return invitation


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


@checkpointed
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
