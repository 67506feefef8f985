"""One cycle at a time per region: a lease row in the database.

The same table serves SQLite (where BEGIN IMMEDIATE already serialises writers) and
PostgreSQL (where several instances may share a region: a lease that is not renewed expires,
so a crashed instance does not block the others for longer than its TTL). Leases run on the
clock's `wall`, never its planning `now`: `--now` in the future must not steal a lease.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from domchat.clock import Clock
from domchat.errors import LockBusy
from domchat.storage.db import transaction
from domchat.storage.tables import LeaseRow


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
        self.clock = clock
        self.name = name
        self.ttl = ttl
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def acquire(self) -> None:
        try:
            self._acquire()
        except IntegrityError:
            # Another instance created the lease row at the same moment: it holds the lease.
            raise LockBusy(f"another domchat started a cycle for {self.name} at the same moment") from None

    def _acquire(self) -> None:
        now = self.clock.wall()
        with transaction(self.db) as s:
            row = s.exec(select(LeaseRow).where(LeaseRow.name == self.name).with_for_update()).first()
            if row is not None and row.holder != self.holder and row.expires_at > now and _alive(row.holder):
                raise LockBusy(
                    f"another domchat ({row.holder}) is running a cycle for {self.name} until {row.expires_at:%Y-%m-%d %H:%M:%S}Z"
                )
            row = row or LeaseRow(name=self.name, holder=self.holder, expires_at=now)
            row.holder, row.expires_at = self.holder, now + self.ttl
            s.add(row)

    def renew(self) -> None:
        """Extend the lease; fails if another holder took it over (this cycle must stop)."""
        now = self.clock.wall()
        with transaction(self.db) as s:
            row = s.exec(select(LeaseRow).where(LeaseRow.name == self.name).with_for_update()).first()
            if row is None or row.holder != self.holder:
                raise LockBusy(f"lost the lease on {self.name}")
            row.expires_at = now + self.ttl
            s.add(row)

    def release(self) -> None:
        with transaction(self.db) as s:
            row = s.exec(select(LeaseRow).where(LeaseRow.name == self.name).with_for_update()).first()
            if row is not None and row.holder == self.holder:
                s.delete(row)

    def __enter__(self) -> Lease:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
