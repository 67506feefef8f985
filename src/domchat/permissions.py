"""Chat admin rights as the MAX Bot API names them: a leaf module, so settings can check
configured rights without depending on the domain."""

from __future__ import annotations

import enum


class Permission(enum.StrEnum):
    """Only the rights domchat grants or checks."""

    READ_ALL_MESSAGES = "read_all_messages"
    ADD_REMOVE_MEMBERS = "add_remove_members"
    ADD_ADMINS = "add_admins"
    CHANGE_CHAT_INFO = "change_chat_info"
    PIN_MESSAGE = "pin_message"
    WRITE = "write"
    EDIT_LINK = "edit_link"
    CAN_CALL = "can_call"
