"""The platform's rules on admin rights, as the dev.max.ru schema describes them.

Written from the schema's text, independently of the client: the emulator is the check on the
client's reading of the same documents.
"""

from __future__ import annotations

from collections.abc import Iterable

KNOWN_PERMISSIONS = frozenset(
    {
        "read_all_messages",
        "add_remove_members",
        "add_admins",
        "change_chat_info",
        "pin_message",
        "write",
        "can_call",
        "edit_link",
        "post_edit_delete_message",
        "edit_message",
        "delete_message",
        "edit",
        "delete",
    }
)
"""The schema's `ChatAdminPermission` enum (`view_stats` is for channel owners only)."""

NOT_IN_GROUP_CHATS = frozenset({"edit", "delete", "edit_message", "delete_message", "view_stats"})
"""Channel-only rights: editing and deleting posts, statistics."""

NEED_READ_ALL = frozenset({"write", "pin_message", "edit", "delete", "post_edit_delete_message", "edit_message", "delete_message"})
"""Rights that can be held only together with `read_all_messages`."""

OWNER_PERMISSIONS = (
    "read_all_messages",
    "add_remove_members",
    "add_admins",
    "change_chat_info",
    "pin_message",
    "write",
    "edit_link",
    "can_call",
)
"""What the creator of a group chat holds."""

MAX_ADMINS = 50
MAX_TITLE = 200
MAX_TEXT = 4000
MAX_ADD_MEMBERS = 100


def grant_problem(permissions: Iterable[str]) -> str | None:
    """Why this set of rights cannot be granted in a group chat, or None when it can."""
    wanted = set(permissions)
    unknown = sorted(wanted - KNOWN_PERMISSIONS - NOT_IN_GROUP_CHATS)
    if unknown:
        return f"unknown permission: {unknown[0]}"
    channel_only = sorted(wanted & NOT_IN_GROUP_CHATS)
    if channel_only:
        return f"permission {channel_only[0]} is not available in group chats"
    dependent = sorted(wanted & NEED_READ_ALL)
    if dependent and "read_all_messages" not in wanted:
        return f"permission {dependent[0]} requires read_all_messages"
    return None


def normalise(permissions: Iterable[str]) -> list[str]:
    """Rights as stored: duplicates dropped, `can_call` added as the platform does for admins."""
    out = list(dict.fromkeys(permissions))
    if "can_call" not in out:
        out.append("can_call")
    return out
