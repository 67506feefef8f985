"""A region simulation: the real daemon (`app.daemon.daemon`: its scheduler, engine, planner,
executor and SQLite storage) on a virtual clock against simulated MAX and GIS ZhKH.

The day: buildings spread over several Russian time zones, 10 % of them changing managing
organisation at 00:00 local on `CHANGE_DAY`; the region's full reconcile (every house from GIS,
every chat from MAX) falls due as the simulation starts, minutes before the first of those
midnights; residents write in the chats throughout (updates). The window simulated runs from
`START` to `WINDOW` after the last midnight, or until the CPU budget of the scale is spent
(a no-op wake-up costs the engine O(region) today, so a whole day of 30-s wake-ups at 10,000
buildings would take hours of CPU). `sim_services.py` says what the services model.

Reported (virtual time, which includes the engine's own CPU time): handover lag from each
changed building's local midnight to the moment its new manager's staff were all admins; calls
and CPU per building; memory, split into what only the simulation holds (the simulated MAX and
GIS) and what domchat itself would (the interpreter, and the daemon's growth above the setup);
and the issue's goals side by side as ratios: the last handover against (write calls its
midnight needs ÷ 27/s) + 5 s, a no-op wake-up's CPU across sizes, domchat's memory against 1 GB.
The setup streams the region a building at a time (`fixture.slices`) and never holds it whole;
`--setup-only` measures it alone.

    PYTHONPATH=src python bench/sim.py [--scale quick|region] [--sizes 1000] [--budget 60] [--setup-only]
"""

from __future__ import annotations

import argparse
import gc
import io
import itertools
import json
import math
import random
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as daytime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from common import MB, Table, child, ratio, render, reset_peak_rss, table, too_big, trim, vm
from domchat import logs
from domchat.app import cycles
from domchat.app.daemon import daemon
from domchat.app.wiring import BOT_BOOKMARK, App
from domchat.domain.model import Domain
from domchat.errors import DomchatError
from domchat.settings import ChatSettings, DatabaseSettings, LoggingSettings, MaxSettings, MetricsSettings, RegionSettings, Settings
from domchat.storage import db, repo
from domchat.storage.db import transaction
from domchat.storage.tables import RunRow, UpdateRow
from domchat.sync.engine import CHATS_READ
from domchat.sync.memory import PlanMemory
from domchat.sync.notices import VOTINGS_READ
from domchat.sync.pull import DOCUMENTS_READ, HOUSES_READ
from fixture import AUTHORITY, BEFORE, BOT, CHANGE_DAY, POLICY, chats, slices
from sim_services import GisProfile, GisWorld, MaxProfile, Overrun, SimClock, SimGis, SimMax
from storage import Loader, rows

SIZES = {"quick": (300,), "region": (10_000, 100_000), "country": (10_000, 100_000)}
"""quick is small because a no-op wake-up costs ~1 ms per building today: 1,000 buildings would
need minutes of CPU for the window's ~170 wake-ups."""
BUDGET = {"quick": 45.0, "region": 420.0, "country": 1_800.0}
"""CPU seconds one size may spend simulating (setup excluded) before it is stopped."""
ZONES = ("Asia/Yekaterinburg", "Europe/Samara", "Europe/Moscow")
"""Midnight of CHANGE_DAY falls at 19:00, 20:00 and 21:00 UTC on 30 November."""
SCALE_ZONES = {"quick": 2, "region": 3, "country": 3}
STEADY_FROM = 100_000
"""From this size the region starts reconciled (no full read due): one reconcile would outlast the budget."""
START = datetime(2026, 11, 30, 18, 55, tzinfo=UTC)
WINDOW = timedelta(minutes=20)
"""How long after the last midnight the simulation runs at least (then on until every changed building is handed over)."""
UPDATES_PER_BUILDING_HOUR = 0.05
KB_PER_BUILDING = 65
"""The daemon's loaded snapshot and chats (about 60 KB per building at 10,000) and the simulated MAX
and GIS (about 3 KB): the region itself is never held whole."""
PROBES = 3
"""Idle wake-ups run after the day (2 from STEADY_FROM on); the first warms caches and is not counted."""
WRITE_RATE = 27.0
GOAL_MARGIN = 5.0


def midnight(tz: str) -> datetime:
    return datetime.combine(CHANGE_DAY, daytime(0), ZoneInfo(tz)).astimezone(UTC)


