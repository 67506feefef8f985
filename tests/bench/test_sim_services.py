"""The simulated MAX holds a region's chats compactly (bench/sim_services.py): what it answers must
be what it would answer from plain dicts and strings."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from domchat.domain.model import ActualChat, MemberState
from domchat.settings import MaxSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from sim_services import MaxProfile, Members, SimClock, SimMax, States

STAFF = MemberState(is_admin=True, permissions=frozenset({"write", "pin_message"}))
OWNER = MemberState(is_admin=True, is_owner=True, permissions=frozenset({"add_admins"}))


def test_members_answer_as_the_dict_they_were_made_from_under_the_same_changes() -> None:
    start = {30: MemberState(), 10: STAFF, 20: OWNER, 40: MemberState()}
    plain, compact = dict(start), Members(start, States())
    for members in (plain, compact):
        members.setdefault(50, MemberState())
        members.setdefault(10, MemberState())  # already there: unchanged
        members[30] = STAFF
        members.pop(40, None)
        members.pop(99, None)
        del members[20]
        members[20] = MemberState()
    assert dict(compact) == plain
    assert len(compact) == len(plain) == 4
    assert 40 not in compact and 99 not in compact and 50 in compact
    assert sorted(compact) == sorted(plain)


def test_a_chat_shows_the_card_it_began_with_until_the_bot_pins_another_message() -> None:
    at = datetime(2026, 11, 30, tzinfo=UTC)
    clock = SimClock(at, at + timedelta(hours=1), charge_cpu=False)
    cards = {-1: "🏠 Официальный чат дома\nул. Ленина, д. 1", -2: "🏠 Официальный чат дома\nул. Мира, д. 7", -3: None}
    chats = [ActualChat(chat_id, f"Дом {chat_id}", card, 100, {100: OWNER, 1: STAFF}) for chat_id, card in cards.items()]
    platform = SimMax(clock, MaxSettings(), chats, 1, MaxProfile(faults=0.0))
    for chat_id, card in cards.items():
        pinned = platform.get_chat(chat_id).pinned_message
        assert (pinned.text if pinned else None) == card
        assert pinned is None or pinned.mid == f"mid.{-chat_id}"
    sent = platform.send_message(chat_id=-2, text="Собрание собственников")
    platform.patch_chat(-2, pin=sent.mid)
    assert platform.get_chat(-2).pinned_message == sent
    assert [m.mid for m in platform.messages(-2)] == [sent.mid]
