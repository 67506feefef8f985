"""The planner at scale: `domchat.domain.plan.plan` (pure) over a whole region of bound chats.

Two situations per size: the steady state (every chat already as it should be: the plan is
empty, as on most cycles) and the morning after a midnight on which 10 % of the buildings got
a new managing organisation (chats observed before midnight, planned after it). Reported: µs
per building, the ratio steady/change, how the cost per building grows with the size of the
region (1.0 = linear), and the Python memory the planner allocates (tracemalloc peak).

When one plan of the whole region would take longer than the scale's budget, the planner runs
over an evenly spaced sample of the bindings with the full domain behind it, as the engine's
scoped cycles do (`resync --building`); the table says so, and the whole-region seconds are
then the measured per-building cost times the region's size.

    PYTHONPATH=src python bench/planner.py [--scale quick|region|country] [--sizes 1000,10000] [--full]
"""

from __future__ import annotations

import argparse
import gc
from dataclasses import replace
from typing import Any

from common import MB, Table, best_of, ratio, render, table, too_big, traced, vm
from domchat.domain.model import ActualChat, Domain
from domchat.domain.plan import Plan, plan
from fixture import AFTER, BEFORE, POLICY, TEMPLATES, Region, observed, region

SIZES = {"quick": (1_000, 10_000), "region": (1_000, 10_000, 100_000), "country": (10_000, 100_000, 1_000_000)}
BUDGET = {"quick": 3.0, "region": 30.0, "country": 60.0}
"""Seconds one timed plan may take before the planner is measured on a sample instead."""
KB_PER_BUILDING = 24
"""What the inputs take (domain + two observed states: ~21.5 KB per building measured at 100k), with room to spare."""
PILOT = 500
MEMORY_SAMPLE = 1_000
"""tracemalloc slows the planner about sevenfold: memory is measured on at most this many bindings."""


def _sample(domain: Domain, every: int) -> Domain:
    if every <= 1:
        return domain
    keep = sorted(domain.bindings)[::every]
    return replace(domain, bindings={b: domain.bindings[b] for b in keep})


def _plan(domain: Domain, actual: dict[int, ActualChat]) -> Plan:
    return plan(domain, actual, AFTER, POLICY, TEMPLATES)


