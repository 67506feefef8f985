"""The walking skeleton end to end: GIS pull, binding, staff, card, and a change at local midnight,
asserted in the MAX emulator and in the database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from domchat import app as app_mod
from domchat.domain import reasons
from domchat.storage import audit
from domchat.storage.tables import BindingRow, BuildingRow, PeriodRow, StaffRow
from support.stage import NOON, Stage

EN = reasons.load("en")  # the stored reasons, read in English


def _manager(building: dict[str, object], day: date) -> str:
    for m in building["management"]:  # type: ignore[attr-defined]
        if date.fromisoformat(m["start"]) <= day and (m["end"] is None or day < date.fromisoformat(m["end"])):
            return str(m["ogrn"])
    raise AssertionError("no manager")


def test_first_cycle_stores_the_region_and_binds_nothing(stage: Stage) -> None:
    report = stage.sync()
    assert report.pull is not None and report.pull.ok
    with Session(stage.app().db) as s:
        buildings = {b.fias_guid: b for b in s.exec(select(BuildingRow))}
        periods = list(s.exec(select(PeriodRow)))
    assert set(buildings) == {b["fias_guid"] for b in stage.world["buildings"]}
    for b in stage.world["buildings"]:
        assert buildings[b["fias_guid"]].tz == b["tz"]
        assert buildings[b["fias_guid"]].address == b["address"]
    assert len([p for p in periods if p.basis == "licence"]) == sum(len(b["management"]) for b in stage.world["buildings"])
    assert {p.basis for p in periods} == {"licence", "contract"}  # contracts are read to date management
    assert report.planned == 0


def test_bound_chats_get_title_card_and_the_current_managers_staff(stage: Stage) -> None:
    stage.sync()
    stage.enrol_all_staff()
    stage.bind_all()
    report = stage.sync()
    assert report.failed == 0
    with Session(stage.app().db) as s:
        bound = {r.building: r.chat_id for r in s.exec(select(BindingRow))}
        staff = list(s.exec(select(StaffRow)))
    assert bound == stage.chats
    assert len(staff) == sum(len(o["staff"]) for o in stage.world["organisations"])
    authority = set(stage.world["authority"]["max_accounts"])
    bot = stage.world["bot"]["user_id"]
    for b in stage.world["buildings"]:
        chat = stage.chats[b["fias_guid"]]
        state = stage.chat_state(chat)
        tz = ZoneInfo(b["tz"])
        manager = _manager(b, NOON.astimezone(tz).date())
        assert stage.admins(chat) == authority | {bot} | stage.staff_of(manager), b["address"]
        assert state["title"] == b["address"]
        pinned = next(m for m in state["messages"] if m["message_id"] == state["pinned_message_id"])
        name = next(o["name"] for o in stage.world["organisations"] if o["ogrn"] == manager)
        assert name in pinned["text"] and b["address"] in pinned["text"]
    with Session(stage.app().db) as s:
        assert audit.verify(audit.query(s)).ok


def test_manager_changes_at_local_midnight_and_only_then(stage: Stage) -> None:
    stage.running()
    b, midnight = stage.next_handover()
    chat = stage.chats[b["fias_guid"]]
    old, new = b["management"][0]["ogrn"], b["management"][1]["ogrn"]

    before = stage.sync(now=midnight - timedelta(seconds=1), pull=False)
    assert stage.staff_of(old) <= stage.admins(chat)
    assert before.next_change is not None and before.next_change <= midnight

    stage.sync(now=midnight + timedelta(seconds=2), pull=False)
    admins = stage.admins(chat)
    assert stage.staff_of(new) <= admins
    assert not (stage.staff_of(old) - stage.staff_of(new)) & admins
    members = {m["user_id"] for m in stage.chat_state(chat)["members"]}
    assert not (stage.staff_of(old) - stage.staff_of(new)) & members
    with Session(stage.app().db) as s:
        grants = [r for r in audit.query(s, audit.AuditFilter(building=b["fias_guid"], action="grant_admin")) if r.org == new]
    assert {r.user_id for r in grants} == stage.staff_of(new)
    assert all("LATE" not in EN.reason(r.reason) for r in grants)


def test_a_backdated_change_is_applied_at_once_and_audited_as_late(stage: Stage) -> None:
    stage.sync()
    stage.enrol_all_staff()
    stage.bind_all()
    stage.sync()
    b = next(b for b in stage.world["buildings"] if len(b["management"]) > 1 and b["management"][1]["start"] > NOON.date().isoformat())
    switch = date.fromisoformat(b["management"][1]["start"])
    # domchat was down over the boundary: the first cycle runs three days later.
    late = datetime.combine(switch + timedelta(days=3), time(12), tzinfo=UTC)
    stage.sync(now=late, pull=False)
    with Session(stage.app().db) as s:
        grants = [
            r
            for r in audit.query(s, audit.AuditFilter(building=b["fias_guid"], action="grant_admin"))
            if r.org == b["management"][1]["ogrn"]
        ]
    assert grants and all("LATE by 3 days" in EN.reason(r.reason) for r in grants)


def test_a_second_cycle_with_nothing_new_changes_nothing(stage: Stage) -> None:
    stage.sync()
    stage.enrol_all_staff()
    stage.bind_all()
    stage.sync()
    with Session(stage.app().db) as s:
        events = audit.verify(audit.query(s)).events
    again = stage.sync()
    assert again.planned == 0 and again.done == 0
    with Session(stage.app().db) as s:
        assert audit.verify(audit.query(s)).events == events


def test_status_reports_the_region(stage: Stage) -> None:
    stage.sync()
    doc = app_mod.status(stage.app())
    assert doc["buildings"] == len(stage.world["buildings"])
    assert doc["unbound_buildings"] == doc["buildings"]
    assert doc["last_successful_cycle"]["status"] == "ok"
