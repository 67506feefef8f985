"""Small builders of domain values for planner tests (pure: no database, no network)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime

from domchat.domain import templates
from domchat.domain.model import (
    ActualChat,
    Basis,
    Building,
    ChatBinding,
    Domain,
    ManagementPeriod,
    MemberState,
    Organisation,
    Permission,
    Policy,
)

BOT = 1
AUTH = 100
STAFF_A = (1001, 1002)
STAFF_B = (2001,)
ORG_A = "1028600000001"
ORG_B = "1028600000002"
B1 = "11111111-1111-4111-8111-111111111111"
CHAT = -70000000000001

TEMPLATES = templates.load()

POLICY = Policy(
    bot_user_id=BOT,
    authority_accounts=frozenset({AUTH}),
    staff_permissions=frozenset({Permission.READ_ALL_MESSAGES, Permission.WRITE, Permission.PIN_MESSAGE}),
    authority_permissions=frozenset({Permission.READ_ALL_MESSAGES, Permission.ADD_ADMINS, Permission.ADD_REMOVE_MEMBERS}),
)


def period(org: str, start: date, until: date | None = None, building: str = B1, source: str = "doc") -> ManagementPeriod:
    return ManagementPeriod(building=building, org=org, start=start, until=until, basis=Basis.LICENCE, source_ids=(source,))


def domain(
    periods: tuple[ManagementPeriod, ...], tz: str = "Asia/Yekaterinburg", staff: Mapping[str, frozenset[int]] | None = None
) -> Domain:
    return Domain(
        buildings={B1: Building(B1, "г. Сургут, ул. Мира, д. 1", tz)},
        organisations={ORG_A: Organisation(ORG_A, "УК А", phone="1"), ORG_B: Organisation(ORG_B, "УК Б", phone="2")},
        periods={B1: periods},
        bindings={B1: ChatBinding(B1, CHAT, datetime(2026, 1, 1, tzinfo=UTC), AUTH)},
        staff=staff if staff is not None else {ORG_A: frozenset(STAFF_A), ORG_B: frozenset(STAFF_B)},
    )


def fresh_chat() -> ActualChat:
    """A chat as the authority leaves it: owner and bot only."""
    return ActualChat(
        chat_id=CHAT,
        title="Новый чат",
        pinned_text=None,
        owner_id=AUTH,
        members={
            AUTH: MemberState(is_admin=True, is_owner=True, permissions=frozenset({"read_all_messages", "add_admins"})),
            BOT: MemberState(
                is_admin=True,
                permissions=frozenset(
                    {"read_all_messages", "add_admins", "add_remove_members", "pin_message", "write", "change_chat_info"}
                ),
            ),
        },
    )


def apply(chat: ActualChat, actions: tuple[object, ...]) -> ActualChat:
    """What MAX would look like after the actions: a model of the platform for planner tests."""
    from domchat.domain.actions import AddMembers, GrantAdmin, PinCard, PinNotice, RemoveMember, RevokeAdmin, SetTitle

    members = dict(chat.members)
    title, pinned = chat.title, chat.pinned_text
    for a in actions:
        if isinstance(a, AddMembers):
            for u in a.user_ids:
                members.setdefault(u, MemberState())
        elif isinstance(a, GrantAdmin):
            assert a.user_id in members, "the platform grants rights to members only"
            members[a.user_id] = MemberState(is_admin=True, permissions=frozenset(a.permissions))
        elif isinstance(a, RevokeAdmin):
            members[a.user_id] = MemberState()
        elif isinstance(a, RemoveMember):
            members.pop(a.user_id)
        elif isinstance(a, SetTitle):
            title = a.title
        elif isinstance(a, PinCard | PinNotice):
            pinned = a.text
    return ActualChat(chat.chat_id, title, pinned, chat.owner_id, members, chat.active)
