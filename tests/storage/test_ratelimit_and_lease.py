"""The shared rate limit and the region lease, on the real database (SQLite or PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from domchat.clock import SystemClock, VirtualClock
from domchat.errors import LeaseLost, LockBusy
from domchat.storage.db import transaction
from domchat.storage.ratelimit import DatabaseRateLimiter
from domchat.storage.tables import BookmarkRow
from domchat.sync.locks import Lease


class FakeTime:
    """A clock that only moves when someone sleeps (shared by every limiter in the test)."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def test_two_instances_share_one_rate(engine: Engine) -> None:
    t = FakeTime()
    a = DatabaseRateLimiter(engine, "max:abc", 10.0, clock=t.clock, sleep=t.sleep)
    b = DatabaseRateLimiter(engine, "max:abc", 10.0, clock=t.clock, sleep=t.sleep)
    start = t.now
    for _ in range(10):
        a.acquire()
        b.acquire()
    # 20 requests at 10 per second between both: the last may go no sooner than 1.9 s in.
    assert t.now - start == pytest.approx(1.9)


def test_other_tokens_are_not_slowed(engine: Engine) -> None:
    t = FakeTime()
    a = DatabaseRateLimiter(engine, "max:one", 10.0, clock=t.clock, sleep=t.sleep)
    b = DatabaseRateLimiter(engine, "max:two", 10.0, clock=t.clock, sleep=t.sleep)
    a.acquire()
    b.acquire()
    assert t.now == 1_000_000.0


def test_pause_holds_everyone(engine: Engine) -> None:
    t = FakeTime()
    a = DatabaseRateLimiter(engine, "max:abc", 10.0, clock=t.clock, sleep=t.sleep)
    b = DatabaseRateLimiter(engine, "max:abc", 10.0, clock=t.clock, sleep=t.sleep)
    a.pause(5.0)
    b.acquire()
    assert t.now == pytest.approx(1_000_005.0)


def test_lease_is_exclusive_until_released_or_expired(engine: Engine) -> None:
    first = Lease(engine, "region:86", SystemClock())
    second = Lease(engine, "region:86", SystemClock())
    first.acquire()
    with pytest.raises(LockBusy, match="another domchat"):
        second.acquire()
    first.release()
    second.acquire()
    second.release()
    short = Lease(engine, "region:86", SystemClock(), ttl=timedelta(seconds=-1))  # already expired when taken
    short.acquire()
    first.acquire()  # an expired lease does not block
    with pytest.raises(LockBusy, match="lost the lease"):
        short.renew()


def test_lease_of_a_dead_process_on_this_host_is_taken_over(engine: Engine) -> None:
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    ghost = Lease(engine, "region:86", SystemClock())
    ghost.holder = ghost.holder.split(":")[0] + f":{dead.stdout.strip()}:ghost"
    ghost.acquire()
    Lease(engine, "region:86", SystemClock()).acquire()  # no LockBusy: the holder's process is gone


def test_lease_time_is_the_injected_clocks_wall_time(engine: Engine) -> None:
    clock = VirtualClock(datetime(2026, 11, 30, 21, 0, tzinfo=UTC))
    first = Lease(engine, "region:86", clock, ttl=timedelta(minutes=10))
    first.acquire()
    clock.sleep(9 * 60)
    with pytest.raises(LockBusy, match="until 2026-11-30 21:10:00Z"):
        Lease(engine, "region:86", clock).acquire()
    clock.sleep(60)
    Lease(engine, "region:86", clock).acquire()  # ten virtual minutes later the lease has expired


def test_on_a_virtual_clock_the_heartbeat_renews_through_a_long_wait(engine: Engine) -> None:
    """A 30-minute wait for GIS under a 10-minute lease: beats every 200 virtual seconds keep it."""
    start = datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
    clock = VirtualClock(start)
    with Lease(engine, "region:86", clock, ttl=timedelta(minutes=10)) as lease:
        clock.sleep(30 * 60)
        lease.check()  # renewed at +30 min, the last beat: not stopped
        with pytest.raises(LockBusy, match="until 2026-11-30 21:40:00Z"):
            Lease(engine, "region:86", clock).acquire()
        with transaction(engine) as s:
            lease.fence(s)
    with Lease(engine, "region:86", clock):  # released; and an exit before any sleep does not hang either
        pass


def test_a_holder_that_lost_its_lease_can_write_nothing(engine: Engine) -> None:
    clock = VirtualClock(datetime(2026, 11, 30, 21, 0, tzinfo=UTC))
    first = Lease(engine, "region:86", clock, ttl=timedelta(minutes=3))
    first.acquire()
    with transaction(engine) as s:
        first.fence(s)  # held: the write goes through
        s.add(BookmarkRow(name="written", value="1", updated_at=clock.wall()))
    clock.sleep(120)
    with pytest.raises(LeaseLost, match="could not renew"):
        first.check()  # two thirds of the lifetime without renewal: stop before it expires
    clock.sleep(61)
    second = Lease(engine, "region:86", clock, ttl=timedelta(minutes=3))
    second.acquire()
    assert second.generation == first.generation + 1
    first._renewed = clock.monotonic()  # as if a late renewal had been believed: the database still refuses
    with transaction(engine) as s:
        s.add(BookmarkRow(name="stale", value="1", updated_at=clock.wall()))
        with pytest.raises(LeaseLost, match="this write is refused"):
            first.fence(s)
        s.rollback()  # what the transaction does when the refusal propagates
    with Session(engine) as s:
        assert s.get(BookmarkRow, "stale") is None and s.get(BookmarkRow, "written") is not None
    with pytest.raises(LeaseLost):
        first.renew()
    first.release()  # not its own any more: changes nothing
    with transaction(engine) as s:
        second.fence(s)