@dataclass
class SimApp(App):
    """The daemon's `App`, its clients being the simulated services (the only seam: `gis()`/`max()`)."""

    sim_gis: SimGis | None = None
    sim_max: SimMax | None = None

    def gis(self) -> SimGis:  # type: ignore[override]
        assert self.sim_gis is not None
        return self.sim_gis

    def max(self) -> SimMax:  # type: ignore[override]
        assert self.sim_max is not None
        return self.sim_max


@dataclass
class Handover:
    building: str
    chat_id: int
    tz: str
    due: datetime
    new_staff: frozenset[int]
    old_staff: frozenset[int]


@dataclass(frozen=True)
class Setup:
    """What making the region and the simulated services cost (MB: the process's RSS)."""

    seconds: float
    cpu_s: float
    base_mb: float
    """Before: the interpreter and the imports, which domchat has in production too."""
    after_mb: float
    """After, freed memory given back: the base, the simulated MAX and GIS, the fixture's leftovers."""
    peak_mb: float


@dataclass
class Simulation:
    n: int
    app: SimApp
    clock: SimClock
    gis: SimGis
    platform: SimMax
    handovers: list[Handover]
    setup: Setup
    reconcile: bool
    error: str = ""
    figures: dict[str, Any] = field(default_factory=dict)


def settings(url: str, domain: Domain) -> Settings:
    return Settings(
        region=RegionSettings(code="86", licensees=sorted(domain.organisations)),
        database=DatabaseSettings(url=url),
        max=MaxSettings(authority_accounts=list(AUTHORITY), poll_timeout=0),  # SimMax holds no long poll: each cycle asks
        chats=ChatSettings(
            staff_permissions=sorted(p.value for p in POLICY.staff_permissions),
            authority_permissions=sorted(p.value for p in POLICY.authority_permissions),
        ),
        logging=LoggingSettings(level="info"),
        metrics=MetricsSettings(listen=""),
    )


def prepare(
    n: int,
    folder: Path,
    *,
    budget: float,
    zones: int = 3,
    reconcile: bool = True,
    change_share: float = 0.1,
    seed: int = 1,
    charge_cpu: bool = True,
    gis_profile: GisProfile = GisProfile(),
) -> Simulation:
    """Yesterday as it was stored and as MAX and GIS show it; the full reconcile due at START
    (or, without `reconcile`, done just before it). The region is made a building at a time
    (`fixture.slices`) and never held whole: what stays is the database and the simulated services."""
    begun, cpu = time.perf_counter(), time.process_time()
    base = vm("VmRSS")
    url = f"sqlite:///{folder / 'sim.db'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    with transaction(engine) as session:
        repo.set_bookmark(session, BOT_BOOKMARK, f"{BOT}:domchat_bot", START)
        for name in (CHATS_READ, HOUSES_READ):
            last_read = START - timedelta(days=1) if reconcile else START
            repo.set_bookmark(session, name, last_read.isoformat(), START)
        if not reconcile:  # nor the rest of the full read: contracts, owners' meetings (two GIS messages a building)
            for name in (DOCUMENTS_READ, VOTINGS_READ):
                repo.set_bookmark(session, name, START.isoformat(), START)

    last = max(midnight(tz) for tz in ZONES[:zones])
    clock = SimClock(START, last + WINDOW, cpu_budget=budget, charge_cpu=charge_cpu)
    parts = slices(n, change_share, seed, ZONES[:zones])
    first = next(parts)
    s = settings(url, first.domain)
    platform = SimMax(clock, s.max, (), BOT, MaxProfile(), seed)
    gis = SimGis(clock, s.gis, GisWorld(s.region.code), gis_profile, seed + 1)
    handovers: list[Handover] = []
    chat_ids: list[int] = []
    with engine.begin() as conn:
        loader = Loader(conn)
        for part in itertools.chain([first], parts):
            d, shared = part.domain, part is first
            chat = next(chats(part, BEFORE))
            loader.add(rows(part, BEFORE, shared=shared, observed=[chat]))
            platform.add_chat(chat)
            gis.world.add(d, shared=shared)
            chat_ids.append(chat.chat_id)
            for b in part.changed:
                tz, (*_, before, after) = d.buildings[b].tz, d.periods[b]
                handovers.append(Handover(b, chat.chat_id, tz, midnight(tz), d.staff[after.org], d.staff[before.org]))
        loader.flush()
    del first, part, d
    handovers.sort(key=lambda h: h.building)
    _schedule_updates(platform, chat_ids, START, clock.until, random.Random(seed + 2))
    clock.settled = lambda: all(_handed(platform, h) for h in handovers)
    app = SimApp(settings=s, clock=clock, _db=engine, sim_gis=gis, sim_max=platform)
    gc.collect()
    trim()
    setup = Setup(time.perf_counter() - begun, time.process_time() - cpu, base, vm("VmRSS"), vm("VmHWM"))
    return Simulation(n, app, clock, gis, platform, handovers, setup, reconcile)


