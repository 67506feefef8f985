"""What the MAX client returns: typed views of the Bot API's JSON, parsed leniently.

Unknown enum values (new permissions, chat types, update types) are kept as strings rather
than rejected: the platform has added values before and strict clients broke.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class User:
    user_id: int
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None
    is_bot: bool = False


@dataclass(frozen=True, slots=True)
class ChatMember:
    user_id: int
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None
    is_bot: bool = False
    is_owner: bool = False
    is_admin: bool = False
    permissions: frozenset[str] = frozenset()
    join_time: int | None = None
    alias: str | None = None
    """The role shown beside an admin's name, when one was set."""


@dataclass(frozen=True, slots=True)
class Message:
    mid: str
    chat_id: int | None
    user_id: int | None
    """Recipient user id, for dialogs."""
    sender_id: int | None
    text: str | None
    timestamp: int


@dataclass(frozen=True, slots=True)
class Chat:
    chat_id: int
    type: str
    status: str
    title: str | None
    owner_id: int | None
    participants_count: int | None
    link: str | None
    pinned_message: Message | None


@dataclass(frozen=True, slots=True)
class ModifyMembersResult:
    """`POST /chats/{id}/members`: success, and per-user failures (privacy, not found)."""

    success: bool
    message: str | None = None
    failed_user_ids: tuple[int, ...] = ()
    failed_user_details: tuple[tuple[str, tuple[int, ...]], ...] = ()
    """(error_code, user_ids) pairs, e.g. ("add.participant.privacy", (42,))."""


@dataclass(frozen=True, slots=True)
class AdminGrant:
    """One entry of `POST /chats/{id}/members/admins`: the rights replace any held before."""

    user_id: int
    permissions: frozenset[str]
    alias: str | None = None


@dataclass(frozen=True, slots=True)
class Subscription:
    """A webhook subscription (`GET /subscriptions`)."""

    url: str
    time: int
    update_types: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class Update:
    """One update; `raw` keeps the full JSON for types domchat does not model."""

    update_type: str
    timestamp: int
    chat_id: int | None = None
    user: User | None = None
    inviter_id: int | None = None
    admin_id: int | None = None
    payload: str | None = None
    message: Message | None = None
    title: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class UpdateBatch:
    updates: tuple[Update, ...]
    marker: int | None
