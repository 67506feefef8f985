"""The planner as a state machine (in the style of vdirsyncer's sync tests).

Hypothesis moves time across local midnights, changes management periods, enrols and revokes
staff, and lets people meddle with the chat (strangers join, rights granted by hand, the
title renamed). After every step the invariants hold:

- no action ever makes someone admin who is not an authority account or enrolled staff of the
  organisation managing the building at `now`;
- the bot, the owner and the authority's accounts are never removed or demoted;
- applying a plan and planning again yields nothing but reports (convergence, idempotence);
- while two organisations claim the day, nobody's admin rights change.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domchat.domain.actions import AddMembers, GrantAdmin, RemoveMember, ReportDrift, RevokeAdmin
from domchat.domain.desired import desired_chat
from domchat.domain.model import ActualChat, Conflict, Domain, Manager, MemberState, manager_on
from domchat.domain.plan import plan
from support.domain import AUTH, BOT, CHAT, POLICY, TEMPLATES, apply, domain, fresh_chat, period

ORGS = ("1028600000011", "1028600000022", "1028600000033")
STAFF = {ORGS[0]: (501, 502), ORGS[1]: (601,), ORGS[2]: (701, 702)}
STRANGERS = (901, 902, 903)
ZONES = ("Europe/Kaliningrad", "Europe/Moscow", "Asia/Yekaterinburg", "Asia/Vladivostok", "Asia/Kamchatka")
START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PERMS = st.frozensets(st.sampled_from(["read_all_messages", "write", "add_admins", "pin_message"]), max_size=3)
"""Rights as the MAX adapter reports them (`can_call` is never reported: the platform gives it to all)."""


class PlannerMachine(RuleBasedStateMachine):
    @initialize(zone=st.sampled_from(ZONES), first=st.sampled_from(ORGS))
    def start(self, zone: str, first: str) -> None:
        self.now = START
        self.periods = [period(first, date(2020, 1, 1))]
        self.staff = {org: frozenset(users) for org, users in STAFF.items()}
        self.zone = zone
        self.chat = fresh_chat()

    # The world changes

    def domain(self) -> Domain:
        return domain(tuple(self.periods), tz=self.zone, staff=self.staff)

    @rule(hours=st.integers(min_value=1, max_value=24 * 20))
    def time_passes(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    @rule(org=st.sampled_from(ORGS), days=st.integers(min_value=-5, max_value=20))
    def manager_changes(self, org: str, days: int) -> None:
        """A new manager from a local date (past: backdated; future: scheduled); the old one's ends then."""
        switch = self.now.date() + timedelta(days=days)
        ended = [replace(p, until=switch) if p.until is None and p.start < switch else p for p in self.periods]
        self.periods = [*ended, period(org, switch, source=f"doc-{org}-{switch}")]

    @rule(org=st.sampled_from(ORGS), days=st.integers(min_value=-3, max_value=10))
    def overlapping_claim(self, org: str, days: int) -> None:
        self.periods = [*self.periods, period(org, self.now.date() + timedelta(days=days), source="overlap")]

    @rule()
    def claims_cleaned_up(self) -> None:
        self.periods = [p for p in self.periods if p.source_ids != ("overlap",)] or self.periods[:1]

    @rule(org=st.sampled_from(ORGS), user=st.integers(min_value=800, max_value=805))
    def staff_enrols(self, org: str, user: int) -> None:
        self.staff = {**self.staff, org: self.staff[org] | {user}}

    @rule(org=st.sampled_from(ORGS))
    def staff_revoked(self, org: str) -> None:
        if self.staff[org]:
            self.staff = {**self.staff, org: self.staff[org] - {min(self.staff[org])}}

    @rule(user=st.sampled_from(STRANGERS), admin=st.booleans(), perms=PERMS)
    def someone_meddles(self, user: int, admin: bool, perms: frozenset[str]) -> None:
        members = dict(self.chat.members)
        members[user] = MemberState(is_admin=admin, permissions=perms if admin else frozenset())
        self.chat = replace(self.chat, members=members)

    @rule(perms=PERMS)
    def staff_rights_changed_by_hand(self, perms: frozenset[str]) -> None:
        staff_here = [u for u in self.chat.members if any(u in s for s in self.staff.values())]
        if staff_here:
            members = dict(self.chat.members)
            members[staff_here[0]] = MemberState(is_admin=True, permissions=perms)
            self.chat = replace(self.chat, members=members)

    @rule(title=st.text(max_size=20))
    def renamed(self, title: str) -> None:
        self.chat = replace(self.chat, title=title)

    # domchat acts

    @rule()
    def sync(self) -> None:
        d = self.domain()
        before = self.chat
        p = plan(d, {CHAT: before}, self.now, POLICY, TEMPLATES)
        manager = manager_on(tuple(self.periods), d.buildings[next(iter(d.buildings))].local_date(self.now))
        self.check_safe(p.actions, manager)
        self.chat = apply(before, p.actions)
        again = plan(d, {CHAT: self.chat}, self.now, POLICY, TEMPLATES)
        assert all(isinstance(a, ReportDrift) for a in again.actions), again.actions
        want = desired_chat(d, next(iter(d.bindings)), self.now, POLICY, TEMPLATES, owner=AUTH)
        assert want.members <= set(self.chat.members)
        if not want.frozen:
            for user, perms in want.admins.items():
                if user != AUTH:
                    got = self.chat.members[user]
                    assert got.is_admin and got.permissions == perms, (user, got, perms)
            assert self.chat.pinned_text == want.card
        assert self.chat.title == want.title
        if isinstance(manager, Conflict):
            admins_before = {u: m for u, m in before.members.items() if m.is_admin}
            admins_after = {u: m for u, m in self.chat.members.items() if m.is_admin}
            assert admins_before == admins_after

    def check_safe(self, actions: tuple[object, ...], manager: Manager | Conflict | None) -> None:
        allowed = set(POLICY.authority_accounts)
        if isinstance(manager, Manager):
            allowed |= self.staff[manager.org]
        for a in actions:
            if isinstance(a, GrantAdmin):
                assert a.user_id in allowed, (a, manager)
            if isinstance(a, (RevokeAdmin, RemoveMember)):
                assert a.user_id not in (BOT, AUTH, *POLICY.authority_accounts)
            if isinstance(a, AddMembers):
                assert BOT not in a.user_ids

    @invariant()
    def owner_and_bot_stay(self) -> None:
        assert BOT in self.chat.members and AUTH in self.chat.members
        assert self.chat.members[AUTH].is_owner


