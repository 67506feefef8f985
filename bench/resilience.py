"""Failure isolation under faults: how many `sync --once` runs until every chat is right.

A simulation of the real job (the demo's path: both emulators in a child process, SQLite,
real HTTP) with the MAX emulator answering a share of calls 500 and bursts of 429, and the GIS
emulator failing some messages (EXP001000, 503). Per fault level: the runs until the first
provisioning of every chat is complete and then until a handover of every changing building
has landed, the actions retried and given up, duplicate bot messages, wrong admins at the end,
and the seconds spent. Retries wait little here (`action_backoff` 0.05 s) so that runs follow
each other at once, as cron minutes would.

    PYTHONPATH=src python bench/resilience.py [--scale quick] [--buildings 40]
"""

from __future__ import annotations

import argparse
import json
import logging
import secrets
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from common import Table, render, table
from domchat import app as app_mod
from domchat.demo import BOT_RIGHTS, Emulators, emulators, write_config
from domchat.emulators.world import GeneratorOptions, WorldGenerator

SIZES = {"quick": 40, "region": 200, "country": 400}
LEVELS = (
    ("none", {}),
    (
        "MAX 5% 5xx, 429 bursts; GIS 10% EXP001000, 5% 503",
        {"max_5xx_share": 0.05, "max_429_burst_every": 25, "gis_exp001000_share": 0.1, "gis_5xx_share": 0.05},
    ),
    (
        "MAX 20% 5xx, 429 bursts; GIS 30% EXP001000, 10% 503",
        {"max_5xx_share": 0.2, "max_429_burst_every": 10, "gis_exp001000_share": 0.3, "gis_5xx_share": 0.1},
    ),
)
MAX_RUNS = 10


def _manager(b: dict[str, Any], at: datetime) -> str:
    day = at.astimezone(ZoneInfo(b["tz"])).date()
    return next(
        str(m["ogrn"])
        for m in b["management"]
        if date.fromisoformat(m["start"]) <= day and (m["end"] is None or day < date.fromisoformat(m["end"]))
    )


def _wrong_admins(em: Emulators, world: dict[str, Any], chats: dict[str, int], at: datetime) -> int:
    fixed = set(world["authority"]["max_accounts"]) | {world["bot"]["user_id"]}
    staff = {o["ogrn"]: set(o["staff"]) for o in world["organisations"]}
    wrong = 0
    for b in world["buildings"]:
        state = em.act("GET", f"/chats/{chats[b['fias_guid']]}")
        got = {m["user_id"] for m in state["members"] if m.get("is_admin")}
        wrong += len(got ^ (fixed | staff[_manager(b, at)]))
    return wrong


def _duplicates(em: Emulators, world: dict[str, Any], chats: dict[str, int]) -> int:
    bot = world["bot"]["user_id"]
    n = 0
    for chat in chats.values():
        sent = Counter(m["text"] for m in em.act("GET", f"/chats/{chat}")["messages"] if m["sender_id"] == bot)
        n += sum(c - 1 for c in sent.values())
    return n


def _until_settled(config: Path, at: datetime, totals: Counter[str]) -> int:
    """Runs at `at` until one plans nothing and leaves nothing pending (at most MAX_RUNS)."""
    for run in range(1, MAX_RUNS + 1):
        app = app_mod.open_app(config, now=at)
        report = app_mod.sync_once(app)
        totals["retried"] += report.retrying
        totals["given_up"] += report.failed
        totals[f"runs_{report.status}"] += 1
        if app_mod.status(app)["pending_actions"] == 0 and report.status != "failed" and report.done == 0:
            return run - 1
        time.sleep(0.1)  # let the retries' not-before instants pass
    return MAX_RUNS


def level(name: str, faults: dict[str, Any], buildings: int, workdir: Path) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    world_path = workdir / "world.json"
    with world_path.open("w", encoding="utf-8") as f:
        WorldGenerator(GeneratorOptions(buildings=buildings, seed=2026, today=today, buildings_per_org=5)).write(f)
    world = json.loads(world_path.read_text(encoding="utf-8"))
    world["faults"] = {**faults, "gis_fault_seed": 7}
    world_path.write_text(json.dumps(world, ensure_ascii=False), encoding="utf-8")
    token_file = workdir / "max-token"
    token_file.write_text(secrets.token_urlsafe(32), encoding="utf-8")
    started = time.perf_counter()
    totals: Counter[str] = Counter()
    with (workdir / "emulators.log").open("w", encoding="utf-8") as log, emulators(workdir, world_path, token_file, log) as em:
        config = write_config(workdir, world, em, app_mod.schemas_dir(None))
        with config.open("a", encoding="utf-8") as f:
            f.write("\n[sync]\naction_backoff = 0.05\naction_backoff_cap = 0.2\n")
        app = app_mod.open_app(config)
        app_mod.upgrade_db(app)
        noon = datetime.combine(today, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9)
        _until_settled(config, noon, totals)  # the first pull (GIS faults may take a run or two)
        authority = world["authority"]["max_accounts"][0]
        for org in world["organisations"]:
            for user in org["staff"]:
                link = app_mod.org_invite(app, org["ogrn"], "bench")
                em.act("POST", "/start", user_id=user, payload=link.split("start=", 1)[1])
        chats: dict[str, int] = {}
        for row in app_mod.pending_chats(app, "bench"):
            chat = em.act("POST", "/chats", as_user=authority, title="Чат дома")
            em.act("POST", f"/chats/{chat['chat_id']}/bot", as_user=authority, permissions=BOT_RIGHTS)
            em.act("POST", f"/chats/{chat['chat_id']}/messages", as_user=authority, text=f"Код привязки: {row['code']}")
            chats[row["building"]] = chat["chat_id"]
        provisioning = _until_settled(config, noon, totals)
        last = max(date.fromisoformat(m["start"]) for b in world["buildings"] for m in b["management"][1:])
        later = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
        handover = _until_settled(config, later, totals)
        wrong = _wrong_admins(em, world, chats, later)
        dupes = _duplicates(em, world, chats)
    return {
        "faults": name,
        "provisioning": provisioning,
        "handover": handover,
        "retried": totals["retried"],
        "given_up": totals["given_up"],
        "degraded": totals["runs_degraded"],
        "failed": totals["runs_failed"],
        "wrong": wrong,
        "dupes": dupes,
        "seconds": time.perf_counter() - started,
    }


def run(scale: str) -> list[Table]:
    return [_table(SIZES[scale])]


def _table(buildings: int) -> Table:
    logging.disable(logging.CRITICAL)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    rows = []
    for name, faults in LEVELS:
        with tempfile.TemporaryDirectory(prefix="domchat-bench-") as d:
            rows.append(level(name, faults, buildings, Path(d)))
    return table(
        f"Failure isolation: {buildings} buildings, runs until every change landed (at most {MAX_RUNS})",
        [
            ("faults", "faults injected", ""),
            ("provisioning", "runs: binding", "d"),
            ("handover", "runs: handover", "d"),
            ("retried", "retries", "d"),
            ("given_up", "given up", "d"),
            ("degraded", "runs degraded", "d"),
            ("failed", "runs failed", "d"),
            ("wrong", "wrong admins", "d"),
            ("dupes", "duplicate msgs", "d"),
            ("seconds", "seconds", ".1f"),
        ],
        rows,
        ["runs: sync --once runs that changed something before one found nothing left to do"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=tuple(SIZES), default="quick")
    parser.add_argument("--buildings", type=int)
    args = parser.parse_args()
    print(render(_table(args.buildings or SIZES[args.scale])))


if __name__ == "__main__":
    main()
