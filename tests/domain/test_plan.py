"""The planner on hand-made situations; the property tests live in test_plan_properties.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from domchat.domain.actions import AddMembers, GrantAdmin, PinCard, PinNotice, RemoveMember, RevokeAdmin
from domchat.domain.model import ActualChat, MemberState, Pinned
from domchat.domain.plan import plan
from support.domain import AUTH, BOT, CHAT, ORG_A, ORG_B, POLICY, STAFF_A, STAFF_B, TEMPLATES, apply, domain, fresh_chat, period


def test_fresh_chat_gets_title_card_members_and_staff_admins() -> None:
    d = domain((period(ORG_A, date(2020, 1, 1)),))
    p = plan(d, {CHAT: fresh_chat()}, datetime(2026, 11, 22, tzinfo=UTC), POLICY, TEMPLATES)
    kinds = [type(a).__name__ for a in p.actions]
    assert kinds == ["AddMembers", "GrantAdmin", "GrantAdmin", "SetTitle", "PinCard"]
    add = p.actions[0]
    assert isinstance(add, AddMembers) and set(add.user_ids) == set(STAFF_A)
    grants = {a.user_id for a in p.actions if isinstance(a, GrantAdmin)}
    assert grants == set(STAFF_A)
    card = next(a for a in p.actions if isinstance(a, PinCard))
    assert "УК А" in card.text and "г. Сургут, ул. Мира, д. 1" in card.text


def test_applied_plan_leaves_nothing_to_do() -> None:
    d = domain((period(ORG_A, date(2020, 1, 1)),))
    now = datetime(2026, 11, 22, tzinfo=UTC)
    first = plan(d, {CHAT: fresh_chat()}, now, POLICY, TEMPLATES)
    after = apply(fresh_chat(), first.actions)
    assert plan(d, {CHAT: after}, now, POLICY, TEMPLATES).actions == ()


def test_manager_changes_exactly_at_local_midnight() -> None:
    # Asia/Yekaterinburg is UTC+5: 1 December starts there at 19:00 UTC on 30 November.
    d = domain((period(ORG_A, date(2020, 1, 1), until=date(2026, 12, 1)), period(ORG_B, date(2026, 12, 1))))
    before = datetime(2026, 11, 30, 18, 59, 59, tzinfo=UTC)
    at = datetime(2026, 11, 30, 19, 0, 0, tzinfo=UTC)
    settled = apply(fresh_chat(), plan(d, {CHAT: fresh_chat()}, before, POLICY, TEMPLATES).actions)
    assert plan(d, {CHAT: settled}, before, POLICY, TEMPLATES).actions == ()
    assert plan(d, {CHAT: settled}, before, POLICY, TEMPLATES).next_change == at

    switch = plan(d, {CHAT: settled}, at, POLICY, TEMPLATES).actions
    revoked = {a.user_id for a in switch if isinstance(a, RevokeAdmin)}
    removed = {a.user_id for a in switch if isinstance(a, RemoveMember)}
    granted = {a.user_id for a in switch if isinstance(a, GrantAdmin)}
    assert revoked == removed == set(STAFF_A)
    assert granted == set(STAFF_B)
    # Rights are taken away before new ones are given.
    kinds = [type(a) for a in switch]
    assert max(kinds.index(RevokeAdmin), kinds.index(RemoveMember)) < kinds.index(AddMembers) < kinds.index(GrantAdmin)


def test_conflict_freezes_admin_rights() -> None:
    d = domain((period(ORG_A, date(2020, 1, 1)), period(ORG_B, date(2026, 11, 1))))
    now = datetime(2026, 11, 22, tzinfo=UTC)
    settled_under_a = apply(
        fresh_chat(), plan(domain((period(ORG_A, date(2020, 1, 1)),)), {CHAT: fresh_chat()}, now, POLICY, TEMPLATES).actions
    )
    p = plan(d, {CHAT: settled_under_a}, now, POLICY, TEMPLATES)
    assert len(p.conflicts) == 1 and p.conflicts[0].orgs == (ORG_A, ORG_B)
    assert not [a for a in p.actions if isinstance(a, (GrantAdmin, RevokeAdmin, RemoveMember, PinCard))]


def test_strangers_are_removed_by_default_and_only_reported_when_configured() -> None:
    d = domain((period(ORG_A, date(2020, 1, 1)),))
    now = datetime(2026, 11, 22, tzinfo=UTC)
    chat = apply(fresh_chat(), plan(d, {CHAT: fresh_chat()}, now, POLICY, TEMPLATES).actions)
    members = dict(chat.members)
    members[666] = MemberState(is_admin=True, permissions=frozenset({"add_admins"}))
    members[777] = MemberState()
    meddled = {CHAT: ActualChat(CHAT, chat.title, chat.pinned_text, AUTH, members)}
    p = plan(d, meddled, now, POLICY, TEMPLATES)
    assert {(type(a).__name__, getattr(a, "user_id", None)) for a in p.actions} == {
        ("RevokeAdmin", 666),
        ("RemoveMember", 666),
        ("RemoveMember", 777),
    }
    lenient = replace(POLICY, repair_admin_drift=False, repair_member_drift=False)
    p = plan(d, meddled, now, lenient, TEMPLATES)
    assert {(type(a).__name__, getattr(a, "user_id", None), getattr(a, "what", None)) for a in p.actions} == {
        ("ReportDrift", 666, "admin"),
        ("ReportDrift", 666, "member"),
        ("ReportDrift", 777, "member"),
    }


def test_never_touches_bot_or_owner() -> None:
    d = domain((period(ORG_A, date(2020, 1, 1)),), staff={})
    chat = fresh_chat()
    p = plan(d, {CHAT: chat}, datetime(2026, 11, 22, tzinfo=UTC), POLICY, TEMPLATES)
    assert all(getattr(a, "user_id", None) not in (BOT, AUTH) for a in p.actions)
    assert all(BOT not in getattr(a, "user_ids", ()) for a in p.actions)


def test_bot_removed_chat_is_inactive_not_planned() -> None:
    d = domain((period(ORG_A, date(2020, 1, 1)),))
    gone = ActualChat(CHAT, None, None, None, {}, active=False)
    p = plan(d, {CHAT: gone}, datetime(2026, 11, 22, tzinfo=UTC), POLICY, TEMPLATES)
    assert p.actions == () and p.inactive == (CHAT,)


def test_unobserved_chat_is_reported_for_reading() -> None:
    d = domain((period(ORG_A, date(2020, 1, 1)),))
    p = plan(d, {}, datetime(2026, 11, 22, tzinfo=UTC), POLICY, TEMPLATES)
    assert p.unobserved == (CHAT,) and p.actions == ()


def test_action_keys_ignore_reasons_but_not_content() -> None:
    a = GrantAdmin(CHAT, "b", user_id=5, permissions=("write",), reason="x")
    b = GrantAdmin(CHAT, "b", user_id=5, permissions=("write",), reason="y")
    c = GrantAdmin(CHAT, "b", user_id=6, permissions=("write",), reason="x")
    assert a.key() == b.key() != c.key()


def test_only_timeline_actions_carry_a_due_instant() -> None:
    """A late manager change is audited as late; repairing drift never is."""
    d = domain((period(ORG_A, date(2020, 1, 1), until=date(2026, 11, 1)), period(ORG_B, date(2026, 11, 1))))
    members = dict(apply(fresh_chat(), ()).members)
    for user in STAFF_A:
        members[user] = MemberState(is_admin=True, permissions=frozenset({"read_all_messages", "write", "pin_message"}))
    members[777] = MemberState()
    chat = ActualChat(CHAT, "Чужое название", None, AUTH, members)
    p = plan(d, {CHAT: chat}, datetime(2026, 11, 22, tzinfo=UTC), POLICY, TEMPLATES)
    due = {(type(a).__name__, getattr(a, "user_id", None)): a.due for a in p.actions}
    assert due[("RemoveMember", 777)] == "" and due[("SetTitle", None)] == ""
    assert due[("RevokeAdmin", STAFF_A[0])].startswith("2026-10-31T19:00")  # 1 November 00:00 in Yekaterinburg
    assert due[("GrantAdmin", STAFF_B[0])] == due[("RevokeAdmin", STAFF_A[0])]


def test_a_meeting_announcement_is_pinned_while_decisions_are_taken_then_the_card_again() -> None:
    d = domain((period(ORG_A, date(2020, 1, 1)),))
    d = replace(d, pins={next(iter(d.bindings)): (Pinned("mid.7", "🗳 Собрание", date(2026, 11, 23), date(2026, 11, 24)),)})
    before = datetime(2026, 11, 22, 12, tzinfo=UTC)
    chat = apply(fresh_chat(), plan(d, {CHAT: fresh_chat()}, before, POLICY, TEMPLATES).actions)
    # Yekaterinburg (UTC+5): the 23rd starts at 19:00 UTC on the 22nd, the 25th at 19:00 on the 24th.
    assert d.next_boundary(before) == datetime(2026, 11, 22, 19, tzinfo=UTC)
    (pin,) = plan(d, {CHAT: chat}, datetime(2026, 11, 22, 19, tzinfo=UTC), POLICY, TEMPLATES).actions
    assert pin == PinNotice(CHAT, pin.building, mid="mid.7", text="🗳 Собрание", reason=pin.reason)
    voting = apply(chat, (pin,))
    assert plan(d, {CHAT: voting}, datetime(2026, 11, 24, 18, tzinfo=UTC), POLICY, TEMPLATES).actions == ()
    (card,) = plan(d, {CHAT: voting}, datetime(2026, 11, 24, 19, tzinfo=UTC), POLICY, TEMPLATES).actions
    assert isinstance(card, PinCard) and card.text == chat.pinned_text
