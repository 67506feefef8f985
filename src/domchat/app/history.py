"""A building's history for auditors: who was admin and member of its chat when, why, and on
which GIS ZhKH document, each change with the sequence number of its audit event.

Built from the audit trail (what was done, in chain order) and the stored management periods
(the documents behind a manager); the trail is the record, so nothing here is kept twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from domchat.app import trail
from domchat.app.wiring import App
from domchat.domain import reasons
from domchat.domain.model import Building, ManagementPeriod
from domchat.errors import DomchatError
from domchat.storage import audit, repo
from domchat.storage.tables import AuditRow, BuildingRow, PeriodRow

ADMIN, MEMBER = "admin", "member"
_TAKEN = ("done", "partial")
"""Outcomes after which the change is in the chat."""
_STAFF_KEYS = {"manager_staff", "members_staff", "ex_staff"}


@dataclass
class Stint:
    """One user's time in one role in the chat."""

    user_id: int
    role: str
    org: str | None
    since: str
    since_seq: int
    why: str
    documents: list[str]
    until: str | None = None
    until_seq: int | None = None
    why_ended: str | None = None


@dataclass
class History:
    building: str
    address: str
    chats: list[dict[str, Any]] = field(default_factory=list)
    """Each binding of a chat to the building: chat id, when, audit seq."""
    management: list[dict[str, Any]] = field(default_factory=list)
    """Each change of the GIS claims on the building, and each conflict, with its audit seq."""
    stints: list[Stint] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def building_history(app: App, building: str, lang: str | None = None) -> History:
    """The history of `building` (FIAS GUID), reasons read in `lang` (default: `audit.lang`)."""
    fias = building.lower()
    texts = trail.audit_texts(app, None if lang == trail.RAW else lang)
    with Session(app.ready_db()) as s:
        row = s.get(BuildingRow, fias)
        if row is None:
            raise DomchatError(f"unknown building {fias}: not in the stored GIS snapshot")
        periods = [repo.period(p) for p in s.exec(select(PeriodRow).where(PeriodRow.building == fias))]
        events = list(audit.query(s, audit.AuditFilter(building=fias)))
    house = Building(fias, row.address, row.tz)
    history = History(fias, row.address)
    read: Callable[[str], str] = texts.reason if lang != trail.RAW else str
    open_: dict[tuple[int, str], Stint] = {}
    for e in events:
        after = audit.as_dict(e)["after"]
        if e.action == "chat.bind" and e.outcome == "done":
            history.chats.append({"chat_id": e.chat_id, "bound_at": e.at, "seq": e.seq})
        elif e.action in ("management.periods", "management.conflict"):
            history.management.append({"seq": e.seq, "at": e.at, "action": e.action, "org": e.org, "claims": after, "why": read(e.reason)})
        elif e.outcome not in _TAKEN:
            continue
        elif e.action == "add_members":
            for user in _added(e, after):
                _open(open_, history, e, user, MEMBER, read, house, periods)
        elif e.action == "grant_admin":
            _open(open_, history, e, after["user_id"], ADMIN, read, house, periods)
        elif e.action == "revoke_admin":
            _close(open_, e, after["user_id"], (ADMIN,), read)
        elif e.action in ("remove_member", "resident.left") and e.user_id is not None:
            _close(open_, e, e.user_id, (ADMIN, MEMBER), read)
    return history


def _added(e: AuditRow, after: dict[str, Any]) -> list[int]:
    """Users an `add_members` event put in the chat: those asked for, less those the platform refused."""
    refused: set[str] = set()
    for key, params in reasons.parse(e.reason) or ():
        if key == "platform_refused":
            refused |= {u.split(" ")[0] for u in params.get("users", ())}
    return [u for u in after.get("user_ids", ()) if str(u) not in refused]


def _open(
    open_: dict[tuple[int, str], Stint],
    history: History,
    e: AuditRow,
    user: int,
    role: str,
    read: Callable[[str], str],
    house: Building,
    periods: list[ManagementPeriod],
) -> None:
    if (user, role) in open_:
        return
    stint = Stint(user, role, e.org, e.at, e.seq, read(e.reason), _documents(e, house, periods))
    open_[(user, role)] = stint
    history.stints.append(stint)


def _close(open_: dict[tuple[int, str], Stint], e: AuditRow, user: int, roles: tuple[str, ...], read: Callable[[str], str]) -> None:
    for role in roles:
        stint = open_.pop((user, role), None)
        if stint is not None:
            stint.until, stint.until_seq, stint.why_ended = e.at, e.seq, read(e.reason)


def _documents(e: AuditRow, house: Building, periods: list[ManagementPeriod]) -> list[str]:
    """The GIS documents behind a staff member's place: the stored claims of their organisation on
    the day of the change, else (claims replaced since) those the reason recorded at the time."""
    parts = reasons.parse(e.reason) or []
    if not _STAFF_KEYS & {k for k, _ in parts}:
        return []
    day = house.local_date(datetime.fromisoformat(e.at.replace("Z", "+00:00")))
    org = e.org or next((p["org"] for k, p in parts if k == "manager"), None)
    stored = sorted({x for p in periods if p.org == org and p.covers(day) for x in p.source_ids})
    return stored or next((list(p["documents"]) for k, p in parts if k == "manager"), [])
