"""Action kinds: the planner and the executor agree on "already done", through the MAX adapter."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.engine import Engine

from domchat.clock import FixedClock, VirtualClock
from domchat.domain.actions import ORDER, GrantAdmin, PinCard, RemoveMember, ReportDrift, RevokeAdmin, SendNotice, SetTitle, from_stored
from domchat.domain.model import ActualChat, MemberState
from domchat.domain.plan import plan
from domchat.max_client import parse
from domchat.storage.tables import ActionRow
from domchat.sync.executor import Executor
from support.domain import AUTH, CHAT, ORG_A, POLICY, STAFF_A, TEMPLATES, apply, domain, fresh_chat, period

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def _as_reported(chat: ActualChat, user: int, names: list[str]) -> ActualChat:
    """`chat` with `user`'s rights as the platform reports them (legacy names, `can_call`), read by the adapter."""
    m = parse.member({"user_id": user, "is_admin": True, "permissions": names})
    members = dict(chat.members) | {user: MemberState(is_admin=m.is_admin, permissions=m.permissions)}
    return ActualChat(chat.chat_id, chat.title, chat.pinned_text, AUTH, members)


def test_legacy_names_and_can_call_are_done_for_planner_and_executor(engine: Engine) -> None:
    d = domain((period(ORG_A, date(2020, 1, 1)),), staff={ORG_A: frozenset({STAFF_A[0]})})
    first = plan(d, {CHAT: fresh_chat()}, NOW, POLICY, TEMPLATES).actions
    grant = next(a for a in first if isinstance(a, GrantAdmin) and a.user_id == STAFF_A[0])
    assert set(grant.permissions) == {"read_all_messages", "write", "pin_message"}
    chat = _as_reported(
        apply(fresh_chat(), first), STAFF_A[0], ["read_all_messages", "post_edit_delete_message", "pin_message", "can_call"]
    )

    assert plan(d, {CHAT: chat}, NOW, POLICY, TEMPLATES).actions == ()
    # The executor settles the same grant, left pending by an interruption, as done from this chat.
    ex = Executor(engine, platform=None, clock=FixedClock(NOW), run_id="r1", actor="t", trigger="t")  # type: ignore[arg-type]
    (row,) = ex.persist([grant])
    leftover = ActionRow(**{**row.model_dump(), "run_id": "r0"})
    assert ex.settle([leftover], set(), {CHAT: chat}) == 1
    assert [r.status for r in ex.pending()] == []


def test_fewer_or_other_rights_are_not_done() -> None:
    d = domain((period(ORG_A, date(2020, 1, 1)),), staff={ORG_A: frozenset({STAFF_A[0]})})
    first = plan(d, {CHAT: fresh_chat()}, NOW, POLICY, TEMPLATES).actions
    chat = _as_reported(apply(fresh_chat(), first), STAFF_A[0], ["read_all_messages", "pin_message", "add_admins"])
    (again,) = plan(d, {CHAT: chat}, NOW, POLICY, TEMPLATES).actions
    assert isinstance(again, GrantAdmin) and not again.observed(chat)


def test_every_kind_is_ordered_and_comes_back_from_its_stored_form() -> None:
    assert len({cls.kind for cls in ORDER}) == len(ORDER)
    for cls in ORDER:
        a = cls(CHAT, "b", due="2026-11-22T00:00:00+00:00")
        assert from_stored(a.kind, a.chat_id, a.building, json.loads(json.dumps(a.payload()))) == a


def test_the_queue_takes_the_lowest_lane_waiting_first(engine: Engine) -> None:
    due = NOW.isoformat()
    queued = [
        ReportDrift(CHAT, "b", user_id=7, what="member"),
        RevokeAdmin(CHAT, "b", user_id=8),  # no due instant: a drift repair
        PinCard(CHAT, "b", text="card", due=due),
        SendNotice(CHAT, "b", text="code accepted", ref="update:1"),
        GrantAdmin(CHAT, "b", user_id=5, permissions=("write",), due=due),
        RemoveMember(CHAT, "b", user_id=6, due=due),
    ]
    ex = Executor(engine, platform=None, clock=FixedClock(NOW), run_id="r1", actor="t", trigger="t")  # type: ignore[arg-type]
    ex.persist(queued)
    assert [(r.lane, r.kind) for r in ex.pending()] == [
        (1, "grant_admin"),
        (1, "remove_member"),
        (2, "send_notice"),
        (3, "pin_card"),
        (4, "report_drift"),
        (4, "revoke_admin"),
    ]


class _SlowPlatform:
    """Each call takes a second of the clock's time: a boundary can come between two calls."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.calls: list[tuple[str, int]] = []

    def patch_chat(self, chat_id: int, **_: object) -> None:
        self.calls.append(("patch_chat", chat_id))
        self.clock.sleep(1.0)

    def grant_admin(self, chat_id: int, user_id: int, permissions: object) -> None:
        self.calls.append(("grant_admin", chat_id))
        self.clock.sleep(1.0)


def test_work_below_the_top_lane_yields_to_a_boundary_after_one_call(engine: Engine) -> None:
    clock = VirtualClock(NOW)
    platform = _SlowPlatform(clock)
    ex = Executor(engine, platform=platform, clock=clock, run_id="r1", actor="t", trigger="t")  # type: ignore[arg-type]
    ex.persist([SetTitle(c, f"b{c}", title=f"house {c}") for c in range(1, 9)])
    ex.persist([GrantAdmin(100, "b100", user_id=5, permissions=("write",), due=NOW.isoformat())])

    out = ex.run(ex.pending(), yield_at=NOW + timedelta(seconds=2.5))

    # The grant (top lane) went first; titles went on until the boundary, then stopped.
    assert platform.calls[0] == ("grant_admin", 100)
    assert [k for k, _ in platform.calls].count("patch_chat") == 2
    assert (out.done, out.yielded) == (3, 6)
    assert sorted(r.chat_id for r in ex.pending()) == [3, 4, 5, 6, 7, 8]


def test_top_lane_rights_are_not_held_by_a_boundary(engine: Engine) -> None:
    clock = VirtualClock(NOW)
    platform = _SlowPlatform(clock)
    ex = Executor(engine, platform=platform, clock=clock, run_id="r1", actor="t", trigger="t")  # type: ignore[arg-type]
    ex.persist([GrantAdmin(c, f"b{c}", user_id=5, permissions=("write",), due=NOW.isoformat()) for c in range(1, 5)])

    out = ex.run(ex.pending(), yield_at=NOW)

    assert (out.done, out.yielded) == (4, 0)
    assert ex.pending() == []
