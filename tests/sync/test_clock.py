"""Every "now", sleep and timeout of the engine and the daemon comes from the injected clock,
and a virtual clock keeps its contract with threads other than the one that drives it."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import domchat.app
import domchat.sync
from domchat.clock import FixedClock, VirtualClock

_READS_TIME = re.compile(
    r"datetime\.now\(|datetime\.utcnow\(|time\.time\(|time\.monotonic\(|time\.sleep\(|^\s*(import time|from time import)\b"
    r"|\.wait\(\s*[^)\s]"  # a wait with a timeout (Event, Condition): real seconds
    r"|Thread\("  # a thread not spawned on the clock could take a virtual clock's time over
)
T0 = datetime(2026, 11, 30, 19, 0, tzinfo=UTC)


def test_no_engine_or_daemon_module_reads_the_machines_clock() -> None:
    offenders = [
        f"{p.parent.name}/{p.name}:{n}"
        for package in (domchat.sync, domchat.app)
        for p in sorted(Path(package.__file__).parent.glob("*.py"))
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if _READS_TIME.search(line)
    ]
    assert offenders == []


def test_the_pattern_catches_timed_waits_and_real_sleeps() -> None:
    caught = [
        "stop.wait(5.0)",
        "self._stop.wait(self.ttl.total_seconds() / 3)",
        "time.sleep(1)",
        "import time",
        "threading.Thread(target=f)",
    ]
    assert all(_READS_TIME.search(line) for line in caught)
    assert not any(_READS_TIME.search(line) for line in ["stop.wait()", "clock.sleep(3, stop)", "self._beat.join()"])


def test_virtual_time_passes_only_when_slept_and_stops_on_request() -> None:
    clock = VirtualClock(T0)
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


def test_a_sleep_off_the_driving_thread_returns_when_the_drivers_time_passes_its_deadline() -> None:
    clock = VirtualClock(T0)
    woke: list[datetime] = []

    def worker() -> None:  # sleeps before the driver ever did: being spawned, it does not drive
        clock.sleep(100)
        woke.append(clock.now())

    thread = clock.spawn(worker, "worker")
    clock.sleep(50)  # lets the worker fall asleep first, then moves time on to T0+50
    assert woke == [] and clock.now() == T0 + timedelta(seconds=50)
    clock.sleep(100)  # stops at T0+100 and lets the worker run until it ends
    assert woke == [T0 + timedelta(seconds=100)]
    assert clock.now() == T0 + timedelta(seconds=150)
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_a_waiting_sleep_returns_at_once_when_its_stop_is_set() -> None:
    clock = VirtualClock(T0)
    stop = threading.Event()
    stopped: list[bool] = []
    thread = clock.spawn(lambda: stopped.append(clock.sleep(3600, stop)), "worker")
    clock.sleep(10)  # the worker is asleep, an hour from now
    stop.set()
    thread.join(timeout=10)  # no driver's time passes meanwhile: its stop alone wakes it
    assert not thread.is_alive() and stopped == [True]
    assert clock.now() == T0 + timedelta(seconds=10)


def test_workers_due_at_once_run_in_turn_while_time_stands_still() -> None:
    clock = VirtualClock(T0)
    stop = threading.Event()
    seen: list[tuple[str, datetime]] = []

    def worker(name: str, every: float) -> None:
        while not clock.sleep(every, stop):
            seen.append((name, clock.now()))

    threads = [clock.spawn(lambda: worker("pull", 60), "pull"), clock.spawn(lambda: worker("updates", 30), "updates")]
    clock.drive()
    clock.sleep(120)
    stop.set()
    for t in threads:
        t.join(timeout=10)
    at = [(name, (when - T0).total_seconds()) for name, when in seen]
    assert sorted(at, key=lambda x: x[1]) == at  # never a worker seeing time go back
    assert sorted(at) == [("pull", 60), ("pull", 120), ("updates", 30), ("updates", 60), ("updates", 90), ("updates", 120)]