def _handed(platform: SimMax, h: Handover) -> bool:
    members = platform.chats[h.chat_id].members
    return all(u in members and members[u].is_admin for u in h.new_staff)


def _schedule_updates(platform: SimMax, chat_ids: list[int], start: datetime, until: datetime, rng: random.Random) -> None:
    """Residents writing in their chats (no codes): stored, handled and answered by nobody."""
    hours = (until - start).total_seconds() / 3600
    count = int(len(chat_ids) * hours * UPDATES_PER_BUILDING_HOUR)
    times = sorted(rng.uniform(start.timestamp(), until.timestamp()) for _ in range(count))
    for k, at in enumerate(times):
        ms = int(at * 1000)
        chat_id = rng.choice(chat_ids)
        message = {
            "sender": {"user_id": 900_000_000 + k, "name": "Житель"},
            "recipient": {"chat_id": chat_id, "chat_type": "chat"},
            "timestamp": ms,
            "body": {"mid": f"mid.resident.{k}", "seq": k, "text": "Когда дадут горячую воду?"},
        }
        platform.schedule_update(at, {"update_type": "message_created", "timestamp": ms, "message": message})


def simulate(sim: Simulation) -> Simulation:
    """Run the daemon until the window ends or the CPU budget is spent."""
    logs.configure("info", json=True, stream=_Null())
    reset_peak_rss()
    sim.clock.start()
    try:
        daemon(sim.app, sim.clock.stop)
    except Overrun as e:
        sim.error = str(e)
    except Exception as e:  # the figures say how far it got, and why it ended
        sim.error = f"{type(e).__name__}: {e}"
    sim.figures = figures(sim)
    sim.figures |= idle_wakes(sim)
    sim.figures |= memory(sim)
    return sim


class _Null(io.TextIOBase):
    """Logs are written (their cost is the daemon's) and dropped."""

    def write(self, s: str) -> int:
        return len(s)


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def figures(sim: Simulation) -> dict[str, Any]:
    p, clock = sim.platform, sim.clock
    end = clock.monotonic()
    lags: list[float] = []
    by_tz: dict[str, list[float]] = {}
    wrong, missing, pending = 0, 0, 0
    for h in sim.handovers:
        members = p.chats[h.chat_id].members
        wrong += sum(1 for u in h.old_staff if u in members and members[u].is_admin)
        absent = [u for u in h.new_staff if u not in members or not members[u].is_admin or (h.chat_id, u) not in p.granted]
        missing += len(absent)
        if absent:
            pending += 1
            continue
        lag = max(p.granted[(h.chat_id, u)] for u in h.new_staff) - h.due.timestamp()
        lags.append(lag)
        by_tz.setdefault(h.tz, []).append(lag)
    changed = {h.chat_id: h for h in sim.handovers}
    writes: Counter[str] = Counter()
    for at, chat_id in p.writes:
        h = changed.get(chat_id)
        if h is not None and at >= h.due.timestamp():
            writes[h.tz] += 1
    goals = {tz: writes[tz] / WRITE_RATE + GOAL_MARGIN for tz in by_tz}
    worst_tz = max(by_tz, key=lambda tz: max(by_tz[tz]) / goals[tz], default=None)
    with Session(sim.app.db) as s:
        runs = list(s.exec(select(RunRow)))
        handled = list(s.exec(select(UpdateRow).where(col(UpdateRow.processed_at).is_not(None))))
    update_lags = [row.processed_at.timestamp() - json.loads(row.body)["timestamp"] / 1000 for row in handled if row.processed_at]
    cpu = clock.cpu()
    calls = sum(p.calls.values())
    return {
        "buildings": sim.n,
        "reconcile": "due" if sim.reconcile else "done",
        "changed": len(sim.handovers),
        "handed": len(lags),
        "pending": pending,
        "wrong_admins": wrong,
        "missing_admins": missing,
        "lag_p50": _pct(lags, 0.5),
        "lag_p99": _pct(lags, 0.99),
        "lag_max": max(lags) if lags else None,
        "goal_s": goals[worst_tz] if worst_tz else None,
        "goal_ratio": max(by_tz[worst_tz]) / goals[worst_tz] if worst_tz else None,
        "lag_by_zone": {tz: {"max": max(v), "goal": goals[tz], "writes": writes[tz]} for tz, v in by_tz.items()},
        "cycles": len(runs),
        "failed_cycles": sum(1 for r in runs if r.status != "ok"),
        "run_statuses": dict(Counter(r.status for r in runs)),
        "problems": sorted({p for r in runs for p in json.loads(r.summary).get("problems", [])})[:5],
        "gis_slow": sim.gis.profile.slow,
        "max_calls_b": calls / sim.n,
        "gis_messages_b": sim.gis.messages / sim.n,
        "gis_http_b": sim.gis.http / sim.n,
        "statuses": dict(p.statuses),
        "gis_faults": dict(sim.gis.faults),
        "cpu_s": cpu,
        "cpu_ms_b": cpu / sim.n * 1000,
        "updates": len(update_lags),
        "update_lag_p50": _pct(update_lags, 0.5),
        "update_lag_max": max(update_lags) if update_lags else None,
        "simulated_h": (end - START.timestamp()) / 3600,
        "ended": sim.error or clock.stopped_by or "daemon returned",
    }


