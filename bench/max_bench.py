"""MAX client and emulator figures: rate kept, 429s met, emulator capacity, update latency.

Run: `PYTHONPATH=src python bench/max_bench.py [--calls 300] [--threads 4] [--json bench/results/max.json]`.
Prints a table; measurements, not pass/fail (the tests assert the behaviour). `bench/run.py`
runs it with the sizes in `SIZES`.
"""

from __future__ import annotations

import argparse
import json
import logging
import secrets
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import requests
import structlog

from common import Table, table
from domchat.emulators.max import MaxEmulator, WebhookPolicy
from domchat.max_client import MaxClient, TokenBucket, WebhookReceiver, client_rate
from domchat.max_client.types import Update
from domchat.settings import MaxSettings, Secret

TOKEN = secrets.token_urlsafe(16)
AUTHORITY = 100


def world(residents: int = 50) -> dict[str, Any]:
    users = [{"user_id": AUTHORITY, "first_name": "Оператор"}]
    users += [{"user_id": 20_000 + i, "first_name": "Житель"} for i in range(residents)]
    return {
        "format": "domchat-world/1",
        "region": {"code": "86"},
        "authority": {"ogrn": "1028600000001", "ppa_guid": "00000000-0000-4000-8000-000000000001", "max_accounts": [AUTHORITY]},
        "bot": {"user_id": 1, "username": "bench_bot"},
        "organisations": [],
        "users": users,
        "buildings": [],
    }


