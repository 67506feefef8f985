"""`make bench`: every benchmark, one table of figures per area, ratios side by side.

    python bench/run.py [--scale quick|region|country] [--only planner,wakeup,world,storage,gis,max,notices,sim] [--pg URL] [--json PATH]

quick (the default) takes under two minutes on two cores; region is one large region (~100k
buildings); country is the whole of Russia (~1M apartment buildings) and takes long. Each area
runs in a fresh interpreter, so memory figures are its own. PostgreSQL joins the storage
figures when `--pg` or `DOMCHAT_DATABASE_URL` names a server (a schema of its own is created
and dropped; `public` is never touched). Results also go to `bench/results/latest.json`.
Figures, not tests: nothing here passes or fails on a number.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import SCALES, child, render

HERE = Path(__file__).resolve().parent
AREAS = {
    "planner": "planner",
    "wakeup": "wakeup",
    "world": "world",
    "storage": "storage",
    "gis": "gis_decode",
    "max": "max_bench",
    "notices": "notices",
    "sim": "sim",
}
"""Area name → module in bench/ with a `run(scale) -> list[Table]`."""


def area(name: str, scale: str) -> None:
    """In the child: run one area and print its tables as JSON on the last line."""
    module = __import__(AREAS[name])
    tables = module.run(scale)
    sys.stdout.write("\n" + json.dumps(tables, ensure_ascii=False) + "\n")


def _commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return ""
    return out.stdout.strip()


def _load() -> float | None:
    """The 1-minute load average: figures taken while other work ran are slower than the code is."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=SCALES, default="quick")
    parser.add_argument("--only", help="comma-separated areas: " + ", ".join(AREAS))
    parser.add_argument("--pg", help="PostgreSQL URL for the storage figures (default: $DOMCHAT_DATABASE_URL)")
    parser.add_argument("--json", type=Path, default=HERE / "results" / "latest.json")
    parser.add_argument("--area", choices=tuple(AREAS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.area:
        area(args.area, args.scale)
        return 0
    if args.pg:
        os.environ["DOMCHAT_DATABASE_URL"] = args.pg
    names = args.only.split(",") if args.only else list(AREAS)
    unknown = [n for n in names if n not in AREAS]
    if unknown:
        parser.error(f"unknown area {', '.join(unknown)}; choose from {', '.join(AREAS)}")

    report: dict[str, Any] = {
        "scale": args.scale,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _commit(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "load_before": _load(),
        "areas": {},
    }
    print(
        f"domchat benchmarks, scale {args.scale}, {os.cpu_count()} CPUs, Python {platform.python_version()},"
        f" load average {report['load_before']} before starting",
        flush=True,
    )
    failed = False
    begun = time.perf_counter()
    for name in names:
        start = time.perf_counter()
        try:
            tables = child(HERE / "run.py", "--area", name, "--scale", args.scale)
        except (RuntimeError, ValueError) as e:
            failed = True
            report["areas"][name] = {"seconds": time.perf_counter() - start, "error": str(e)}
            print(f"\n== {name}: FAILED\n{e}", flush=True)
            continue
        seconds = time.perf_counter() - start
        report["areas"][name] = {"seconds": round(seconds, 1), "tables": tables}
        print("\n" + "\n\n".join(render(t) for t in tables) + f"\n   ({name}: {seconds:.0f} s)", flush=True)
    report["seconds"] = round(time.perf_counter() - begun, 1)
    report["load_after"] = _load()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"\nall areas: {report['seconds']:.0f} s; load average {report['load_after']} at the end; figures written to {args.json}")
    print("(wall-clock figures: other processes on the machine slow them; a load average above the CPU count means they did)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
