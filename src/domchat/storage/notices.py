"""Notices in the database: what they come from, which kinds are off, and each notice's state."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from domchat.domain.model import Pinned
from domchat.domain.notices import Deadlines, Meeting, MeetingForm, MeetingOutcome, MonthDay, NoticeKind
from domchat.storage.tables import NoticeOffRow, NoticeRow, NoticeSourceRow

DEADLINES = "deadlines:"
MEETING = "meeting:"
OUTCOME = "outcome:"


# --- Sources ----------------------------------------------------------------------------------


def _month_day(v: dict[str, Any] | None) -> MonthDay | None:
    return None if v is None else MonthDay(v["day"], v["next_month"])


def _put(s: Session, key: str, building: str, payload: dict[str, Any], at: datetime) -> None:
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str)
    row = s.get(NoticeSourceRow, key)
    if row is None:
        s.add(NoticeSourceRow(key=key, building=building, payload=text, updated_at=at))
    elif row.payload != text:
        row.payload, row.updated_at = text, at
        s.add(row)


def save_deadlines(s: Session, by_version: Mapping[str, Deadlines], at: datetime) -> None:
    """The usable `DateDetails` of each contract or charter version just read from GIS."""
    for version, d in by_version.items():
        _put(s, DEADLINES + version.lower(), "", asdict(d), at)


def load_deadlines(s: Session) -> dict[str, Deadlines]:
    """Deadlines by document version GUID."""
    out = {}
    for row in s.exec(select(NoticeSourceRow).where(col(NoticeSourceRow.key).startswith(DEADLINES))):
        v = json.loads(row.payload)
        out[row.key.removeprefix(DEADLINES)] = Deadlines(
            _month_day(v["metering_start"]), _month_day(v["metering_end"]), _month_day(v["payment_documents"]), _month_day(v["payment"])
        )
    return out


def save_meetings(s: Session, meetings: Iterable[Meeting], outcomes: Iterable[MeetingOutcome], at: datetime) -> None:
    for m in meetings:
        _put(s, MEETING + m.guid, m.building, asdict(m), at)
    for o in outcomes:
        _put(s, OUTCOME + o.guid, o.building, asdict(o), at)


def load_meetings(s: Session, buildings: Collection[str] | None = None) -> tuple[list[Meeting], list[MeetingOutcome]]:
    """Owners' meetings and their outcomes, of every building or of `buildings`."""
    meetings, outcomes = [], []
    for row in _sources(s, MEETING, buildings):
        v = json.loads(row.payload)
        meetings.append(
            Meeting(
                guid=v["guid"],
                building=v["building"],
                annual=v["annual"],
                form=MeetingForm(v["form"]),
                decisions_from=date.fromisoformat(v["decisions_from"]) if v["decisions_from"] else None,
                decisions_until=date.fromisoformat(v["decisions_until"]),
                meeting_at=datetime.fromisoformat(v["meeting_at"]) if v["meeting_at"] else None,
                meeting_place=v["meeting_place"],
                resolution_place=v["resolution_place"],
                agenda=tuple(v["agenda"]),
                cancelled=v["cancelled"],
            )
        )
    for row in _sources(s, OUTCOME, buildings):
        v = json.loads(row.payload)
        outcomes.append(
            MeetingOutcome(
                guid=v["guid"],
                building=v["building"],
                number=v["number"],
                protocol_date=date.fromisoformat(v["protocol_date"]),
                eligible=v["eligible"],
                decisions=tuple((q, made) for q, made in v["decisions"]),
            )
        )
    return meetings, outcomes


def _sources(s: Session, prefix: str, buildings: Collection[str] | None) -> list[NoticeSourceRow]:
    q = select(NoticeSourceRow).where(col(NoticeSourceRow.key).startswith(prefix))
    if buildings is None:
        return list(s.exec(q))
    wanted = sorted(buildings)
    return [r for n in range(0, len(wanted), 500) for r in s.exec(q.where(col(NoticeSourceRow.building).in_(wanted[n : n + 500])))]


# --- Kinds turned off ---------------------------------------------------------------------------


def turned_off(s: Session) -> set[tuple[str, str]]:
    """(building, kind) pairs turned off; building "" means the whole region."""
    return {(r.building, r.kind) for r in s.exec(select(NoticeOffRow))}


def set_off(s: Session, building: str, kind: NoticeKind, off: bool, actor: str, at: datetime) -> bool:
    """Turn a kind off (or back on); whether anything changed."""
    row = s.get(NoticeOffRow, (building, kind.value))
    if off and row is None:
        s.add(NoticeOffRow(building=building, kind=kind.value, at=at, actor=actor))
        return True
    if not off and row is not None:
        s.delete(row)
        return True
    return False


# --- Notices -----------------------------------------------------------------------------------


def scheduled(s: Session, due_by: datetime) -> list[NoticeRow]:
    """Notices waiting for their hour that fall due by `due_by`, earliest first."""
    q = select(NoticeRow).where(NoticeRow.status == "scheduled", col(NoticeRow.due_at) <= due_by).order_by(col(NoticeRow.due_at))
    return list(s.exec(q))


def states(s: Session, keys: Iterable[str]) -> dict[str, str]:
    """The status of each stored notice among `keys`."""
    wanted = list(keys)
    found: dict[str, str] = {}
    for n in range(0, len(wanted), 500):
        q = select(NoticeRow.key, NoticeRow.status).where(col(NoticeRow.key).in_(wanted[n : n + 500]))
        found.update({k: v for k, v in s.exec(q)})
    return found


def set_posted(s: Session, key: str, mid: str) -> None:
    """Remember the message a notice became."""
    row = s.get(NoticeRow, key)
    if row is not None and row.mid != mid:
        row.mid = mid
        s.add(row)


def load_pins(s: Session, buildings: Collection[str] | None = None) -> dict[str, tuple[Pinned, ...]]:
    """The posted announcements of owners' meetings not cancelled, by building (every building,
    or those of `buildings`): each pinned in the card's place while its meeting takes decisions."""
    meetings = {m.guid: m for m in load_meetings(s, buildings)[0]}
    out: dict[str, list[Pinned]] = {}
    q = select(NoticeRow).where(NoticeRow.kind == NoticeKind.MEETING.value, col(NoticeRow.mid).is_not(None))
    wanted = None if buildings is None else sorted(buildings)
    parts = [q] if wanted is None else [q.where(col(NoticeRow.building).in_(wanted[n : n + 500])) for n in range(0, len(wanted), 500)]
    for row in (r for part in parts for r in s.exec(part)):
        m = meetings.get(row.key.rsplit(":", 1)[1])
        pin = m.pinned(row.mid, row.text) if m is not None and row.mid is not None else None
        if pin is not None:
            out.setdefault(row.building, []).append(pin)
    return {b: tuple(ps) for b, ps in out.items()}
