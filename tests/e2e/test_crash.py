"""Killed at any step boundary, the next cycle finishes the work and repeats nothing that took effect.

Each case runs `domchat sync --once` in a child process that dies (as under `kill -9`) at one
injection point, then runs it again, and checks MAX and the database: the right admins, one
card and one answer per chat, nothing pending, every change audited once, the chain intact.
"""

from __future__ import annotations

import collections

import pytest
from sqlmodel import Session, select

from domchat.storage import audit
from domchat.storage.tables import ActionRow, BindingRow
from support.stage import NOON, Stage

pytestmark = pytest.mark.world(buildings=4)

POINTS = [
    "updates:after_store",
    "update:before_commit",
    "pull:in_transaction",
    *(
        f"{kind}:{point}"
        for kind in ("send_notice", "add_members", "grant_admin", "set_title", "pin_card")
        for point in ("before_call", "after_call", "after_commit")
    ),
]


@pytest.mark.parametrize("point", POINTS)
def test_crash_then_resume(stage: Stage, db_url: str, point: str) -> None:
    stage.sync()
    stage.enrol_all_staff()
    stage.bind_all()

    crashed = stage.sync_process(db_url, point)
    assert crashed.returncode == 137, f"the crash point {point} was never reached: {crashed.stderr[-500:]}"
    resumed = stage.sync_process(db_url, None)
    assert resumed.returncode == 0, resumed.stderr[-2000:]

    authority = set(stage.world["authority"]["max_accounts"])
    bot = stage.world["bot"]["user_id"]
    with Session(stage.app().db) as s:
        bound = {r.building: r.chat_id for r in s.exec(select(BindingRow))}
        pending = list(s.exec(select(ActionRow).where(ActionRow.status == "pending")))
        events = list(audit.query(s))
    assert bound == stage.chats
    assert pending == []
    assert audit.verify(events).ok

    for b in stage.world["buildings"]:
        chat = stage.chats[b["fias_guid"]]
        state = stage.chat_state(chat)
        manager = b["management"][-1]["ogrn"] if b["management"][-1]["start"] <= NOON.date().isoformat() else b["management"][0]["ogrn"]
        assert stage.admins(chat) == authority | {bot} | stage.staff_of(manager)
        texts = collections.Counter(m["text"] for m in state["messages"] if m["sender_id"] == bot)
        assert texts and max(texts.values()) == 1, f"a message was sent twice in {chat}: {texts}"
        pinned = next(m for m in state["messages"] if m["message_id"] == state["pinned_message_id"])
        assert b["address"] in pinned["text"]

    done = collections.Counter((e.action, e.chat_id, e.user_id, e.after and e.after) for e in events if e.outcome == "done" and e.chat_id)
    repeated = {k: n for k, n in done.items() if n > 1 and k[0] != "send_notice"}
    assert not repeated, f"changes audited more than once: {repeated}"
