"""Every "now" of the engine comes from the injected clock."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import domchat.sync
from domchat.clock import FixedClock, VirtualClock

_READS_TIME = re.compile(r"datetime\.now\(|datetime\.utcnow\(|time\.time\(|time\.monotonic\(|time\.sleep\(")


def test_no_engine_module_reads_the_machines_clock() -> None:
    package = Path(domchat.sync.__file__).parent
    offenders = [
        f"{p.name}:{n}"
        for p in sorted(package.glob("*.py"))
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if _READS_TIME.search(line)
    ]
    assert offenders == []


def test_virtual_time_passes_only_when_slept_and_stops_on_request() -> None:
    import threading

    clock = VirtualClock(datetime(2026, 11, 30, 19, 0, tzinfo=UTC))
    start = clock.monotonic()
    assert clock.sleep(3600) is False
    assert clock.now() == clock.wall() == datetime(2026, 11, 30, 20, 0, tzinfo=UTC)
    assert clock.monotonic() - start == 3600
    stop = threading.Event()
    stop.set()
    assert clock.sleep(60, stop) is True and clock.now().hour == 20 and clock.now().minute == 0


def test_a_fixed_planning_instant_keeps_the_wall_clock_running() -> None:
    clock = FixedClock(datetime(2030, 1, 1, tzinfo=UTC))
    assert clock.now().year == 2030 and clock.wall().year < 2030
