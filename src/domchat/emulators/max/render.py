"""The emulator's state as the Bot API's JSON, following the dev.max.ru schema's objects.

Fields the schema marks required are always present (null where it allows null).
"""

from __future__ import annotations

from typing import Any

from domchat.emulators.max.model import ChatRoom, Membership, Person, StoredMessage


def user(p: Person) -> dict[str, Any]:
    """Schema `User`."""
    return {
        "user_id": p.user_id,
        "first_name": p.first_name,
        "last_name": None if p.is_bot else p.last_name,
        "username": p.username,
        "is_bot": p.is_bot,
        "last_activity_time": p.last_activity_time,
        # Deprecated by the platform but still required by the schema.
        "name": " ".join(x for x in (p.first_name, p.last_name) if x),
    }


def bot_info(p: Person) -> dict[str, Any]:
    """Schema `BotInfo` (`GET /me`)."""
    return {**user(p), "description": None, "commands": None}


def member(p: Person, m: Membership) -> dict[str, Any]:
    """Schema `ChatMember`: `permissions` is null for members who are not admins."""
    out = {
        **user(p),
        "last_access_time": m.join_time,
        "is_owner": m.is_owner,
        "is_admin": m.is_admin,
        "join_time": m.join_time,
        "permissions": list(m.permissions) if m.is_admin else None,
    }
    if m.alias is not None:
        out["alias"] = m.alias
    return out


def message(msg: StoredMessage, sender: Person) -> dict[str, Any]:
    """Schema `Message`."""
    if msg.dialog_user_id is not None:
        recipient = {"chat_id": msg.chat_id, "chat_type": "dialog", "user_id": msg.dialog_user_id}
    else:
        recipient = {"chat_id": msg.chat_id, "chat_type": "chat", "user_id": None}
    return {
        "sender": user(sender),
        "recipient": recipient,
        "timestamp": msg.timestamp,
        "link": None,
        "body": {"mid": msg.mid, "seq": msg.seq, "text": msg.text, "attachments": _attachments(msg), "markup": None},
        "stat": None,
        "url": None,
    }


def _attachments(msg: StoredMessage) -> list[dict[str, Any]] | None:
    """Schema `InlineKeyboardAttachment` of a message sent with a keyboard."""
    if msg.keyboard is None:
        return None
    return [{"type": "inline_keyboard", "payload": {"buttons": msg.keyboard}}]


def chat(room: ChatRoom) -> dict[str, Any]:
    """Schema `Chat` without `pinned_message` (which the platform sends for one chat only)."""
    return {
        "chat_id": room.chat_id,
        "type": "chat",
        "status": room.bot_status or "active",
        "title": room.title,
        "icon": None,
        "last_event_time": room.last_event_time,
        "participants_count": len(room.members),
        "owner_id": room.owner_id,
        "is_public": False,
        "link": room.link,
        "description": None,
        "messages_count": len(room.messages),
    }


def error(code: str, message: str) -> dict[str, Any]:
    """Schema `Error`."""
    return {"code": code, "message": message}
