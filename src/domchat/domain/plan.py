"""The planner: what must change in MAX so that every bound chat matches the domain at `now`.

Pure: no I/O, no clock of its own. Given the same inputs it returns the same plan, and a plan
applied in full makes the next plan empty (tested as a state machine in tests/sync).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from domchat.domain.actions import (
    ORDER,
    Action,
    AddMembers,
    GrantAdmin,
    PinCard,
    PinNotice,
    RemoveMember,
    ReportDrift,
    RevokeAdmin,
    SetTitle,
)
from domchat.domain.desired import DesiredChat, desired_chat
from domchat.domain.model import ActualChat, Conflict, Domain, Manager, Policy, UserId, boundaries
from domchat.domain.reasons import because, joined
from domchat.domain.templates import Templates

ADD_BATCH = 100  # the Bot API takes at most 100 user ids per call


@dataclass(frozen=True, slots=True)
class Plan:
    actions: tuple[Action, ...]
    next_change: datetime | None
    """The next instant after `now` at which the plan would differ without any new data."""
    conflicts: tuple[Conflict, ...]
    inactive: tuple[int, ...]
    """Bound chats the bot is no longer in (alerts: nothing can be done there)."""
    unobserved: tuple[int, ...]
    """Bound chats with no observed state yet (the engine reads them before planning)."""


def plan(
    domain: Domain,
    actual: Mapping[int, ActualChat],
    now: datetime,
    policy: Policy,
    templates: Templates,
    buildings: Iterable[str] | None = None,
) -> Plan:
    """The plan for every bound building, or for the bound ones among `buildings` (incremental
    planning, `sync/memory.py`): then `next_change` and the lists cover only those."""
    actions: list[Action] = []
    conflicts: list[Conflict] = []
    inactive: list[int] = []
    unobserved: list[int] = []
    staff_orgs = staff_index(domain)
    chosen = sorted(domain.bindings) if buildings is None else sorted(b for b in set(buildings) if b in domain.bindings)
    for building in chosen:
        chat_id = domain.bindings[building].chat_id
        chat = actual.get(chat_id)
        if chat is None:
            unobserved.append(chat_id)
            continue
        if not chat.active:
            inactive.append(chat_id)
            continue
        want = desired_chat(domain, building, now, policy, templates, owner=chat.owner_id)
        if isinstance(want.manager, Conflict):
            conflicts.append(want.manager)
        actions.extend(diff(want, chat, domain, policy, staff_orgs, due=_since(domain, building, now).isoformat()))
    # Rights first across the whole region, cards and titles after: at a midnight handover in a
    # large region the bot's rate (about 27 calls a second) would otherwise hold the last
    # buildings' new admins behind every earlier building's card. Per chat the order is kept.
    actions.sort(key=lambda a: ORDER.index(type(a)))
    next_change = min((t for b in chosen if (t := domain.local_midnights_after(b, now)) is not None), default=None)
    return Plan(tuple(actions), next_change, tuple(conflicts), tuple(inactive), tuple(unobserved))


def staff_index(domain: Domain) -> dict[UserId, list[str]]:
    """Each enrolled staff member's organisations (built once per plan, not once per chat)."""
    out: dict[UserId, list[str]] = {}
    for org_id, users in sorted(domain.staff.items()):
        for user in users:
            out.setdefault(user, []).append(org_id)
    return out


