"""World generation: `WorldGenerator.write` streams a world of any size; does its memory stay flat?

Each size runs in a fresh interpreter writing to a sink that only counts characters, so that
its peak RSS (VmHWM) is its own. Reported: buildings/s, MB of JSON per second, peak RSS and
its growth over the interpreter's baseline, and the ratio of peak memory between sizes.

    PYTHONPATH=src python bench/world.py [--scale quick|region|country] [--sizes 10000,100000]
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date
from pathlib import Path
from typing import Any

from common import Table, child, ratio, render, reset_peak_rss, table, vm
from domchat.emulators.world import GeneratorOptions, WorldGenerator

SIZES = {"quick": (10_000, 100_000), "region": (10_000, 100_000, 300_000), "country": (10_000, 100_000, 1_000_000)}


class Counter:
    """A text sink that keeps nothing: the generator's own memory is what is measured."""

    def __init__(self) -> None:
        self.chars = 0

    def write(self, text: str) -> int:
        self.chars += len(text)
        return len(text)


def one(buildings: int) -> dict[str, Any]:
    opts = GeneratorOptions(buildings=buildings, seed=1, today=date(2026, 3, 1))
    sink = Counter()
    reset_peak_rss()
    base = vm("VmRSS")
    start = time.perf_counter()
    WorldGenerator(opts).write(sink)  # type: ignore[arg-type]
    seconds = time.perf_counter() - start
    peak = vm("VmHWM")
    return {"buildings": buildings, "seconds": seconds, "json_mb": sink.chars / 1e6, "peak_mb": peak, "growth_mb": peak - base}


def run(scale: str, sizes: tuple[int, ...] | None = None) -> list[Table]:
    rows = [child(Path(__file__).resolve(), "--one", str(n)) for n in sizes or SIZES[scale]]
    base = rows[0]
    for r in rows:
        r["per_s"] = r["buildings"] / r["seconds"]
        r["mb_s"] = r["json_mb"] / r["seconds"]
        r["size_ratio"] = r["buildings"] / base["buildings"]
        r["peak_ratio"] = ratio(r["peak_mb"], base["peak_mb"])
    return [
        table(
            "World generation (WorldGenerator.write, streamed to a counting sink)",
            [
                ("buildings", "buildings", ","),
                ("seconds", "seconds", ".1f"),
                ("per_s", "buildings/s", ",.0f"),
                ("json_mb", "JSON MB", ",.0f"),
                ("mb_s", "MB/s", ".1f"),
                ("peak_mb", "peak RSS MB", ".0f"),
                ("growth_mb", "RSS growth MB", ".2f"),
                ("size_ratio", "size ×", ",.0f"),
                ("peak_ratio", "peak RSS ×", ".2f"),
            ],
            rows,
            [
                f"× columns: relative to {base['buildings']:,} buildings. Peak RSS includes the interpreter and domchat's imports;"
                " growth is what generating added (flat memory: peak RSS × stays ≈ 1 while size × grows).",
            ],
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=tuple(SIZES), default="quick")
    parser.add_argument("--sizes", help="comma-separated numbers of buildings")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one)))
        return
    sizes = tuple(int(x) for x in args.sizes.split(",")) if args.sizes else None
    out = run(args.scale, sizes)
    print("\n\n".join(render(t) for t in out))


if __name__ == "__main__":
    main()
