"""Bot API JSON to the typed views in `types.py`, leniently.

Unknown fields are ignored and enum-like strings (permissions, chat types, update types) are
kept as they come; only a missing identifier makes an answer unusable, and that surfaces as
`MaxError` at the client's boundary (see `parsed`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from domchat.errors import MaxError
from domchat.max_client.types import (
    Chat,
    ChatMember,
    Message,
    ModifyMembersResult,
    Subscription,
    Update,
    UpdateBatch,
    User,
)

T = TypeVar("T")


def parsed(parse: Callable[[Any], T], payload: Any, endpoint: str) -> T:
    """`parse(payload)`, with a malformed answer reported as `MaxError` naming the endpoint."""
    try:
        return parse(payload)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise MaxError(f"MAX {endpoint}: unexpected answer ({type(e).__name__}: {e})") from None


def user(d: dict[str, Any]) -> User:
    return User(
        user_id=int(d["user_id"]),
        first_name=d.get("first_name") or "",
        last_name=d.get("last_name"),
        username=d.get("username"),
        is_bot=bool(d.get("is_bot", False)),
    )


def member(d: dict[str, Any]) -> ChatMember:
    return ChatMember(
        user_id=int(d["user_id"]),
        first_name=d.get("first_name") or "",
        last_name=d.get("last_name"),
        username=d.get("username"),
        is_bot=bool(d.get("is_bot", False)),
        is_owner=bool(d.get("is_owner", False)),
        is_admin=bool(d.get("is_admin", False)),
        permissions=rights(d.get("permissions") or ()),
        join_time=d.get("join_time"),
        alias=d.get("alias"),
    )


# Older names the platform may still report for rights it now calls otherwise.
_LEGACY = {"post_edit_delete_message": "write", "edit_message": "edit", "delete_message": "delete"}
AUTOMATIC = frozenset({"can_call"})
"""Rights the platform gives every admin by itself: they say nothing about what was granted."""


def rights(names: Iterable[str]) -> frozenset[str]:
    """An admin's rights under their current names, without the automatic ones, so that they
    compare equal to the rights domchat grants (the planner and the executor both compare)."""
    return frozenset(_LEGACY.get(p, p) for p in names) - AUTOMATIC


def members(d: dict[str, Any]) -> tuple[list[ChatMember], int | None]:
    """Schema `ChatMembersList`: a page of members and the marker of the next page."""
    return [member(m) for m in d["members"]], d.get("marker")


def message(d: dict[str, Any]) -> Message:
    recipient = d.get("recipient") or {}
    body = d.get("body") or {}
    sender = d.get("sender")
    return Message(
        mid=str(body["mid"]),
        chat_id=recipient.get("chat_id"),
        user_id=recipient.get("user_id"),
        sender_id=sender["user_id"] if sender else None,
        text=body.get("text"),
        timestamp=int(d.get("timestamp") or 0),
    )


def chat(d: dict[str, Any]) -> Chat:
    pinned = d.get("pinned_message")
    return Chat(
        chat_id=int(d["chat_id"]),
        type=str(d.get("type", "")),
        status=str(d.get("status", "")),
        title=d.get("title"),
        owner_id=d.get("owner_id"),
        participants_count=d.get("participants_count"),
        link=d.get("link"),
        pinned_message=message(pinned) if pinned else None,
    )


def modify_result(d: dict[str, Any]) -> ModifyMembersResult:
    return ModifyMembersResult(
        success=d.get("success") is True,
        message=d.get("message"),
        failed_user_ids=tuple(int(u) for u in d.get("failed_user_ids") or ()),
        failed_user_details=tuple(
            (str(f["error_code"]), tuple(int(u) for u in f.get("user_ids") or ())) for f in d.get("failed_user_details") or ()
        ),
    )


def update(d: dict[str, Any]) -> Update:
    msg = message(d["message"]) if d.get("message") else None
    chat_id = d.get("chat_id")
    return Update(
        update_type=str(d["update_type"]),
        timestamp=int(d.get("timestamp") or 0),
        chat_id=chat_id if chat_id is not None else (msg.chat_id if msg else None),
        user=user(d["user"]) if d.get("user") else None,
        inviter_id=d.get("inviter_id"),
        admin_id=d.get("admin_id"),
        payload=d.get("payload"),
        message=msg,
        title=d.get("title"),
        raw=d,
    )


def update_batch(d: dict[str, Any]) -> UpdateBatch:
    return UpdateBatch(tuple(update(u) for u in d["updates"]), d.get("marker"))


def subscription(d: dict[str, Any]) -> Subscription:
    types = d.get("update_types")
    return Subscription(url=str(d["url"]), time=int(d.get("time") or 0), update_types=tuple(types) if types is not None else None)
