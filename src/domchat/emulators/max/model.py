"""The emulated platform's state: people, chats, memberships, messages.

Plain mutable records guarded by the platform's lock; `platform.py` applies the rules and
`render.py` turns these into the Bot API's JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Person:
    user_id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    privacy: bool = False
    """Refuses being added to chats by others (joining by link still works)."""
    is_bot: bool = False
    last_activity_time: int = 0


@dataclass
class Membership:
    user_id: int
    join_time: int
    is_owner: bool = False
    is_admin: bool = False
    permissions: list[str] = field(default_factory=list)
    """Admin rights in the order granted; empty for plain members."""
    alias: str | None = None


@dataclass
class StoredMessage:
    mid: str
    seq: int
    chat_id: int
    sender_id: int
    text: str | None
    timestamp: int
    format: str | None = None
    dialog_user_id: int | None = None
    """The person on the other side when `chat_id` is a dialog with the bot."""
    keyboard: list[list[dict[str, Any]]] | None = None
    """The rows of buttons of the message's inline keyboard, as sent."""


@dataclass
class ChatRoom:
    chat_id: int
    title: str
    owner_id: int
    link_hash: str
    created: int
    last_event_time: int
    members: dict[int, Membership] = field(default_factory=dict)
    """By user id, in joining order."""
    messages: list[StoredMessage] = field(default_factory=list)
    pinned_mid: str | None = None
    blocked: set[int] = field(default_factory=set)
    """Removed with `block=true`: cannot come back by link."""
    bot_status: str | None = None
    """`active`, `removed` or `left` once the bot has been in the chat; None before."""

    @property
    def link(self) -> str:
        return f"https://max.ru/join/{self.link_hash}"

    def admins(self) -> list[Membership]:
        return [m for m in self.members.values() if m.is_admin]

    def message(self, mid: str) -> StoredMessage | None:
        return next((m for m in self.messages if m.mid == mid), None)


@dataclass
class Dialog:
    """A person's dialog with the bot, opened when they start it."""

    chat_id: int
    user_id: int
    messages: list[StoredMessage] = field(default_factory=list)


@dataclass
class SubscriptionRecord:
    url: str
    time: int
    update_types: list[str] | None
    secret: str | None