def memory(sim: Simulation) -> dict[str, Any]:
    """The process's RSS split into what domchat would hold in production (the interpreter and its
    imports, and what the daemon added above the setup) and what only the simulation holds."""
    setup, peak = sim.setup, vm("VmHWM")
    engine = max(peak - setup.after_mb, 0.0)
    return {
        "peak_mb": peak,
        "base_mb": setup.base_mb,
        "sim_mb": setup.after_mb - setup.base_mb,
        "engine_mb": engine,
        "domchat_mb": setup.base_mb + engine,
        "setup_s": setup.seconds,
        "setup_cpu_s": setup.cpu_s,
        "setup_peak_mb": setup.peak_mb,
    }


def idle_wakes(sim: Simulation) -> dict[str, Any]:
    """The daemon's wake-up between pulls (`sync_once(pull=False)` with a planning memory, as the
    daemon keeps one) run again after the day, when every update is handled: its CPU when it
    finds nothing to do, the cost the goal wants O(changed). The first probe loads the memory."""
    sim.clock.cpu_budget = math.inf
    probes: list[dict[str, Any]] = []
    memory = PlanMemory(timedelta(seconds=sim.app.settings.sync.full_plan_interval))
    for _ in range(PROBES if sim.n < STEADY_FROM else 2):
        cpu = time.process_time()
        try:
            report = cycles.sync_once(sim.app, trigger="updates", pull=False, memory=memory)
        except DomchatError as e:
            probes.append({"cpu_ms": round((time.process_time() - cpu) * 1000), "error": str(e)})
            continue
        probes.append({"cpu_ms": round((time.process_time() - cpu) * 1000), "planned": report.planned, "updates": report.updates})
    idle = [p["cpu_ms"] for p in probes[1:] if "error" not in p]
    return {"noop_cpu_ms": statistics.median(idle) if idle else None, "probes": probes}


def one(n: int, budget: float, zones: int, slow: float | None = None, *, setup_only: bool = False) -> dict[str, Any]:
    profile = GisProfile() if slow is None else GisProfile(slow=slow)
    with tempfile.TemporaryDirectory(prefix="domchat-sim-") as tmp:
        sim = prepare(n, Path(tmp), budget=budget, zones=zones, reconcile=n < STEADY_FROM, gis_profile=profile)
        if setup_only:
            database = sum(f.stat().st_size for f in Path(tmp).iterdir()) / MB
            sim.app.db.dispose()
            return {"buildings": n, **memory(sim), "database_mb": database, "chats": len(sim.platform.chats)}
        simulate(sim)
        sim.app.db.dispose()
        return sim.figures


