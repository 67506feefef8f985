"""Which updates wake the daemon at once: those whose handling changes something."""

from __future__ import annotations

from typing import Any

import pytest

from domchat.max_client import parse
from domchat.sync.updates import urgent

USER = {"user_id": 7, "name": "Житель"}


def _message(text: str) -> dict[str, Any]:
    body = {"mid": "mid.1", "seq": 1, "text": text}
    message = {"sender": USER, "recipient": {"chat_id": -5, "chat_type": "chat"}, "timestamp": 1, "body": body}
    return {"update_type": "message_created", "timestamp": 1, "message": message}


@pytest.mark.parametrize(
    ("raw", "wakes"),
    [
        (_message("код ABCD-EFGH-JKMN-PQRS"), True),
        (_message("код abcd-efgh-jkmn-pqrs"), True),  # typed by hand
        (_message("/пригласить кв 12"), True),
        (_message("Когда дадут горячую воду?"), False),
        ({"update_type": "bot_started", "timestamp": 1, "chat_id": -5, "user": USER, "payload": "s_x"}, True),
        ({"update_type": "user_added", "timestamp": 1, "chat_id": -5, "user": USER}, True),
        ({"update_type": "message_removed", "timestamp": 1, "message_id": "mid.1", "chat_id": -5, "user_id": 7}, False),
    ],
)
def test_codes_commands_and_membership_wake_chatter_waits(raw: dict[str, Any], wakes: bool) -> None:
    assert urgent(parse.update(raw)) is wakes
