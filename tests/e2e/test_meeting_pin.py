"""An owners' meeting's announcement is pinned while decisions are taken, and the card after.

A Moscow house's meeting takes decisions on Monday 23 and Tuesday 24 November 2026; it is known
from 21 November, when its announcement is posted. Cycles run every three hours from 21 to 25
November: the pin moves to the announcement once, at the first cycle of the 23rd, and back to
the card, with its buttons, once, at the first cycle of the 25th.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from domchat.storage import audit
from domchat.storage.tables import ActionRow
from support.stage import NOON, Stage

MOSCOW = ZoneInfo("Europe/Moscow")


def _arrange(world: dict[str, Any]) -> None:
    for b in world["buildings"]:
        b["votings"] = []
    b = world["buildings"][0]
    b["tz"], b["tz_code"] = "Europe/Moscow", "101"
    b["votings"] = [
        {"kind": "extra", "form": "absentee", "place": "двор", "resolution_place": "ящик совета дома", "agenda": ["Ремонт крыши"],
         "message_guid": "00000000-0000-4000-8000-000000000101", "message_date": "2026-11-02", "start": "2026-11-23",
         "end": "2026-11-24", "status": "Goes", "protocol": None}
    ]  # fmt: skip


pytestmark = pytest.mark.world(buildings=2, edit=_arrange)


def _pinned(stage: Stage, chat: int) -> tuple[str, list[list[tuple[str, str]]]]:
    """The pinned message's text and link buttons, as a member's app shows them."""
    mid = stage.chat_state(chat)["pinned_message_id"]
    token = (stage.tmp / "token").read_text(encoding="utf-8")
    got = stage.http.get(f"{stage.max.base_url}/messages", params={"message_ids": mid}, headers={"Authorization": token}, timeout=10)
    (message,) = got.json()["messages"]
    keyboards = [a["payload"]["buttons"] for a in message["body"].get("attachments") or [] if a["type"] == "inline_keyboard"]
    return message["body"]["text"], [[(b["text"], b["url"]) for b in row] for kb in keyboards for row in kb]


def test_the_announcement_is_pinned_while_decisions_are_taken_and_the_card_after(stage: Stage) -> None:
    stage.running()
    chat = stage.chats[stage.world["buildings"][0]["fias_guid"]]
    card, buttons = _pinned(stage, chat)
    assert buttons, "the card carries the residents' services"

    changes: list[tuple[datetime, str]] = []
    last = stage.chat_state(chat)["pinned_message_id"]
    at = NOON + timedelta(hours=3)
    while at <= datetime(2026, 11, 25, 12, tzinfo=UTC):
        stage.sync(at, pull=False)
        now = stage.chat_state(chat)["pinned_message_id"]
        if now != last:
            changes.append((at.astimezone(MOSCOW), _pinned(stage, chat)[0]))
            last = now
        at += timedelta(hours=3)

    assert [(local.date().isoformat(), text.startswith("🗳")) for local, text in changes] == [("2026-11-23", True), ("2026-11-25", False)]
    assert all(local.hour < 3 for local, _ in changes), changes  # the first cycle of the day
    assert _pinned(stage, chat) == (card, buttons)
    with Session(stage.app().db) as s:
        events = [e for e in audit.query(s) if e.chat_id == chat and e.action in ("pin_notice", "pin_card") and e.outcome == "done"]
    assert [e.action for e in events] == ["pin_card", "pin_notice", "pin_card"]


@pytest.mark.parametrize("point", ["pin_notice:before_call", "pin_notice:after_call", "pin_notice:after_commit"])
def test_a_crash_around_the_pin_pins_it_once(stage: Stage, db_url: str, point: str) -> None:
    stage.running()
    chat = stage.chats[stage.world["buildings"][0]["fias_guid"]]
    opened = datetime(2026, 11, 23, 0, 30, tzinfo=MOSCOW).astimezone(UTC)
    crashed = stage.sync_process(db_url, point, opened)
    assert crashed.returncode == 137, f"the crash point {point} was never reached: {crashed.stderr[-500:]}"
    resumed = stage.sync_process(db_url, None, opened + timedelta(minutes=5))
    assert resumed.returncode == 0, resumed.stderr[-2000:]

    assert _pinned(stage, chat)[0].startswith("🗳")
    with Session(stage.app().db) as s:
        events = list(audit.query(s))
        pending = list(s.exec(select(ActionRow).where(ActionRow.status == "pending")))
    assert pending == [] and audit.verify(events).ok
    assert len([e for e in events if e.action == "pin_notice" and e.outcome == "done"]) == 1
