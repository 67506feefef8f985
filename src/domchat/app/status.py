"""`domchat status`: what the database says about the region's sync, and the same judged against
`[status]`'s thresholds as a Nagios/Icinga plugin (`status --check`).

The verdict never says OK after a failed phase: it is taken from the last finished run's
outcome (the worst of its phases), the pull of the last run that pulled (runs between pulls
skip it), the age of the last successful GIS pull, the pending actions and the actions given up.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, func, select

from domchat.app.monitoring import PULLED
from domchat.app.wiring import App
from domchat.errors import DomchatError
from domchat.settings import StatusSettings
from domchat.storage.tables import (
    ActionRow,
    AuditHeadRow,
    BindingRow,
    BookmarkRow,
    BuildingRow,
    LeaseRow,
    OrganisationRow,
    RunRow,
)
from domchat.sync.engine import load_domain, one_line
from domchat.sync.pull import SOURCE_READ

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
"""The plugin's states by exit code (Nagios plugin guidelines)."""


def status(app: App) -> dict[str, Any]:
    """The region's state as plain values (`status --json`)."""
    engine = app.ready_db()
    with Session(engine) as s:
        finished = select(RunRow).where(col(RunRow.status) != "running").order_by(col(RunRow.started_at).desc())
        last = s.exec(finished).first()
        last_ok = s.exec(select(RunRow).where(RunRow.status == "ok").order_by(col(RunRow.started_at).desc())).first()
        pulled = col(RunRow.phases).contains('"pull": "'), ~col(RunRow.phases).contains('"pull": "skipped"')
        last_pull_run = s.exec(select(RunRow).where(*pulled).order_by(col(RunRow.started_at).desc())).first()
        pending = _count(s, col(ActionRow.key), col(ActionRow.status) == "pending")
        oldest = s.exec(select(func.min(col(ActionRow.created_at))).where(col(ActionRow.status) == "pending")).one()
        given_up = _by_kind(s, col(ActionRow.status) == "failed")
        retrying = _by_kind(s, col(ActionRow.status) == "pending", col(ActionRow.attempts) > 0)
        failed = list(
            s.exec(select(ActionRow).where(col(ActionRow.status) == "failed").order_by(col(ActionRow.finished_at).desc()).limit(20))
        )
        buildings = _count(s, col(BuildingRow.fias_guid))
        bound = _count(s, col(BindingRow.building))
        orgs = _count(s, col(OrganisationRow.ogrn))
        head = s.get(AuditHeadRow, 1)
        reads = {r.name: r.value for r in s.exec(select(BookmarkRow).where(col(BookmarkRow.name).startswith(SOURCE_READ)))}
        any_pull = s.get(BookmarkRow, PULLED)
        lease = s.get(LeaseRow, f"region:{app.settings.region.code}")
        domain = load_domain(s)
    now, wall = app.clock.now(), app.clock.wall()
    next_change = domain.next_boundary(now)
    sources = {name.removeprefix(SOURCE_READ): _when(value, wall) for name, value in sorted(reads.items())}
    last_pull = max([v for v in [*reads.values(), any_pull.value if any_pull else None] if v], default=None)
    return {
        "version": version("domchat"),
        "now": now.isoformat(),
        "last_cycle": _run_doc(last),
        "last_successful_cycle": _run_doc(last_ok),
        "last_pull_cycle": _run_doc(last_pull_run),
        "last_successful_pull": _when(last_pull, wall) if last_pull else None,
        "pulls": sources,
        "pending_actions": pending,
        "oldest_pending_at": _utc(oldest).isoformat() if oldest else None,
        "oldest_pending_age_s": round((now - _utc(oldest)).total_seconds(), 3) if oldest else None,
        "retrying_actions": sum(retrying.values()),
        "failures": {
            "given_up": given_up,
            "retrying": retrying,
            "pull": _pull_problems(last_pull_run),
        },
        "failed_actions": [
            {"kind": a.kind, "chat_id": a.chat_id, "user_id": a.user_id, "attempts": a.attempts, "error": a.error} for a in failed
        ],
        "buildings": buildings,
        "bound_chats": bound,
        "unbound_buildings": buildings - bound,
        "organisations": orgs,
        "conflicts": [{"building": c.building, "day": c.day.isoformat(), "orgs": list(c.orgs)} for c in domain.conflicts(now)],
        "next_boundary": next_change.isoformat() if next_change else None,
        "lease": _lease_doc(lease, wall),
        "audit_events": head.seq if head else 0,
    }


def _count(s: Session, column: Any, *where: Any) -> int:
    return int(s.exec(select(func.count(column)).where(*where)).one())


def _by_kind(s: Session, *where: Any) -> dict[str, int]:
    rows = s.exec(select(ActionRow.kind, func.count(col(ActionRow.key))).where(*where).group_by(col(ActionRow.kind)))
    return {kind: int(n) for kind, n in sorted(rows)}