def run(scale: str, sizes: tuple[int, ...] | None = None, budget: float | None = None, *, setup_only: bool = False) -> list[Table]:
    found, skipped = [], []
    for n in sizes or SIZES[scale]:
        reason = too_big(n, KB_PER_BUILDING)
        if reason:
            skipped.append(reason)
            continue
        args = ("--one", str(n), "--budget", str(budget or BUDGET[scale]), "--zones", str(SCALE_ZONES[scale]))
        found.append(child(Path(__file__).resolve(), *args, *(("--setup-only",) if setup_only else ())))
    if setup_only:
        return [setup_table(found, skipped)]
    return [tables(found, skipped), goals(found)]


SETUP_MEMORY = (
    "memory (RSS): base = the interpreter and the imports, before the setup; sim = what the setup added and kept (the simulated"
    " MAX and GIS, the fixture's leftovers; freed memory given back first)"
)
MEMORY_NOTE = (
    f"{SETUP_MEMORY}; engine = the daemon's growth above that, to the peak (its loaded snapshot and chats, SQLite's cache, the"
    " simulated services' small growth: calls, grants); domchat = base + engine, what domchat itself would hold where MAX and"
    " GIS are other machines; domchat/1 GB: against the goal."
)


def tables(rows: list[dict[str, Any]], skipped: list[str]) -> Table:
    base = rows[0] if rows else {}
    for r in rows:
        r["handed_share"] = f"{r['handed']:,}/{r['changed']:,}"
        r["noop_ratio"] = ratio(r["noop_cpu_ms"], base.get("noop_cpu_ms"))
        r["size_ratio"] = r["buildings"] / base["buildings"]
        r["mem_ratio"] = r["domchat_mb"] / 1024
        r["wrong"] = f"{r['wrong_admins']}/{r['missing_admins']}"
    notes = [
        "Virtual time: simulated sleeps plus the process's CPU time (one core). lag: from a building's local midnight to its new"
        " manager's staff all being admins; pending: changed buildings not handed over when the run ended.",
        "goal: (write calls on that midnight's changed chats ÷ 27/s) + 5 s, for the midnight whose last handover is furthest"
        " from it; goal ×: its last handover ÷ goal (≤ 1 meets the goal).",
        "idle wake ms: CPU of the daemon's wake-up between pulls run again after the day, with no update waiting (median of"
        f" {PROBES - 1} after one that finishes leftovers; their planned actions are in the notes); × against the smallest size"
        " (1.0: O(changed); size ×: O(region)).",
        MEMORY_NOTE,
        "wrong/missing: old staff still admins / new staff not admins at the end, over all changed buildings.",
    ]
    for r in rows:
        notes.append(
            f"{r['buildings']:,}: ran {r['simulated_h']:.2f} h simulated ({r['cycles']} cycles: {r['run_statuses']}),"
            f" GIS slow answers {r['gis_slow']:.0%}; ended: {r['ended']}; problems {r['problems']};"
            f" idle wake-ups {json.dumps(r['probes'], default=round)};"
            f" MAX answers {r['statuses']}; GIS faults {r['gis_faults']};"
            f" setup {r['setup_s']:.0f} s ({r['setup_cpu_s']:.0f} s CPU, peak RSS {r['setup_peak_mb']:,.0f} MB);"
            f" by midnight {json.dumps(r['lag_by_zone'], default=lambda v: round(v, 1))}"
        )
    notes.extend(skipped)
    return table(
        "Region simulation: the daemon on a virtual clock, 10 % of managers changing at local midnight across time zones",
        [
            ("buildings", "buildings", ","),
            ("reconcile", "reconcile", ""),
            ("handed_share", "handed over", ""),
            ("pending", "pending", ","),
            ("lag_p50", "lag p50 s", ",.1f"),
            ("lag_p99", "lag p99 s", ",.1f"),
            ("lag_max", "lag max s", ",.1f"),
            ("goal_s", "goal s", ",.1f"),
            ("goal_ratio", "goal ×", ",.1f"),
            ("wrong", "wrong/missing", ""),
            ("max_calls_b", "MAX calls/b", ".2f"),
            ("gis_messages_b", "GIS msgs/b", ".2f"),
            ("cpu_ms_b", "CPU ms/b", ",.1f"),
            ("noop_cpu_ms", "idle wake ms", ",.0f"),
            ("noop_ratio", "idle wake ×", ".1f"),
            ("size_ratio", "size ×", ",.0f"),
            ("update_lag_p50", "update lag p50 s", ",.1f"),
            ("update_lag_max", "update lag max s", ",.0f"),
            ("peak_mb", "peak RSS MB", ",.0f"),
            ("sim_mb", "sim MB", ",.0f"),
            ("engine_mb", "engine MB", ",.0f"),
            ("domchat_mb", "domchat MB", ",.0f"),
            ("mem_ratio", "domchat/1 GB", ".2f"),
        ],
        rows,
        notes,
    )