def measure(n: int, budget: float, full: bool) -> dict[str, Any]:
    rss0 = vm("VmRSS")
    r: Region = region(n)
    steady = observed(r, AFTER)  # what MAX shows after the last sync: nothing to do
    before = observed(r, BEFORE)  # what it showed before midnight: 10 % have the old manager
    gc.collect()
    gc.freeze()  # the inputs are long-lived: collections during plan() should not walk them (less noise)
    held_mb = vm("VmRSS") - rss0
    members = sum(len(c.members) for c in steady.values())
    staff = sum(len(s) for s in r.domain.staff.values())

    # A pilot on a small sample tells whether the whole region fits the time budget.
    every = 1
    if not full and n > PILOT:
        pilot = _sample(r.domain, max(1, n // PILOT))
        _, pilot_s, _ = best_of(lambda: _plan(pilot, before), budget=0, at_most=1)
        projected = pilot_s / len(pilot.bindings) * n
        if projected > budget:
            every = max(2, int(projected / budget) + 1)
    domain = _sample(r.domain, every)
    planned = len(domain.bindings)

    result_s, steady_s, _ = best_of(lambda: _plan(domain, steady), budget=1.0)
    assert not result_s.actions, "the steady state must plan nothing"
    result_c, change_s, _ = best_of(lambda: _plan(domain, before), budget=1.0)
    touched = {a.building for a in result_c.actions}
    assert touched <= r.changed and touched, "only buildings whose manager changed get actions"
    small = _sample(r.domain, max(1, n // MEMORY_SAMPLE))
    _, steady_peak, _ = traced(lambda: _plan(small, steady))
    _, change_peak, change_kept = traced(lambda: _plan(small, before))
    traced_on = len(small.bindings)
    out = {
        "buildings": n,
        "planned": planned,
        "sampled": every > 1,
        "orgs": len(r.domain.organisations),
        "staff": staff,
        "members_per_chat": members / n,
        "changed": sum(1 for b in domain.bindings if b in r.changed),
        "actions": len(result_c.actions),
        "steady_us": steady_s / planned * 1e6,
        "change_us": change_s / planned * 1e6,
        "steady_region_s": steady_s / planned * n,
        "change_region_s": change_s / planned * n,
        "traced": traced_on,
        "steady_peak_kb": steady_peak / 1024 / traced_on,
        "change_peak_kb": change_peak / 1024 / traced_on,
        "plan_kb": change_kept / 1024 / traced_on,
        # The Plan grows with the region; what plan() holds beyond it is per building, freed as it goes.
        "change_peak_region_mb": (change_kept / traced_on * n + change_peak - change_kept) / MB,
        "input_mb": held_mb,
    }
    gc.unfreeze()
    return out


def tables(rows: list[dict[str, Any]]) -> list[Table]:
    base = rows[0]
    for row in rows:
        row["steady_per_change"] = ratio(row["steady_us"], row["change_us"])
        row["scaling"] = ratio(row["steady_us"], base["steady_us"])
        row["change_scaling"] = ratio(row["change_us"], base["change_us"])
        row["measured_on"] = f"1 in {row['buildings'] // row['planned']}" if row["sampled"] else "all"
    timing = table(
        "Planner: time (plan() over every bound chat; 10 % of managers changed at midnight)",
        [
            ("buildings", "buildings", ","),
            ("measured_on", "planned", ""),
            ("staff", "staff", ","),
            ("members_per_chat", "members/chat", ".1f"),
            ("steady_us", "steady µs/b", ",.1f"),
            ("change_us", "change µs/b", ",.1f"),
            ("steady_per_change", "steady/change", ".2f"),
            ("scaling", f"steady µs/b ÷ {base['buildings']:,}", ".1f"),
            ("change_scaling", f"change µs/b ÷ {base['buildings']:,}", ".1f"),
            ("steady_region_s", "steady s/region", ",.1f"),
            ("change_region_s", "change s/region", ",.1f"),
            ("actions", "change actions", ","),
        ],
        rows,
        [
            "µs/b: microseconds per bound building (fastest of up to 5 runs). '÷ N': cost per building relative to the smallest"
            " region; 1.0 means the planner is linear in the size of the region.",
            "s/region: one plan of the whole region (when 'planned' is a sample: the measured µs/b × buildings).",
        ],
    )
    memory = table(
        "Planner: memory (tracemalloc, Python allocations made by plan())",
        [
            ("buildings", "buildings", ","),
            ("traced", "traced", ","),
            ("steady_peak_kb", "steady peak KB/b", ".2f"),
            ("change_peak_kb", "change peak KB/b", ".2f"),
            ("plan_kb", "change Plan KB/b", ".2f"),
            ("change_peak_region_mb", "change peak MB/region", ",.0f"),
            ("input_mb", "inputs RSS MB", ",.0f"),
        ],
        rows,
        [
            "traced: bindings planned under tracemalloc (evenly spaced, full domain behind them). peak: the most plan() held at once"
            " beyond its inputs, per traced building; Plan: what it returned;",
            "MB/region: the Plan of the whole region plus the rest of the peak (what plan() holds per building is freed as it goes).",
            "inputs: domain + the two observed states as the benchmark builds them (RSS growth; the engine holds one of each).",
        ],
    )
    return [timing, memory]


def run(scale: str, sizes: tuple[int, ...] | None = None, full: bool = False) -> list[Table]:
    rows, skipped = [], []
    for n in sizes or SIZES[scale]:
        reason = too_big(n, KB_PER_BUILDING)
        if reason:
            skipped.append(reason)
        else:
            rows.append(measure(n, BUDGET[scale], full))
    if not rows:
        return [table("Planner", [], [], skipped)]
    out = tables(rows)
    out[0]["notes"].extend(skipped)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=tuple(SIZES), default="quick")
    parser.add_argument("--sizes", help="comma-separated numbers of buildings")
    parser.add_argument("--full", action="store_true", help="always plan the whole region, however long it takes")
    args = parser.parse_args()
    sizes = tuple(int(x) for x in args.sizes.split(",")) if args.sizes else None
    out = run(args.scale, sizes, args.full)
    print("\n\n".join(render(t) for t in out))


if __name__ == "__main__":
    main()
