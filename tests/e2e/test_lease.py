"""One cycle per region at a time, even when a cycle waits on GIS for longer than its lease."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session
from typer.testing import CliRunner

from domchat import app as app_mod
from domchat.app.cycles import _syncer
from domchat.app.wiring import clients
from domchat.cli import cli
from domchat.clock import VirtualClock
from domchat.gis_client.types import ActualLicense
from domchat.storage.tables import LeaseRow
from domchat.sync.engine import CycleReport
from support.stage import Stage

TTL = 1.5


class _HeldGis:
    """The real GIS client, whose licence read is held until the test lets it go."""

    def __init__(self, gis: Any) -> None:
        self._gis = gis
        self.entered = threading.Event()
        self.release = threading.Event()

    def actual_licenses(
        self, ogrns: Sequence[str], region: str, *, batches: Callable[[list[ActualLicense]], None] | None = None
    ) -> list[ActualLicense]:
        self.entered.set()
        assert self.release.wait(30)
        result: list[ActualLicense] = self._gis.actual_licenses(ogrns, region, batches=batches)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gis, name)


def test_no_second_cycle_while_the_first_waits_on_gis_past_its_lease_time(stage: Stage) -> None:
    with stage.config.open("a", encoding="utf-8") as f:
        f.write(f"[sync]\nlease_ttl = {TTL}\n")
    app = stage.app()
    reports: list[CycleReport] = []
    with clients(app) as (gis, platform):
        held = _HeldGis(gis)
        first = threading.Thread(target=lambda: reports.append(_syncer(app, held, platform).cycle()))  # type: ignore[arg-type]
        first.start()
        try:
            assert held.entered.wait(30)
            for _ in range(3):  # three lease lifetimes, renewed meanwhile by the heartbeat
                assert not held.release.wait(TTL)
                second = CliRunner().invoke(cli, ["sync", "--once", "--config", str(stage.config)])
                assert second.exit_code == 4, second.stderr
                assert "another domchat" in second.stderr
        finally:
            held.release.set()
            first.join(30)
    (report,) = reports
    assert report.status == "ok" and report.pull is not None and report.pull.ok
    assert app_mod.sync_once(stage.app()).status == "ok"  # free again once the first is done


class _SlowGis:
    """The real GIS client, whose licence read first waits 30 minutes on the app's clock."""

    def __init__(self, gis: Any, clock: VirtualClock, db: Any, lease: str) -> None:
        self._gis, self._clock, self._db, self._lease = gis, clock, db, lease
        self.after_wait: tuple[datetime, datetime] | None = None
        """(the time the wait ended, the lease's expiry then)."""

    def actual_licenses(
        self, ogrns: Sequence[str], region: str, *, batches: Callable[[list[ActualLicense]], None] | None = None
    ) -> list[ActualLicense]:
        self._clock.sleep(30 * 60)
        with Session(self._db) as s:
            row = s.get(LeaseRow, self._lease)
            assert row is not None
            self.after_wait = (self._clock.wall(), row.expires_at.replace(tzinfo=UTC))
        result: list[ActualLicense] = self._gis.actual_licenses(ogrns, region, batches=batches)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gis, name)


def test_on_a_virtual_clock_a_cycle_keeps_its_lease_through_a_30_minute_gis_wait(stage: Stage) -> None:
    """The heartbeat beats in the cycle's virtual time: a 10-minute lease outlives the wait."""
    clock = VirtualClock(datetime.now(UTC))
    app = replace(stage.app(), clock=clock)
    with clients(app) as (gis, platform):
        slow = _SlowGis(gis, clock, app.db, f"region:{app.settings.region.code}")
        report = _syncer(app, slow, platform).cycle()  # type: ignore[arg-type]
    assert report.status == "ok" and report.pull is not None and report.pull.ok, report.as_dict()
    assert app.settings.sync.lease_ttl == 600 and slow.after_wait is not None
    waited_until, expires = slow.after_wait
    assert expires >= waited_until + timedelta(minutes=10) - timedelta(seconds=200)  # renewed within the last beat
