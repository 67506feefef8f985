"""The daemon's wake-ups plan only what changed (issue 10, item 4): none when nothing did, the
building whose data changed, and the building whose local midnight came."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select

from domchat.domain.model import Building
from domchat.storage import repo
from domchat.storage.db import transaction
from domchat.storage.tables import ActionRow
from domchat.sync.engine import CycleReport
from domchat.sync.memory import PlanMemory
from support.stage import NOON, Stage


def _quiet(stage: Stage, memory: PlanMemory, at: list[timedelta]) -> list[CycleReport]:
    """Cycles until one plans nothing (the previous ones' effects are planned once more)."""
    reports: list[CycleReport] = []
    for _ in range(4):
        at[0] += timedelta(minutes=1)
        reports.append(stage.sync(NOON + at[0], pull=False, memory=memory))
        if reports[-1].buildings == 0:
            return reports
    raise AssertionError(f"wake-ups keep planning: {[r.buildings for r in reports]}")


def _buildings(stage: Stage, report: CycleReport) -> set[str]:
    """The buildings a cycle planned actions for."""
    with Session(stage.app().db) as s:
        return set(s.exec(select(ActionRow.building).where(col(ActionRow.run_id) == report.run_id)))


def test_a_wake_up_plans_nothing_unless_something_changed_or_a_midnight_came(stage: Stage) -> None:
    stage.running()
    memory = PlanMemory(full_every=timedelta(days=30))  # the midnight below is a week on
    at = [timedelta(0)]
    first = _quiet(stage, memory, at)[0]
    assert first.buildings == len(stage.chats)  # the first use plans everything
    idle = stage.sync(NOON + at[0] + timedelta(seconds=30), pull=False, memory=memory)
    assert (idle.buildings, idle.planned, memory.loads) == (0, 0, 1)

    building, chat = sorted(stage.chats.items())[0]
    with transaction(stage.app().db) as s:  # the address register renames the street
        old = repo.load_domain(s, [building]).buildings[building]
        repo.save_building(s, Building(building, old.address + ", корп. 2", old.tz), tz_assumed=False, at=NOON)
    at[0] += timedelta(minutes=2)
    renamed = stage.sync(NOON + at[0], pull=False, memory=memory)
    assert renamed.buildings == 1 and renamed.planned == renamed.done > 0  # its title and card, in its chat only
    assert _buildings(stage, renamed) == {building}
    assert stage.chat_state(chat)["title"].endswith("корп. 2")
    _quiet(stage, memory, at)

    handover, midnight = stage.next_handover()
    assert idle.next_change is not None and idle.next_change <= midnight
    report = stage.sync(midnight + timedelta(seconds=1), pull=False, memory=memory)
    assert handover["fias_guid"] in _buildings(stage, report)
    assert 1 <= report.buildings < len(stage.chats) and memory.loads == 1