def diff(
    want: DesiredChat, chat: ActualChat, domain: Domain, policy: Policy, staff_orgs: dict[UserId, list[str]], *, due: str = ""
) -> list[Action]:
    """The actions that turn `chat` into `want`, in safe order.

    `due` (when the chat should have looked like `want`) goes on the actions that follow from
    the timeline (managers, grants); repairs of drift were never due at any earlier moment."""
    out: list[Action] = []
    cid, b = want.chat_id, want.building
    protected = {policy.bot_user_id, *policy.authority_accounts}
    if chat.owner_id is not None:
        protected.add(chat.owner_id)
    manager = want.manager
    why_manager = _why_manager(manager)
    ex_residents = {u: g.grant_id for g in domain.grants.get(b, ()) for u in domain.residents.get(g.grant_id, ())}

    for user, state in sorted(chat.members.items()):
        if user in protected or (want.frozen and state.is_admin):
            continue  # a conflict freezes every admin's rights and membership
        orgs = staff_orgs.get(user, [])
        org = ",".join(orgs) or None
        ex_staff = joined(because("ex_staff", org=org or ""), why_manager)
        if state.is_admin and user not in want.admins:
            if orgs:
                out.append(RevokeAdmin(cid, b, user_id=user, org=org, reason=ex_staff, due=due))
            elif policy.repair_admin_drift:
                out.append(RevokeAdmin(cid, b, user_id=user, reason=because("admin_drift")))
            else:
                out.append(ReportDrift(cid, b, user_id=user, what="admin", reason=because("admin_drift_reported")))
        if user in want.entitled or (want.frozen and orgs):
            continue
        if orgs:
            out.append(RemoveMember(cid, b, user_id=user, org=org, reason=ex_staff, due=due))
        elif user in ex_residents:
            why = because("ex_resident", grant=ex_residents[user])
            out.append(RemoveMember(cid, b, user_id=user, reason=why, due=due))
        elif policy.repair_member_drift:
            out.append(RemoveMember(cid, b, user_id=user, reason=because("member_drift")))
        else:
            out.append(ReportDrift(cid, b, user_id=user, what="member", reason=because("member_drift_reported")))

    missing = sorted(want.members - set(chat.members) - {policy.bot_user_id} - domain.refused.get(cid, frozenset()))
    for i in range(0, len(missing), ADD_BATCH):
        batch = missing[i : i + ADD_BATCH]
        out.append(AddMembers(cid, b, user_ids=tuple(batch), reason=_why_members(batch, want, policy, manager), due=due))

    if not want.frozen:
        for user, perms in sorted(want.admins.items()):
            if user == chat.owner_id:
                continue  # the owner's rights are the platform's, not ours to set
            org = manager.org if isinstance(manager, Manager) and user not in policy.authority_accounts else None
            why = because("authority_account") if org is None else joined(because("manager_staff", org=org), why_manager)
            grant = GrantAdmin(cid, b, user_id=user, permissions=tuple(sorted(p.value for p in perms)), org=org, reason=why, due=due)
            if not grant.observed(chat):
                out.append(grant)

    title = SetTitle(cid, b, title=want.title, reason=because("title_from_address"))
    if not title.observed(chat):
        out.append(title)
    card: PinCard | PinNotice = PinCard(
        cid,
        b,
        text=want.card,
        button_texts=tuple(t for t, _ in want.buttons),
        button_urls=tuple(u for _, u in want.buttons),
        org=manager.org if isinstance(manager, Manager) else None,
        reason=joined(because("building_card"), why_manager),
        due=due,
    )
    if want.pinned is not None:
        card = PinNotice(cid, b, mid=want.pinned.mid, text=want.pinned.text, reason=because("meeting_pinned"))
    if not want.frozen and not card.observed(chat):
        out.append(card)
    return sorted(out, key=lambda a: ORDER.index(type(a)))


def _since(domain: Domain, building: str, now: datetime) -> datetime:
    """The instant from which the chat should have looked as it should now: the last local
    midnight at which this building's periods changed, or the binding if that came later."""
    b = domain.buildings[building]
    past = [b.local_midnight(d) for d in boundaries(domain.periods.get(building, ()))]
    past = [t for t in past if t <= now]
    return max([*past, domain.bindings[building].bound_at])


def _why_manager(manager: Manager | Conflict | None) -> str:
    if isinstance(manager, Manager):
        since = min(p.start for p in manager.periods)
        bases = ", ".join(sorted({p.basis.value for p in manager.periods}))
        return because("manager", org=manager.org, since=since.isoformat(), bases=bases, documents=list(manager.source_ids))
    if isinstance(manager, Conflict):
        return because("conflict", day=manager.day.isoformat(), orgs=list(manager.orgs))
    return because("no_manager")


def _why_members(users: list[UserId], want: DesiredChat, policy: Policy, manager: Manager | Conflict | None) -> str:
    kinds = set()
    for u in users:
        if u in policy.authority_accounts:
            kinds.add("members_authority")
        elif u in want.admins:
            kinds.add("members_staff")
        else:
            kinds.add("members_residents")
    return joined(*(because(k) for k in sorted(kinds)), _why_manager(manager))
