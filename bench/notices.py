"""Reminders for a whole region on one day: computing them, and sending them at the bot's rate.

1. The pure schedule (`domain/notices.py`): every building's reminders on its local day and the
   instant each falls due in the spread window — µs per building.
2. A simulation of the bot's single rate-limited sender (27 calls a second: MAX's 30 less the
   10 % domchat keeps free) over one UTC day in which every building's meter-reading window
   opens (one reminder each, spread over 10:00–12:00 local) and 10 % of the buildings change
   manager at their local midnight (four rights calls each). Rights calls go first whenever
   both wait (the lowest lane is the notices'); a call under way is never interrupted. Reported:
   per zone, when the last reminder went out (local time) and the longest a reminder waited;
   and for the handovers, how much later their last rights call went out than in the same day
   without any reminders (at most one call's time, 1/27 s, when no reminder delays a handover).

Two regions: one in a single zone (all reminders share one window, the hard case for the
rate) and one spread over Russia's eleven zones, where Kamchatka's morning window meets
Kaliningrad's midnight (the case where reminders and handovers compete).

    PYTHONPATH=src python bench/notices.py [--scale quick|region|country]
"""

from __future__ import annotations

import argparse
import heapq
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from common import Table, best_of, render, table
from domchat.domain.model import Building
from domchat.domain.notices import Deadlines, MonthDay, NoticeRules, due_at, reminders_on
from fixture import ZONES

SIZES = {"quick": (10_000,), "region": (100_000,), "country": (100_000, 1_000_000)}
DAY = date(2026, 11, 20)
RATE = 27.0
RIGHTS_CALLS = 4
CHANGE_EVERY = 10
"""Every tenth building changes manager at its local midnight that day."""
RULES = NoticeRules()
DEADLINES = Deadlines(MonthDay(20), MonthDay(25), MonthDay(1, True), MonthDay(10, True))


LAYOUTS = {"one zone": ("Europe/Moscow",), "eleven zones": ZONES}
"""Most regions lie in one zone (all their reminders share one window); a few span several."""


def _buildings(n: int, zones: tuple[str, ...]) -> list[Building]:
    return [Building(f"b{i:07d}", "", zones[i % len(zones)]) for i in range(n)]


def schedule(buildings: list[Building]) -> list[tuple[datetime, str, str]]:
    """(due instant, building, zone) of every reminder of `DAY`."""
    out = []
    for b in buildings:
        for r in reminders_on(b.fias_guid, DEADLINES, DAY, RULES):
            out.append((due_at(b, r.day, r.key, RULES), b.fias_guid, b.tz))
    return out


def _rights(buildings: list[Building]) -> list[tuple[datetime, str]]:
    """(due instant, building) of each rights call of the day's handovers."""
    calls = []
    for i, b in enumerate(buildings):
        if i % CHANGE_EVERY == 0:
            midnight = b.local_midnight(DAY)
            calls.extend((midnight, b.fias_guid) for _ in range(RIGHTS_CALLS))
    return calls


def simulate(
    notices: list[tuple[datetime, str, str]], rights: list[tuple[datetime, str]]
) -> tuple[dict[str, float], list[tuple[datetime, datetime, str]]]:
    """One sender at `RATE`: rights first when both wait. Returns each rights call's finish (by
    building, the last) in seconds from the day's start, and each notice's (due, sent, zone)."""
    start = datetime.combine(DAY - timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    arrivals = sorted([((t - start).total_seconds(), 0, n, b) for n, (t, b) in enumerate(rights)])
    arrivals += sorted([((t - start).total_seconds(), 1, n, z) for n, (t, _, z) in enumerate(notices)])
    arrivals.sort()
    step = 1 / RATE
    waiting: list[tuple[int, float, int, str]] = []
    rights_done: dict[str, float] = {}
    sent: list[tuple[datetime, datetime, str]] = []
    now, k = 0.0, 0
    while k < len(arrivals) or waiting:
        if not waiting and arrivals[k][0] > now:
            now = arrivals[k][0]
        while k < len(arrivals) and arrivals[k][0] <= now:
            at, lane, n, who = arrivals[k]
            heapq.heappush(waiting, (lane, at, n, who))
            k += 1
        lane, at, n, who = heapq.heappop(waiting)
        now += step
        if lane == 0:
            building = rights[n][1]
            rights_done[building] = max(rights_done.get(building, 0.0), now)
        else:
            sent.append((start + timedelta(seconds=at), start + timedelta(seconds=now), who))
    return rights_done, sent


def run(scale: str) -> list[Table]:
    tables = []
    for n in SIZES[scale]:
        rows, notes = [], []
        for layout, zones in LAYOUTS.items():
            buildings = _buildings(n, zones)
            notices, seconds, _ = best_of(lambda b=buildings: schedule(b), budget=2.0, at_most=3)  # type: ignore[misc]
            rights = _rights(buildings)
            alone, _ = simulate([], rights)
            together, sent = simulate(notices, rights)
            delays = [together[b] - alone[b] for b in alone]
            later = sum(1 for d in delays if d > 1 / RATE + 1e-9)
            rows.extend(_zone_rows(layout, zones, sent))
            notes.append(
                f"{layout}: schedule {seconds / n * 1e6:.1f} µs per building; {len(notices):,} reminders and {len(rights):,} rights calls "
                f"({len(alone):,} handovers); the last rights call of a handover went out at most {max(delays):.3f} s later than "
                f"without reminders (one call takes {1 / RATE:.3f} s), {later} handovers later than that."
            )
        tables.append(
            table(
                f"Reminders of one day for {n:,} buildings, one sender at {RATE:g} calls/s",
                [
                    ("layout", "region", ""),
                    ("zone", "zone", ""),
                    ("reminders", "reminders", ",d"),
                    ("last", "last sent (local)", ""),
                    ("to_last", "min 10:00→last", ".1f"),
                    ("wait", "longest wait s", ".1f"),
                    ("quiet", "in quiet hours", "d"),
                ],
                rows,
                notes,
            )
        )
    return tables


def _zone_rows(layout: str, zones: tuple[str, ...], sent: list[tuple[datetime, datetime, str]]) -> list[dict[str, object]]:
    per_zone: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for due, out, zone in sent:
        per_zone[zone].append((due, out))
    rows = []
    for zone in zones:
        got = per_zone[zone]
        tz = Building("x", "", zone).zone()
        opens = datetime.combine(DAY, RULES.window_start, tzinfo=tz)
        last = max(out for _, out in got)
        rows.append(
            {
                "layout": layout,
                "zone": zone,
                "reminders": len(got),
                "last": last.astimezone(tz).strftime("%H:%M:%S"),
                "to_last": (last - opens).total_seconds() / 60,
                "wait": max((out - due).total_seconds() for due, out in got),
                "quiet": sum(1 for _, out in got if RULES.quiet(out.astimezone(tz).time())),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", choices=tuple(SIZES), default="quick")
    for t in run(parser.parse_args().scale):
        print(render(t))


if __name__ == "__main__":
    main()
