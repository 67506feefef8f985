"""One cycle at a time per region: a lease row in the database, renewed by a heartbeat.

The same table serves SQLite (where BEGIN IMMEDIATE already serialises writers) and
PostgreSQL (where several instances may share a region: a lease that is not renewed expires,
so a crashed instance does not block the others for longer than its TTL). Leases run on the
clock's `wall`, never its planning `now`: `--now` in the future must not steal a lease.

While held, a heartbeat thread renews the lease every third of its lifetime, whatever the cycle
is doing (a GIS pull may wait minutes for an answer). It is spawned on, and sleeps on, the
injected clock, so on a virtual clock it beats in the cycle's virtual time (`Clock.sleep`). A holder that has not managed to renew
for two thirds of the lifetime stops at its next `check`, before the lease can expire under it.
Each acquisition raises the lease's generation; every effect's "done" is written in a
transaction that first checks, with the lease row locked, that this holder and generation still
hold it (`fence`): a process that lost its lease cannot record anything, even if it was paused
(swapped out, stopped in a debugger) between its last check and its write.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from datetime import timedelta

import structlog
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, select

from domchat import metrics
from domchat.clock import Clock
from domchat.errors import DomchatError, LeaseLost, LockBusy
from domchat.storage.db import transaction
from domchat.storage.tables import LeaseRow

log = structlog.get_logger("domchat.lease")


def _alive(holder: str) -> bool:
    """False only when the holder ran on this host and its process is gone (killed, crashed):
    then its lease need not be waited out. Holders on other hosts count as alive until expiry."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Lease:
    def __init__(self, db: Engine, name: str, clock: Clock, ttl: timedelta = timedelta(minutes=10)) -> None:
        self.db = db
        self.name = name
        self.clock = clock
        self.ttl = ttl
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.generation = 0
        self._renewed = 0.0
        """Monotonic time at the start of the last successful renewal (or the acquisition)."""
        self._lost = ""
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def acquire(self) -> None:
        try:
            self._acquire()
        except IntegrityError:
            # Another instance created the lease row at the same moment: it holds the lease.
            raise LockBusy(f"another domchat started a cycle for {self.name} at the same moment") from None

    def _acquire(self) -> None:
        started = self.clock.monotonic()
        now = self.clock.wall()
        with transaction(self.db) as s:
            row = s.exec(select(LeaseRow).where(LeaseRow.name == self.name).with_for_update()).first()
            if row is not None and row.holder != self.holder and row.expires_at > now and _alive(row.holder):
                raise LockBusy(
                    f"another domchat ({row.holder}) is running a cycle for {self.name} until {row.expires_at:%Y-%m-%d %H:%M:%S}Z"
                )
            row = row or LeaseRow(name=self.name, holder=self.holder, expires_at=now)
            row.holder, row.expires_at, row.generation = self.holder, now + self.ttl, row.generation + 1
            s.add(row)
        self.generation, self._renewed, self._lost = row.generation, started, ""

    def renew(self) -> None:
        """Extend the lease; fails if another holder took it over (this cycle must stop)."""
        started = self.clock.monotonic()
        now = self.clock.wall()
        with transaction(self.db) as s:
            row = s.exec(select(LeaseRow).where(LeaseRow.name == self.name).with_for_update()).first()
            if row is None or row.holder != self.holder or row.generation != self.generation:
                metrics.lease_lost()
                raise LeaseLost(f"lost the lease on {self.name}")
            row.expires_at = now + self.ttl
            s.add(row)
        self._renewed = started

    def check(self) -> None:
        """Raise `LeaseLost` unless this holder can be sure the lease is still its own for a while."""
        if self._lost:
            raise LeaseLost(self._lost)
        if self.clock.monotonic() - self._renewed >= self.ttl.total_seconds() * 2 / 3:
            raise LeaseLost(f"could not renew the lease on {self.name} for {self.ttl * 2 / 3}: stopping before it expires")

    def fence(self, s: Session) -> None:
        """In the caller's transaction: refuse its writes unless this holder and generation hold
        the lease now (the row stays locked against a takeover until that transaction ends)."""
        self.check()
        row = s.exec(select(LeaseRow).where(LeaseRow.name == self.name).with_for_update(read=True)).first()
        if row is None or row.holder != self.holder or row.generation != self.generation or row.expires_at <= self.clock.wall():
            metrics.lease_lost()
            raise LeaseLost(f"lost the lease on {self.name}: this write is refused")

    def release(self) -> None:
        """Give the lease up; the row stays, so the next holder's generation is higher still."""
        with transaction(self.db) as s:
            row = s.exec(select(LeaseRow).where(LeaseRow.name == self.name).with_for_update()).first()
            if row is not None and row.holder == self.holder and row.generation == self.generation:
                row.holder, row.expires_at = "", self.clock.wall()
                s.add(row)

    # The heartbeat

    def _heartbeat(self) -> None:
        while not self.clock.sleep(self.ttl.total_seconds() / 3, self._stop):
            try:
                self.renew()
            except LeaseLost as e:
                self._lost = str(e)
                log.error("lease.lost", then="the cycle stops", lease=self.name, error=str(e))
                return
            except (DomchatError, SQLAlchemyError) as e:
                # Tried again at the next beat; `check` stops the cycle if it keeps failing.
                log.warning("lease.renew_failed", lease=self.name, error=str(e).splitlines()[0])

    def __enter__(self) -> Lease:
        self.acquire()
        self._stop.clear()
        self._beat = self.clock.spawn(self._heartbeat, f"lease {self.name}")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join()
        self.release()
