"""The actions a plan is made of: typed, frozen, each with a deterministic key.

The key identifies *what* is done (kind, chat, user, rights, text), never *why* or *when*, so
that after a crash the same remaining work gets the same key and is resumed, not repeated.

Each kind is one class here holding its data and `observed`, the pure check whether a chat
already shows its effect (the planner asks it before planning a change, the executor when it
settles work an interruption left pending). Its effect through MAX is one `case` of the single
exhaustive `match` in `sync/effects.py`. A new kind joins the `Action` union; mypy then flags
every place that must handle it (`observed` on the union, `assert_never` in the effects).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, ClassVar, get_args

from domchat.domain.model import ActualChat, ChatId, UserId

_NOT_KEYED = ("reason", "org", "due")


@dataclass(frozen=True, slots=True)
class _Base:
    kind: ClassVar[str]
    removes: ClassVar[bool] = False
    """True for actions that take someone's rights or membership away (the safety fuse counts them)."""
    planned: ClassVar[bool] = True
    """True for actions the planner derives from state (a later plan supersedes them); False for
    answers queued by update handling, which stay pending until sent."""
    base_lane: ClassVar[int] = 3
    """The kind's lane in the executor's queue (see `lane`)."""

    chat_id: ChatId
    building: str
    due: str = ""
    """ISO instant from which the change was due (a local midnight, a binding); not part of the key."""

    def key(self) -> str:
        doc = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in _NOT_KEYED}
        doc["kind"] = self.kind
        return hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    def lane(self) -> int:
        """Which work goes first: 1 rights due at a boundary, 2 answers to people, 3 provisioning
        (cards, titles), 4 background (drift), 5 notices to houses (reminders, announcements).
        Rights without a due instant repair drift: lane 4."""
        return 4 if self.base_lane == 1 and not self.due else self.base_lane

    def payload(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("chat_id", "building")}


@dataclass(frozen=True, slots=True)
class RevokeAdmin(_Base):
    kind: ClassVar[str] = "revoke_admin"
    base_lane: ClassVar[int] = 1
    removes: ClassVar[bool] = True
    user_id: UserId = 0
    org: str | None = None
    reason: str = ""

    def observed(self, chat: ActualChat) -> bool:
        m = chat.members.get(self.user_id)
        return m is None or not m.is_admin


@dataclass(frozen=True, slots=True)
class RemoveMember(_Base):
    kind: ClassVar[str] = "remove_member"
    base_lane: ClassVar[int] = 1
    removes: ClassVar[bool] = True
    user_id: UserId = 0
    org: str | None = None
    reason: str = ""

    def observed(self, chat: ActualChat) -> bool:
        return self.user_id not in chat.members


@dataclass(frozen=True, slots=True)
class AddMembers(_Base):
    kind: ClassVar[str] = "add_members"
    base_lane: ClassVar[int] = 1
    user_ids: tuple[UserId, ...] = ()
    reason: str = ""

    def observed(self, chat: ActualChat) -> bool:
        return all(u in chat.members for u in self.user_ids)


@dataclass(frozen=True, slots=True)
class GrantAdmin(_Base):
    kind: ClassVar[str] = "grant_admin"
    base_lane: ClassVar[int] = 1
    user_id: UserId = 0
    permissions: tuple[str, ...] = ()
    org: str | None = None
    reason: str = ""

    def observed(self, chat: ActualChat) -> bool:
        """Exactly these rights: the platform replaces an admin's set, so more is a change too.
        Names are compared as the MAX adapter normalises them (`max_client/parse.py`)."""
        m = chat.members.get(self.user_id)
        return m is not None and m.is_admin and m.permissions == frozenset(self.permissions)


@dataclass(frozen=True, slots=True)
class SetTitle(_Base):
    kind: ClassVar[str] = "set_title"
    title: str = ""
    reason: str = ""

    def observed(self, chat: ActualChat) -> bool:
        return chat.title == self.title


@dataclass(frozen=True, slots=True)
class PinCard(_Base):
    """Post the building's card and pin it (the message is looked up first: never sent twice)."""

    kind: ClassVar[str] = "pin_card"
    text: str = ""
    button_texts: tuple[str, ...] = ()
    button_urls: tuple[str, ...] = ()
    """The card's link buttons (texts and URLs in step), one per row of its inline keyboard."""
    org: str | None = None
    reason: str = ""

    def observed(self, chat: ActualChat) -> bool:
        return chat.pinned_text == self.text


@dataclass(frozen=True, slots=True)
class SendNotice(_Base):
    """A message from the bot answering someone (a code, a link); `ref` makes each one distinct."""

    kind: ClassVar[str] = "send_notice"
    base_lane: ClassVar[int] = 2
    planned: ClassVar[bool] = False
    text: str = ""
    ref: str = ""
    reason: str = ""

    def observed(self, chat: ActualChat) -> bool:
        """A chat's state does not show a message was sent; the executor looks for it instead."""
        return False


@dataclass(frozen=True, slots=True)
class ReportDrift(_Base):
    """Something in the chat nobody entitled, left in place by policy: audited, not changed."""

    kind: ClassVar[str] = "report_drift"
    base_lane: ClassVar[int] = 4
    user_id: UserId = 0
    what: str = ""
    reason: str = ""

    def observed(self, chat: ActualChat) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class PostNotice(_Base):
    """A reminder or an announcement to the house (docs/notices.md): keyed by the notice alone, so
    a reworded template never makes it a second message; it comes after every other kind."""

    kind: ClassVar[str] = "post_notice"
    planned: ClassVar[bool] = False
    base_lane: ClassVar[int] = 5
    notice: str = ""
    """The notice's key, `<kind>:<building>:<ident>` (`domain/notices.py`)."""
    text: str = ""
    reason: str = ""

    def key(self) -> str:
        return hashlib.sha256(f"{self.kind}\n{self.notice}".encode()).hexdigest()

    def observed(self, chat: ActualChat) -> bool:
        """A chat's state does not show a message was sent; the executor looks for it instead."""
        return False


Action = RevokeAdmin | RemoveMember | AddMembers | GrantAdmin | SetTitle | PinCard | SendNotice | ReportDrift | PostNotice

ORDER: tuple[type[Action], ...] = get_args(Action)
"""The union's order is the execution order within a chat: rights taken away before new ones are
given (nobody holds both sets at once), members added before they are made admins."""

KINDS: dict[str, type[Action]] = {cls.kind: cls for cls in ORDER}


def from_stored(kind: str, chat_id: ChatId, building: str, payload: dict[str, Any]) -> Action:
    """Rebuild an action from its stored form (JSON lists become tuples again)."""
    cls = KINDS[kind]
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in payload.items()}
    action: Action = cls(chat_id=chat_id, building=building, **fields)  # type: ignore[arg-type]
    return action
