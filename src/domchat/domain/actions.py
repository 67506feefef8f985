"""The actions a plan is made of: typed, frozen, each with a deterministic key.

The key identifies *what* is done (kind, chat, user, rights, text), never *why* or *when*, so
that after a crash the same remaining work gets the same key and is resumed, not repeated.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, ClassVar

from domchat.domain.model import ChatId, UserId

_NOT_KEYED = ("reason", "org", "due")


@dataclass(frozen=True, slots=True)
class _Base:
    kind: ClassVar[str]
    removes: ClassVar[bool] = False
    """True for actions that take someone's rights or membership away (the safety fuse counts them)."""
    planned: ClassVar[bool] = True
    """True for actions the planner derives from state (a later plan supersedes them); False for
    answers queued by update handling, which stay pending until sent."""

    chat_id: ChatId
    building: str
    due: str = ""
    """ISO instant from which the change was due (a local midnight, a binding); not part of the key."""

    def key(self) -> str:
        doc = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in _NOT_KEYED}
        doc["kind"] = self.kind
        return hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    def payload(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("chat_id", "building")}


@dataclass(frozen=True, slots=True)
class RevokeAdmin(_Base):
    kind: ClassVar[str] = "revoke_admin"
    removes: ClassVar[bool] = True
    user_id: UserId = 0
    org: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RemoveMember(_Base):
    kind: ClassVar[str] = "remove_member"
    removes: ClassVar[bool] = True
    user_id: UserId = 0
    org: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class AddMembers(_Base):
    kind: ClassVar[str] = "add_members"
    user_ids: tuple[UserId, ...] = ()
    reason: str = ""


@dataclass(frozen=True, slots=True)
class GrantAdmin(_Base):
    kind: ClassVar[str] = "grant_admin"
    user_id: UserId = 0
    permissions: tuple[str, ...] = ()
    org: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SetTitle(_Base):
    kind: ClassVar[str] = "set_title"
    title: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class PinCard(_Base):
    """Post the building's card and pin it (the message is looked up first: never sent twice)."""

    kind: ClassVar[str] = "pin_card"
    text: str = ""
    org: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SendNotice(_Base):
    """A message from the bot answering someone (a code, a link); `ref` makes each one distinct."""

    kind: ClassVar[str] = "send_notice"
    planned: ClassVar[bool] = False
    text: str = ""
    ref: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ReportDrift(_Base):
    """Something in the chat nobody entitled, left in place by policy: audited, not changed."""

    kind: ClassVar[str] = "report_drift"
    user_id: UserId = 0
    what: str = ""
    reason: str = ""


Action = RevokeAdmin | RemoveMember | AddMembers | GrantAdmin | SetTitle | PinCard | SendNotice | ReportDrift

ORDER: tuple[type[_Base], ...] = (RevokeAdmin, RemoveMember, AddMembers, GrantAdmin, SetTitle, PinCard, SendNotice, ReportDrift)
"""Within a chat: take rights away before giving new ones, so nobody holds both sets at once."""

KINDS: dict[str, type[_Base]] = {cls.kind: cls for cls in ORDER}


def from_stored(kind: str, chat_id: ChatId, building: str, payload: dict[str, Any]) -> Action:
    """Rebuild an action from its stored form (JSON lists become tuples again)."""
    cls = KINDS[kind]
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in payload.items()}
    action: Action = cls(chat_id=chat_id, building=building, **fields)  # type: ignore[assignment,arg-type]
    return action
