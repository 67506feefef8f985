"""Each action kind's effect through MAX: the one exhaustive dispatch over `Action`.

A kind's data and its "already done?" check live with its class in `domain/actions.py`; what
it does to a chat is its `case` here, together with what the stored view of the chat becomes
(`Effect`, applied by `record`). `assert_never` makes a kind without a case a type error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import assert_never

from sqlmodel import Session

from domchat.domain.actions import (
    Action,
    AddMembers,
    GrantAdmin,
    PinCard,
    PostNotice,
    RemoveMember,
    ReportDrift,
    RevokeAdmin,
    SendNotice,
    SetTitle,
)
from domchat.domain.model import MemberState
from domchat.domain.reasons import because
from domchat.max_client.types import AdminGrant
from domchat.storage import repo
from domchat.sync.ports import ChatPlatform

SentBefore = Callable[[int, str], str | None]
"""(chat, text) → the id of the bot's own earlier message with that text for this action, if
any. Sending is not idempotent: a retried send asks this before sending again."""


@dataclass(frozen=True)
class Effect:
    """What a call did, for the audit event and the stored view of the chat."""

    outcome: str = "done"
    note: str = ""
    member: tuple[int, MemberState] | None = None
    demoted: int | None = None
    removed: int | None = None
    added: tuple[int, ...] = ()
    title: str | None = None
    pinned: tuple[str, str] | None = None
    refused: list[tuple[int, int, str]] = field(default_factory=list)
    """(chat, user, error code) of members the platform refused to add (privacy…)."""


def perform(a: Action, p: ChatPlatform, sent_before: SentBefore | None) -> Effect:
    """One action's call; `sent_before` is None on a first attempt (nothing can have been sent)."""
    match a:
        case RevokeAdmin():
            p.revoke_admin(a.chat_id, a.user_id)
            return Effect(demoted=a.user_id)
        case RemoveMember():
            p.remove_member(a.chat_id, a.user_id)
            return Effect(removed=a.user_id)
        case AddMembers():
            return _added(a, p)
        case GrantAdmin():
            p.grant_admin(a.chat_id, a.user_id, a.permissions)
            return _granted(a)
        case SetTitle():
            p.patch_chat(a.chat_id, title=a.title, notify=False)
            return Effect(title=a.title)
        case PinCard():
            buttons = tuple(zip(a.button_texts, a.button_urls, strict=True))
            mid = (sent_before and sent_before(a.chat_id, a.text)) or p.send_message(
                chat_id=a.chat_id, text=a.text, notify=False, buttons=buttons
            ).mid
            p.patch_chat(a.chat_id, pin=mid, notify=False)
            return Effect(pinned=(mid, a.text))
        case SendNotice() | PostNotice():
            if sent_before is None or sent_before(a.chat_id, a.text) is None:
                p.send_message(chat_id=a.chat_id, text=a.text, notify=True)
            return Effect()
        case ReportDrift():
            return Effect("reported")
        case _:
            assert_never(a)


def grant_together(grants: Sequence[GrantAdmin], p: ChatPlatform) -> list[Effect]:
    """One call for several grants in one chat; each keeps its own row and audit event."""
    p.grant_admins(grants[0].chat_id, [AdminGrant(a.user_id, frozenset(a.permissions)) for a in grants])
    return [_granted(a) for a in grants]


def _granted(a: GrantAdmin) -> Effect:
    return Effect(member=(a.user_id, MemberState(is_admin=True, permissions=frozenset(a.permissions))))


def _added(a: AddMembers, p: ChatPlatform) -> Effect:
    result = p.add_members(a.chat_id, a.user_ids)
    refused = [(a.chat_id, u, code) for code, users in result.failed_user_details for u in users]
    failed = {u for _, u, _ in refused} | set(result.failed_user_ids)
    refused += [(a.chat_id, u, "unknown") for u in sorted(failed - {u for _, u, _ in refused})]
    added = tuple(u for u in a.user_ids if u not in failed)
    if not failed:
        return Effect(added=added)
    note = because("platform_refused", users=[f"{u} ({c})" for _, u, c in refused])
    # Per-user refusals (privacy) are the platform's answer, not a failure of the call.
    return Effect("partial" if added else "refused", note, added=added, refused=refused)


def record(s: Session, chat_id: int, e: Effect, at: datetime) -> None:
    """Keep the stored view of the chat in step with an effect that just happened."""
    if e.member is not None:
        repo.set_member(s, chat_id, *e.member)
    if e.demoted is not None:
        repo.demote(s, chat_id, e.demoted)
    if e.removed is not None:
        repo.set_member(s, chat_id, e.removed, None)
    for user in e.added:
        repo.add_member(s, chat_id, user)
    if e.title is not None:
        repo.set_chat_fields(s, chat_id, at, title=e.title)
    if e.pinned is not None:
        repo.set_chat_fields(s, chat_id, at, pinned_mid=e.pinned[0], pinned_text=e.pinned[1])