class Arrivals:
    """The emulator's rate-limit clock, recording when each request was counted."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        now = time.monotonic()
        with self._lock:
            self.times.append(now)
        return now

    def busiest_second(self) -> int:
        t = sorted(self.times)
        j, best = 0, 0
        for i in range(len(t)):
            while t[i] - t[j] >= 1.0:
                j += 1
            best = max(best, i - j + 1)
        return best


def in_threads(threads: int, calls: int, work: Callable[[], object]) -> float:
    """Seconds for `calls` calls of `work` spread over `threads` threads."""
    per = calls // threads

    def run() -> None:
        for _ in range(per):
            work()

    pool = [threading.Thread(target=run) for _ in range(threads)]
    started = time.perf_counter()
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    return time.perf_counter() - started


def rate_kept(calls: int, threads: int) -> dict[str, Any]:
    arrivals = Arrivals()
    emu = MaxEmulator(world(), TOKEN, rate_limit=30, monotonic=arrivals)
    url = emu.start()
    settings = MaxSettings(base_url=url, retries=0)
    client = MaxClient(settings, Secret(TOKEN), limiter=TokenBucket(client_rate(settings)))
    try:
        seconds = in_threads(threads, calls, client.me)
        counts = requests.get(url + "/_emulator/stats", timeout=5).json()["counts"]
    finally:
        emu.stop()
    return {
        "calls": calls,
        "threads": threads,
        "calls_per_s": round(calls / seconds, 2),
        "client_rate": client_rate(settings),
        "busiest_second_at_server": arrivals.busiest_second(),
        "status_429": counts.get("status_429", 0),
    }


def capacity(calls: int, threads: int) -> dict[str, Any]:
    emu = MaxEmulator(world(), TOKEN, rate_limit=1e9)
    url = emu.start()
    client = MaxClient(MaxSettings(base_url=url), Secret(TOKEN), limiter=TokenBucket(1e9))
    try:
        seconds = in_threads(threads, calls, client.me)
    finally:
        emu.stop()
    return {"calls": calls, "threads": threads, "requests_per_s": round(calls / seconds, 1)}


def long_poll_latency(samples: int) -> dict[str, Any]:
    emu = MaxEmulator(world(samples), TOKEN, rate_limit=1e9)
    url = emu.start()
    client = MaxClient(MaxSettings(base_url=url), Secret(TOKEN), limiter=TokenBucket(1e9))
    control = requests.Session()
    latencies: list[float] = []
    marker = client.get_updates(None).marker
    try:

        def start_bot(posted: list[float], user_id: int) -> None:
            posted.append(time.perf_counter())
            control.post(url + "/_emulator/start", json={"user_id": user_id, "payload": "p"})

        for i in range(samples):
            posted: list[float] = []
            # The poll is already waiting when the update is made: this is push latency.
            timer = threading.Timer(0.01, start_bot, args=(posted, 20_000 + i))
            timer.start()
            batch = client.get_updates(marker, timeout=10)
            latencies.append(time.perf_counter() - posted[0])
            timer.join()
            marker = batch.marker
    finally:
        emu.stop()
    return _summary(latencies)


def webhook_throughput(updates: int) -> dict[str, Any]:
    emu = MaxEmulator(world(updates), TOKEN, rate_limit=1e9, webhook=WebhookPolicy(first_retry=0.05))
    url = emu.start()
    got = threading.Semaphore(0)

    def store(batch: Sequence[Update], marker: int | None) -> None:
        for _ in batch:
            got.release()

    receiver = WebhookReceiver(secret=Secret("bench-secret"), store=store)
    client = MaxClient(MaxSettings(base_url=url), Secret(TOKEN), limiter=TokenBucket(1e9))
    try:
        client.subscribe(receiver.start(), secret=Secret("bench-secret"))
        control = requests.Session()
        started = time.perf_counter()
        for i in range(updates):
            control.post(url + "/_emulator/start", json={"user_id": 20_000 + i, "payload": str(i)})
        for _ in range(updates):
            got.acquire(timeout=30)
        seconds = time.perf_counter() - started
    finally:
        receiver.stop()
        emu.stop()
    return {"updates": updates, "updates_per_s": round(updates / seconds, 1)}


def _summary(values: list[float]) -> dict[str, Any]:
    ms = sorted(v * 1000 for v in values)
    p95 = ms[int(len(ms) * 0.95) - 1]
    return {"samples": len(ms), "median_ms": round(statistics.median(ms), 2), "p95_ms": round(p95, 2), "max_ms": round(ms[-1], 2)}


SIZES = {
    "quick": {"calls": 90, "threads": 4, "polls": 30, "updates": 200},
    "region": {"calls": 300, "threads": 4, "polls": 50, "updates": 500},
    "country": {"calls": 600, "threads": 8, "polls": 100, "updates": 1000},
}
PLATFORM_RATE = 30
"""Requests per second the MAX platform allows one bot token."""


def figures(calls: int, threads: int, polls: int = 50, updates: int = 500) -> dict[str, dict[str, Any]]:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    return {
        "rate_kept": rate_kept(calls, threads),
        "emulator_capacity": capacity(calls * 10, threads),
        "long_poll_latency": long_poll_latency(polls),
        "webhook_throughput": webhook_throughput(updates),
    }


def tables(f: dict[str, dict[str, Any]]) -> list[Table]:
    rate, cap, poll, hook = f["rate_kept"], f["emulator_capacity"], f["long_poll_latency"], f["webhook_throughput"]
    rows = [
        {
            "figure": f"client rate kept ({rate['calls']} calls, {rate['threads']} threads, server limit {PLATFORM_RATE}/s)",
            "value": rate["calls_per_s"],
            "unit": "calls/s",
            "vs_platform": rate["calls_per_s"] / PLATFORM_RATE,
            "detail": f"client rate {rate['client_rate']}/s; busiest second at the server {rate['busiest_second_at_server']};"
            f" 429s met {rate['status_429']}",
        },
        {
            "figure": f"emulator capacity, unthrottled ({cap['calls']} calls, {cap['threads']} threads)",
            "value": cap["requests_per_s"],
            "unit": "requests/s",
            "vs_platform": cap["requests_per_s"] / PLATFORM_RATE,
            "detail": "GET /me through MaxClient",
        },
        {
            "figure": f"long-poll push latency ({poll['samples']} updates)",
            "value": poll["median_ms"],
            "unit": "ms median",
            "vs_platform": None,
            "detail": f"p95 {poll['p95_ms']} ms, max {poll['max_ms']} ms",
        },
        {
            "figure": f"webhook delivery, emulator → receiver ({hook['updates']} updates)",
            "value": hook["updates_per_s"],
            "unit": "updates/s",
            "vs_platform": hook["updates_per_s"] / PLATFORM_RATE,
            "detail": "no-op store",
        },
    ]
    return [
        table(
            "MAX: client rate limiting, emulator capacity, update delivery",
            [
                ("figure", "figure", ""),
                ("value", "value", ",.1f"),
                ("unit", "unit", ""),
                ("vs_platform", "÷ 30/s", ".2f"),
                ("detail", "", ""),
            ],
            rows,
            ["÷ 30/s: the figure relative to the platform's limit per bot token (the client aims at 90 % of it)."],
        )
    ]


def run(scale: str) -> list[Table]:
    return tables(figures(**SIZES[scale]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    found = figures(args.calls, args.threads)
    for name, values in found.items():
        print(f"{name:20} " + "  ".join(f"{k}={v}" for k, v in values.items()))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(found, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
