"""What every benchmark shares: the scales, timing, memory figures, tables and child processes.

A benchmark module exposes `run(scale) -> list[Table]` (JSON-ready dicts); `bench/run.py` runs
each in a process of its own and prints the tables. Figures are measurements, never pass/fail.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

SCALES = ("quick", "region", "country")
"""quick: the default of `make bench` (under two minutes on two cores); region: one large
region (~100k buildings); country: the whole of Russia (~1M apartment buildings)."""

MB = 1024 * 1024

Table = dict[str, Any]
"""{"title": str, "columns": [[key, header, format], ...], "rows": [dict, ...], "notes": [str, ...]}"""


def table(title: str, columns: Sequence[tuple[str, str, str]], rows: list[dict[str, Any]], notes: Sequence[str] = ()) -> Table:
    return {"title": title, "columns": [list(c) for c in columns], "rows": rows, "notes": list(notes)}


def render(t: Table) -> str:
    """A table as aligned text: a title line, a header, one line per row, then the notes."""
    cols = t["columns"]
    cells = [[_cell(row.get(key), fmt) for key, _, fmt in cols] for row in t["rows"]]
    widths = [max([len(header), *(len(r[i]) for r in cells)]) for i, (_, header, _) in enumerate(cols)]
    lines = [f"== {t['title']}"]
    left = [i == 0 or not fmt for i, (_, _, fmt) in enumerate(cols)]  # text to the left, numbers to the right
    for r in [[h for _, h, _ in cols], *cells]:
        lines.append("  ".join(c.ljust(w) if lf else c.rjust(w) for c, w, lf in zip(r, widths, left, strict=True)).rstrip())
    lines.extend(f"   {n}" for n in t["notes"])
    return "\n".join(lines)


def _cell(value: Any, fmt: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, str) or not fmt:
        return str(value)
    return format(value, fmt)


def best_of(fn: Callable[[], T], *, budget: float = 1.0, at_most: int = 5) -> tuple[T, float, int]:
    """Run `fn` until `budget` seconds are spent or `at_most` runs are made; the fastest run's
    seconds (as timeit does: the others only add noise), its last result and how many runs."""
    best, spent, runs = float("inf"), 0.0, 0
    result: T
    while True:
        gc.collect()
        start = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
        best, spent, runs = min(best, seconds), spent + seconds, runs + 1
        if spent >= budget or runs >= at_most:
            return result, best, runs


def traced(fn: Callable[[], T]) -> tuple[T, int, int]:
    """Python allocations while `fn` runs: (result, peak bytes, bytes still held after it).

    tracemalloc slows the code it watches, so timing and memory are measured in separate runs.
    """
    gc.collect()
    tracemalloc.start()
    try:
        result = fn()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak, current


def vm(key: str) -> float:
    """A memory figure of this process in MB from /proc (`VmRSS`, `VmHWM` the peak RSS)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def available_mb() -> float | None:
    """Memory the kernel could give this process now (MemAvailable), None where unknown."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    return None


def too_big(buildings: int, kb_per_building: float) -> str | None:
    """Why a size must be skipped on this machine (its inputs would not fit in memory), or None.

    A benchmark that pushes a shared machine into the OOM killer takes other people's work with it."""
    need = buildings * kb_per_building / 1024
    free = available_mb()
    if free is not None and need > free * 0.8:
        return f"{buildings:,} buildings skipped: needs about {need / 1024:.1f} GB, {free / 1024:.1f} GB available"
    return None


def trim() -> None:
    """Give the C heap's free memory back to the system (glibc's malloc_trim), so that RSS counts
    what is held, not what was once used; a no-op elsewhere."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def reset_peak_rss() -> None:
    """Start `VmHWM` afresh from the current RSS (Linux: clear_refs 5); a no-op elsewhere."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def child(script: Path, *args: str, timeout: float | None = None) -> Any:
    """Run `script` with `args` in a fresh interpreter (so its peak RSS is its own) and return the
    JSON it prints on its last line of output."""
    done = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{script.name} {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None
