"""The daemon outlives every error of a cycle, backs off, and runs on whatever clock it is given."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from domchat import app as app_mod
from domchat.app import cycles
from domchat.app.daemon import daemon
from domchat.clock import VirtualClock
from domchat.errors import GisUnavailable, MaxUnavailable, StorageError
from domchat.sync.engine import CycleReport

START = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)


def _app(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> app_mod.App:
    monkeypatch.setenv("DOMCHAT_DATABASE_URL", db_url)
    config = tmp_path / "c.toml"
    # No long polling: the cycles are all there is to see here.
    config.write_text("[sync]\nupdates_interval = 30.0\npull_interval = 3600.0\n[max]\npoll_timeout = 0\n", encoding="utf-8")
    app = replace(app_mod.open_app(config), clock=VirtualClock(START))
    app_mod.upgrade_db(app)
    return app


def test_errors_inside_cycles_are_waited_out_with_a_growing_pause(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(tmp_path, db_url, monkeypatch)
    stop = threading.Event()
    calls: list[datetime] = []
    failures: list[Exception] = [RuntimeError("a bug"), MaxUnavailable("MAX /updates: 503"), KeyError("x")]

    def cycle(a: app_mod.App, **_kw: Any) -> CycleReport:
        calls.append(a.clock.now())
        if failures:
            raise failures.pop(0)
        stop.set()
        return CycleReport(run_id="r", now=a.clock.now(), phases={"updates": "ok", "pull": "ok", "plan": "ok", "execute": "ok"})

    def pull(a: app_mod.App, **_kw: Any) -> CycleReport:
        stop.wait()  # one pull, in progress all along: it holds no cycle
        return CycleReport(run_id="p", now=a.clock.now(), phases={"pull": "ok"})

    monkeypatch.setattr(cycles, "sync_once", cycle)
    monkeypatch.setattr(cycles, "pull_once", pull)
    daemon(app, stop)  # returns: three errors did not end it, the stop did
    gaps = [(b - a).total_seconds() for a, b in pairwise(calls)]
    assert len(calls) == 4 and gaps == [30.0, 60.0, 120.0]


def test_a_database_that_cannot_be_used_ends_the_daemon(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(tmp_path, db_url, monkeypatch)

    def broken() -> None:
        raise StorageError("database not migrated")

    monkeypatch.setattr(app, "ready_db", broken)
    with pytest.raises(StorageError):
        daemon(app, threading.Event())


def test_a_failing_pull_never_stops_the_cycles_and_failing_cycles_never_stop_the_pulls(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app(tmp_path, db_url, monkeypatch)
    stop = threading.Event()
    cycled: list[datetime] = []
    pulled: list[datetime] = []

    def cycle(a: app_mod.App, **_kw: Any) -> CycleReport:
        cycled.append(a.clock.now())
        if len(pulled) >= 3 and len(cycled) >= 3:
            stop.set()
        return CycleReport(run_id="r", now=a.clock.now(), phases={"updates": "ok", "pull": "skipped", "plan": "ok", "execute": "ok"})

    def pull(a: app_mod.App, **_kw: Any) -> CycleReport:
        pulled.append(a.clock.now())
        raise GisUnavailable("GIS: 503")

    monkeypatch.setattr(cycles, "sync_once", cycle)
    monkeypatch.setattr(cycles, "pull_once", pull)
    daemon(app, stop)
    assert len(pulled) >= 3 and len(cycled) >= 3  # both went on; the stop ended it

    cycled.clear()
    pulled.clear()
    stop.clear()

    def broken(a: app_mod.App, **_kw: Any) -> CycleReport:
        cycled.append(a.clock.now())
        raise MaxUnavailable("MAX: 503")

    def pull_ok(a: app_mod.App, **_kw: Any) -> CycleReport:
        pulled.append(a.clock.now())
        if len(pulled) >= 3 and len(cycled) >= 3:
            stop.set()
        return CycleReport(run_id="p", now=a.clock.now(), phases={"pull": "ok"})

    monkeypatch.setattr(cycles, "sync_once", broken)
    monkeypatch.setattr(cycles, "pull_once", pull_ok)
    daemon(app, stop)
    assert len(pulled) >= 3 and len(cycled) >= 3