def goals(rows: list[dict[str, Any]]) -> Table:
    """The issue's goals, one a row, each size's figure against its target side by side."""

    def handover(r: dict[str, Any]) -> str:
        if r["goal_s"] is None:
            return "none handed over"
        pending = f" ({r['pending']:,} pending)" if r["pending"] else ""
        return f"{r['lag_max']:,.0f} s ÷ {r['goal_s']:,.0f} s = {r['goal_ratio']:.2f}{pending}"

    def wake(r: dict[str, Any]) -> str:
        if r["noop_cpu_ms"] is None:
            return "-"
        each = f"{r['noop_cpu_ms']:,.0f} ms ({r['noop_cpu_ms'] / r['buildings']:.2f} ms/b)"
        return f"{each}, the base" if r is rows[0] else f"{each} = {r['noop_ratio']:.2f} × the base"

    def memory(r: dict[str, Any]) -> str:
        return f"{r['domchat_mb']:,.0f} MB = {r['mem_ratio']:.2f}"

    lines = [
        ("last handover ÷ ((write calls ÷ 27/s) + 5 s)", "≤ 1", handover),
        (f"no-op wake-up CPU ÷ the base's (at {rows[0]['buildings']:,})" if rows else "no-op wake-up CPU", "≈ 1 (O(changed))", wake),
        ("domchat memory (base + engine) ÷ 1 GB", "≤ 1", memory),
    ]
    out = [{"goal": goal, "target": target} | {f"n{r['buildings']}": show(r) for r in rows} for goal, target, show in lines]
    columns = [("goal", "goal", ""), ("target", "target", "")] + [(f"n{r['buildings']}", f"{r['buildings']:,} buildings", "") for r in rows]
    return table(
        "Region simulation: the issue's goals, each size's figure against its target",
        columns,
        out,
        ["The figures of the table above, as ratios: ≤ 1 meets a goal; a stopped run's last handover is only as far as it got."],
    )


def setup_table(rows: list[dict[str, Any]], skipped: list[str]) -> Table:
    return table(
        "Region simulation: the setup alone (the region streamed into SQLite and the simulated MAX and GIS)",
        [
            ("buildings", "buildings", ","),
            ("setup_s", "seconds", ",.1f"),
            ("setup_cpu_s", "CPU s", ",.1f"),
            ("base_mb", "base MB", ",.0f"),
            ("sim_mb", "sim MB", ",.0f"),
            ("setup_peak_mb", "peak RSS MB", ",.0f"),
            ("database_mb", "SQLite MB", ",.0f"),
        ],
        rows,
        [f"{SETUP_MEMORY}; peak RSS: the whole process during the setup; SQLite MB: the database file.", *skipped],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=tuple(SIZES), default="quick")
    parser.add_argument("--sizes", help="comma-separated numbers of buildings")
    parser.add_argument("--budget", type=float, help="CPU seconds per size (default: the scale's)")
    parser.add_argument("--setup-only", action="store_true", help="measure the setup (time, memory) without simulating")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--zones", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--slow", type=float, help="share of GIS messages answered slowly (default: GisProfile's)")
    args = parser.parse_args()
    if args.one:
        zones = args.zones or SCALE_ZONES[args.scale]
        figures = one(args.one, args.budget or BUDGET[args.scale], zones, args.slow, setup_only=args.setup_only)
        print(json.dumps(figures, ensure_ascii=False))
        return
    sizes = tuple(int(x) for x in args.sizes.split(",")) if args.sizes else None
    print("\n\n".join(render(t) for t in run(args.scale, sizes, args.budget, setup_only=args.setup_only)))


if __name__ == "__main__":
    main()
