"""The region simulation (bench/sim.py) at a tiny size: the real daemon hands rights over at one
local midnight, and the handover lags it reports are measured from that midnight.

Time moves only by sleeps here (`charge_cpu=False`), so the run does not depend on how fast the
machine is."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session

from domchat.storage import repo
from domchat.sync.pull import HOUSES_READ

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import sim


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> sim.Simulation:
    folder = tmp_path_factory.mktemp("sim")
    done = sim.simulate(sim.prepare(50, folder, budget=120.0, zones=1, change_share=0.2, charge_cpu=False))
    done.app.db.dispose()
    return done


def test_the_daemon_ran_the_window_to_its_end_and_read_every_house(run: sim.Simulation) -> None:
    assert run.error == ""
    assert run.clock.stopped_by == "end of the simulated window"
    assert run.figures["cycles"] >= 3
    assert "failed" not in run.figures["run_statuses"]
    with Session(run.app.db) as s:
        houses_read = repo.get_bookmark(s, HOUSES_READ)
    assert houses_read is not None
    assert datetime.fromisoformat(houses_read) > sim.START  # the full reconcile's pull went through


def test_every_changed_building_has_the_new_staff_as_admins_and_not_the_old(run: sim.Simulation) -> None:
    assert len(run.handovers) >= 5
    for h in run.handovers:
        members = run.platform.chats[h.chat_id].members
        assert all(members[u].is_admin for u in h.new_staff), h.building
        assert not any(u in members and members[u].is_admin for u in h.old_staff), h.building
    assert run.figures["handed"] == len(run.handovers)
    assert (run.figures["wrong_admins"], run.figures["missing_admins"], run.figures["pending"]) == (0, 0, 0)


def test_lags_are_measured_from_the_buildings_local_midnight(run: sim.Simulation) -> None:
    # Yekaterinburg is UTC+5: 1 December begins there at 19:00 UTC on 30 November.
    assert {h.due for h in run.handovers} == {datetime(2026, 11, 30, 19, 0, tzinfo=UTC)}
    due = run.handovers[0].due.timestamp()
    granted = [max(run.platform.granted[(h.chat_id, u)] for u in h.new_staff) for h in run.handovers]
    assert min(granted) >= due  # nobody was made admin before the day their manager took over
    assert run.figures["lag_max"] == pytest.approx(max(granted) - due)
    assert 0 <= run.figures["lag_p50"] <= run.figures["lag_p99"] <= run.figures["lag_max"]
    assert run.figures["lag_by_zone"].keys() == {"Asia/Yekaterinburg"}
