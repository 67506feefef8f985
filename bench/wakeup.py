"""A daemon wake-up's planning: the whole region (as every cycle did) against the planning memory.

The benchmark region (`fixture.py`) is stored in a database (SQLite in a temporary folder, or
PostgreSQL with `--pg`), every chat as it should be. Measured in CPU seconds of this process
(`time.process_time`; PostgreSQL's own work is not in it), best of a few runs:

* whole: what the plan phase did on every wake-up before the memory: load the snapshot and its
  effective periods, load every observed chat, plan every bound building (`Syncer._plan`
  without a memory);
* first use: the memory's first wake-up (the same load, and its heap of boundaries);
* idle: a wake-up with nothing touched and no boundary passed (take no touches, plan nothing,
  the region's next boundary from the heap);
* one chat: a wake-up after one chat was seen to change (a member joined), which plans its building.

    python bench/wakeup.py [--scale quick|region|country] [--sizes 1000,10000,100000] [--pg URL]
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from common import Table, ratio, render, table
from domchat import logs
from domchat.domain.plan import plan
from domchat.storage import repo
from domchat.storage.db import transaction
from domchat.sync.engine import load_domain
from domchat.sync.memory import PlanMemory, take_all
from fixture import AFTER, POLICY, TEMPLATES, region
from storage import Backend, fill

SIZES = {"quick": (1_000,), "region": (1_000, 10_000, 100_000), "country": (10_000, 100_000)}


def _cpu(fn: Callable[[], Any], runs: int, before: Callable[[], None] = lambda: None) -> float:
    best = float("inf")
    for _ in range(runs):
        before()
        gc.collect()
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def measure(engine: Engine, n: int) -> dict[str, Any]:
    now = AFTER
    chats = iter(sorted(b.chat_id for b in region(n).domain.bindings.values()))

    def whole() -> None:
        take_all(engine, "bench", now)
        with Session(engine) as s:
            domain = load_domain(s)
            actual = repo.load_actual(s)
        result = plan(domain, actual, now, POLICY, TEMPLATES)
        assert not result.actions, "every chat is as it should be"

    memory = PlanMemory(full_every=timedelta(days=1))

    def wake() -> int:
        memory.catch_up(engine, now)
        chosen = memory.take(now)
        result = plan(memory.domain, memory.actual, now, POLICY, TEMPLATES, chosen)
        assert memory.next_change() is not None
        assert len(result.actions) == (0 if chosen is None else len(chosen)), "a stranger joined: removed"
        return len(memory.domain.bindings) if chosen is None else len(chosen)

    def first_use() -> None:
        memory.invalidate()
        assert wake() == n

    def idle() -> None:
        assert wake() == 0

    def member_joins() -> None:
        with transaction(engine) as s:
            repo.add_member(s, next(chats), 42)

    def one_chat() -> None:
        assert wake() == 1

    runs = 3 if n <= 10_000 else 1
    whole_s = _cpu(whole, runs)
    first_s = _cpu(first_use, runs)
    idle_s = _cpu(idle, 20)
    one_s = _cpu(one_chat, 10, before=member_joins)
    return {
        "buildings": n,
        "whole_s": whole_s,
        "first_s": first_s,
        "idle_ms": idle_s * 1e3,
        "one_ms": one_s * 1e3,
        "whole_per_idle": ratio(whole_s, idle_s),
        "whole_per_one": ratio(whole_s, one_s),
    }


def run(scale: str = "quick", sizes: tuple[int, ...] | None = None, pg: str | None = None) -> list[Table]:
    rows = []
    backend = Backend("PostgreSQL", pg) if pg else Backend("SQLite", None)
    for n in sizes or SIZES[scale]:
        with backend.database() as engine:
            fill(engine, region(n))
            rows.append({"backend": backend.name} | measure(engine, n))
    return [
        table(
            "Wake-up: planning CPU, the whole region against the planning memory (nothing to do)",
            [
                ("backend", "database", ""),
                ("buildings", "buildings", ","),
                ("whole_s", "whole plan s", ".3f"),
                ("first_s", "memory first use s", ".3f"),
                ("idle_ms", "idle wake-up ms", ".3f"),
                ("one_ms", "one chat changed ms", ".2f"),
                ("whole_per_idle", "whole ÷ idle", ",.0f"),
                ("whole_per_one", "whole ÷ one chat", ",.0f"),
            ],
            rows,
            [
                "CPU seconds of this process (process_time), best of 3 (1 at 100,000) for the whole plan and the first use,",
                "of 20 idle wake-ups, of 10 wake-ups after one member joined a chat. Every chat is as it should be (no actions).",
            ],
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=tuple(SIZES), default="quick")
    parser.add_argument("--sizes", help="comma-separated numbers of buildings")
    parser.add_argument("--pg", help="PostgreSQL URL (default: SQLite in a temporary folder)")
    args = parser.parse_args()
    logs.configure("warning")
    sizes = tuple(int(x) for x in args.sizes.split(",")) if args.sizes else None
    print("\n\n".join(render(t) for t in run(args.scale, sizes, args.pg)))


if __name__ == "__main__":
    main()