TestPlanner = PlannerMachine.TestCase
TestPlanner.settings = settings(max_examples=200, stateful_step_count=30, deadline=None)


def test_changes_take_effect_at_local_midnight_in_every_zone() -> None:
    """For each Russian zone: one second before local midnight the old manager, at midnight the new."""
    for zone in ZONES:
        d = domain(
            (period(ORGS[0], date(2020, 1, 1), until=date(2026, 12, 1)), period(ORGS[1], date(2026, 12, 1))), tz=zone, staff=STAFF_SETS
        )
        midnight = d.buildings[next(iter(d.buildings))].local_midnight(date(2026, 12, 1))
        settled = apply(fresh_chat(), plan(d, {CHAT: fresh_chat()}, midnight - timedelta(seconds=1), POLICY, TEMPLATES).actions)
        assert _admins(settled) == {AUTH, BOT, *STAFF[ORGS[0]]}, zone
        assert plan(d, {CHAT: settled}, midnight - timedelta(seconds=1), POLICY, TEMPLATES).next_change == midnight
        after = apply(settled, plan(d, {CHAT: settled}, midnight, POLICY, TEMPLATES).actions)
        assert _admins(after) == {AUTH, BOT, *STAFF[ORGS[1]]}, zone


STAFF_SETS = {org: frozenset(users) for org, users in STAFF.items()}


def _admins(chat: ActualChat) -> set[int]:
    return {u for u, m in chat.members.items() if m.is_admin}