def _utc(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _when(iso: str, wall: datetime) -> dict[str, Any]:
    """A wall-clock instant and its age now."""
    at = _utc(datetime.fromisoformat(iso))
    return {"at": at.isoformat(), "age_s": round((wall - at).total_seconds(), 3)}


def _pull_problems(run: RunRow | None) -> list[str]:
    """What the last cycle that pulled could not read (all of it, when its pull failed)."""
    if run is None:
        return []
    problems: list[str] = json.loads(run.summary).get("problems", [])
    return list(dict.fromkeys(p.removeprefix("pull: ") for p in problems if p.startswith("pull: ")))


def _run_doc(r: RunRow | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {
        "run_id": r.run_id,
        "started_at": r.started_at.isoformat(),
        "finished_at": r.finished_at.isoformat() if r.finished_at else None,
        "status": r.status,
        "phases": json.loads(r.phases),
        "error": r.error,
        "actor": r.actor,
        "version": r.version,
    }


def _lease_doc(row: LeaseRow | None, wall: datetime) -> dict[str, Any] | None:
    if row is None:
        return None
    held = bool(row.holder) and _utc(row.expires_at) > wall
    return {"name": row.name, "holder": row.holder or None, "expires_at": _utc(row.expires_at).isoformat(), "held": held}


@dataclass(frozen=True)
class Check:
    """The plugin's answer: its exit code and its one line (text, then perfdata after `|`)."""

    code: int
    line: str


def check(open_app: Callable[[], App]) -> Check:
    """`status --check`: UNKNOWN (3) when the configuration or the database cannot be read."""
    try:
        app = open_app()
        return verdict(status(app), app.settings.status)
    except (DomchatError, SQLAlchemyError, OSError) as e:
        return Check(UNKNOWN, f"DOMCHAT UNKNOWN - cannot read the state: {_plain(one_line(e))}")


def verdict(doc: dict[str, Any], limits: StatusSettings) -> Check:
    """Judge a `status` document against the thresholds: the worst finding sets the state."""
    found: list[tuple[int, str]] = []
    last = doc["last_cycle"]
    if last is None:
        found.append((WARNING, "no cycle has run yet"))
    elif last["status"] != "ok":
        level = CRITICAL if last["status"] in ("failed", "stopped") else WARNING
        found.append((level, f"last cycle {last['status']}: {_cut(last['error'] or _phases(last), 160)}"))
    pulled = doc["last_pull_cycle"]
    if pulled is not None and pulled["run_id"] != (last or {}).get("run_id") and pulled["phases"]["pull"] != "ok":
        # Cycles between pulls (updates and midnights only) must not hide the pull that failed.
        outcome = pulled["phases"]["pull"]
        why = _cut("; ".join(doc["failures"]["pull"]) or outcome, 160)
        found.append((CRITICAL if outcome == "failed" else WARNING, f"last GIS pull {outcome}: {why}"))
    pull = doc["last_successful_pull"]
    pull_age = pull["age_s"] if pull else None
    if pull_age is None:
        found.append((CRITICAL, "no successful GIS pull yet"))
    else:
        found += _over("no successful GIS pull for", pull_age, limits.pull_age_warning, limits.pull_age_critical, _duration)
    pending, oldest = doc["pending_actions"], doc["oldest_pending_age_s"] or 0.0
    given_up = sum(doc["failures"]["given_up"].values())
    found += _over("pending actions:", pending, limits.pending_warning, limits.pending_critical, str)
    found += _over("oldest pending action waits", oldest, limits.oldest_pending_warning, limits.oldest_pending_critical, _duration)
    found += _over("actions given up:", given_up, limits.failed_actions_warning, limits.failed_actions_critical, str)
    state = max((level for level, _ in found), default=OK)
    if state == OK:
        text = f"last cycle ok, GIS pulled {_duration(pull_age or 0)} ago, {pending} pending"
    else:
        text = "; ".join(why for level, why in sorted(found, key=lambda f: -f[0]) if level > OK)
    perf = [
        f"pending={pending};{limits.pending_warning};{limits.pending_critical};0",
        f"oldest_pending_age={oldest:.0f}s;{limits.oldest_pending_warning:.0f};{limits.oldest_pending_critical:.0f};0",
        "last_pull_age="
        + ("U" if pull_age is None else f"{pull_age:.0f}s")
        + f";{limits.pull_age_warning:.0f};{limits.pull_age_critical:.0f};0",
        f"failed_actions={given_up};{limits.failed_actions_warning};{limits.failed_actions_critical};0",
        f"retrying_actions={doc['retrying_actions']};;;0",
        f"conflicts={len(doc['conflicts'])};;;0",
    ]
    return Check(state, f"DOMCHAT {STATES[state]} - {_plain(text)} | {' '.join(perf)}")


def _over(what: str, value: float, warning: float, critical: float, show: Callable[[Any], str]) -> list[tuple[int, str]]:
    if value >= critical:
        return [(CRITICAL, f"{what} {show(value)} (critical from {show(critical)})")]
    if value >= warning:
        return [(WARNING, f"{what} {show(value)} (warning from {show(warning)})")]
    return []


def _phases(run: dict[str, Any]) -> str:
    return ", ".join(f"{p} {v}" for p, v in run["phases"].items() if v not in ("ok", "skipped"))


def _duration(seconds: float) -> str:
    s = int(seconds)
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 172800:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def _plain(text: str) -> str:
    """One line with no `|` (it starts the perfdata) and of a length monitoring shows whole."""
    return _cut(" ".join(text.replace("|", "/").split()), 400)


def _cut(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"
