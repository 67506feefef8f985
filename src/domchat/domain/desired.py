"""What one house chat should look like at an instant: a pure function of the domain.

Admins are the bot, the authority's accounts and the enrolled staff of the organisation that
manages the building on the building-local date of `now`; members are the admins plus the
residents whose grant is in force. A conflict (two organisations claiming the same day)
freezes admin rights: nothing is guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from domchat.domain.model import (
    Conflict,
    Domain,
    Manager,
    Permission,
    Policy,
    UserId,
    manager_on,
)
from domchat.domain.templates import Templates

TITLE_MAX = 200


@dataclass(frozen=True, slots=True)
class DesiredChat:
    building: str
    chat_id: int
    title: str
    card: str
    buttons: tuple[tuple[str, str], ...]
    """(text, URL) of the card's link buttons: the residents' services, then the dispatch's phone."""
    admins: Mapping[UserId, frozenset[Permission]]
    """Who must be admin, with exactly these rights (the bot excluded: nobody grants it)."""
    members: frozenset[UserId]
    """Who must be a member (admins included, the bot excluded)."""
    entitled: frozenset[UserId]
    """Who may be a member: `members` plus the chat's owner and the bot."""
    manager: Manager | Conflict | None

    @property
    def frozen(self) -> bool:
        """True while a conflict holds: admin rights and the card stay as they are."""
        return isinstance(self.manager, Conflict)


def desired_chat(
    domain: Domain, building: str, now: datetime, policy: Policy, templates: Templates, *, owner: UserId | None
) -> DesiredChat:
    b = domain.buildings[building]
    binding = domain.bindings[building]
    day = b.local_date(now)
    manager = manager_on(domain.periods.get(building, ()), day)

    # `can_call` is the platform's to give (every admin gets it), never ours to ask or check: the
    # MAX adapter leaves it out of what it reports, so it is left out of what is wanted too.
    authority, staff = policy.authority_permissions - {Permission.CAN_CALL}, policy.staff_permissions - {Permission.CAN_CALL}
    admins: dict[UserId, frozenset[Permission]] = dict.fromkeys(policy.authority_accounts, authority)
    if isinstance(manager, Manager):
        for user in domain.staff.get(manager.org, frozenset()):
            admins.setdefault(user, staff)
    admins.pop(policy.bot_user_id, None)

    residents = {
        user
        for grant in domain.grants.get(building, ())
        if grant.in_force(day)
        for user in domain.residents.get(grant.grant_id, frozenset())
    }
    members = frozenset(admins) | frozenset(residents)
    entitled = members | {policy.bot_user_id} | ({owner} if owner is not None else set())
    return DesiredChat(
        building=building,
        chat_id=binding.chat_id,
        title=render_title(templates, b.address),
        card=render_card(domain, building, manager, templates, policy),
        buttons=card_buttons(domain, manager, policy),
        admins=admins,
        members=members,
        entitled=frozenset(entitled),
        manager=manager,
    )


def render_title(templates: Templates, address: str) -> str:
    title = " ".join(templates.render("title", address=address).split())
    return title if len(title) <= TITLE_MAX else title[: TITLE_MAX - 1].rstrip() + "…"


def card_buttons(domain: Domain, manager: Manager | Conflict | None, policy: Policy) -> tuple[tuple[str, str], ...]:
    """The services the authority configured, and a call to the manager's dispatch when known."""
    org = domain.organisations.get(manager.org) if isinstance(manager, Manager) else None
    phone = "".join(c for c in org.dispatch_phone if c.isdigit() or c == "+") if org is not None else ""
    dispatch = ((policy.dispatch_button, f"tel:{phone}"),) if phone and policy.dispatch_button else ()
    return (*policy.services, *dispatch)


def render_card(domain: Domain, building: str, manager: Manager | Conflict | None, templates: Templates, policy: Policy) -> str:
    address = domain.buildings[building].address
    if isinstance(manager, Manager) and manager.org in domain.organisations:
        org = domain.organisations[manager.org]
        return templates.render(
            "card",
            address=address,
            org_name=org.name,
            org_phone=org.phone or "не указан",
            dispatch_phone=org.dispatch_phone or "не указан",
            authority_name=policy.authority_name,
        )
    return templates.render("card_no_manager", address=address, authority_name=policy.authority_name)
