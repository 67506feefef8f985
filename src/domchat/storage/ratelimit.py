"""The bot token's rate shared through the database, for several instances on one PostgreSQL.

A GCRA: one row per token (named by a hash of it, never the token) holds the "theoretical
arrival time" of the next request. `acquire` reserves the earliest slot under a row lock and
sleeps outside the transaction, so instances are served in order and nobody busy-waits.
The instants are wall-clock seconds: the instances may run on different machines.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from domchat.storage.db import transaction
from domchat.storage.tables import RateRow


class DatabaseRateLimiter:
    """Satisfies `domchat.max_client.RateLimiter`."""

    def __init__(
        self,
        db: Engine,
        name: str,
        rate: float,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("a rate limit must be greater than 0")
        self.db = db
        self.name = name
        self.interval = 1.0 / rate
        self.clock = clock
        self.sleep = sleep

    def acquire(self) -> None:
        try:
            self._acquire()
        except IntegrityError:  # another instance created the row first: it exists now
            self._acquire()

    def _acquire(self) -> None:
        with transaction(self.db) as s:
            row = s.exec(select(RateRow).where(RateRow.name == self.name).with_for_update()).first()
            now = self.clock()
            if row is None:
                row = RateRow(name=self.name, tat=now)
            start = max(now, row.tat)
            row.tat = start + self.interval
            s.add(row)
        if start > now:
            self.sleep(start - now)

    def pause(self, seconds: float) -> None:
        with transaction(self.db) as s:
            row = s.exec(select(RateRow).where(RateRow.name == self.name).with_for_update()).first()
            until = self.clock() + seconds
            if row is None:
                row = RateRow(name=self.name, tat=until)
            row.tat = max(row.tat, until)
            s.add(row)
