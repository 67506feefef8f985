"""Notices in the database: what they come from, which kinds are off, and each notice's state."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

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


def load_meetings(s: Session) -> tuple[list[Meeting], list[MeetingOutcome]]:
    meetings, outcomes = [], []
    for row in s.exec(select(NoticeSourceRow).where(col(NoticeSourceRow.key).startswith(MEETING))):
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
    for row in s.exec(select(NoticeSourceRow).where(col(NoticeSourceRow.key).startswith(OUTCOME))):
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
