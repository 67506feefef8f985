"""MAX Bot API client: typed calls, a shared rate limit, retries, and both ways to get updates.

`MaxClient` makes the calls; `LongPoller` and `WebhookReceiver` bring updates in and hand
them to a store before acknowledging them. Nothing here knows about sync or storage. The
names below load lazily, so that importing `domchat.max_client.types` (as the pure planner's
neighbours do) pulls in no requests.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from domchat.max_client import codes
    from domchat.max_client.client import MaxClient
    from domchat.max_client.codes import SUCCESS_FALSE
    from domchat.max_client.polling import LongPoller, update_key
    from domchat.max_client.ratelimit import RateLimiter, TokenBucket, client_rate, reserve, shared_limiter
    from domchat.max_client.receive import MODES, receive_updates
    from domchat.max_client.webhook import WebhookReceiver

_WHERE = {
    "codes": "domchat.max_client",
    "MaxClient": "domchat.max_client.client",
    "SUCCESS_FALSE": "domchat.max_client.codes",
    "LongPoller": "domchat.max_client.polling",
    "update_key": "domchat.max_client.polling",
    "RateLimiter": "domchat.max_client.ratelimit",
    "TokenBucket": "domchat.max_client.ratelimit",
    "client_rate": "domchat.max_client.ratelimit",
    "reserve": "domchat.max_client.ratelimit",
    "shared_limiter": "domchat.max_client.ratelimit",
    "MODES": "domchat.max_client.receive",
    "receive_updates": "domchat.max_client.receive",
    "WebhookReceiver": "domchat.max_client.webhook",
}
__all__ = [
    "MODES",
    "SUCCESS_FALSE",
    "LongPoller",
    "MaxClient",
    "RateLimiter",
    "TokenBucket",
    "WebhookReceiver",
    "client_rate",
    "codes",
    "receive_updates",
    "reserve",
    "shared_limiter",
    "update_key",
]


def __getattr__(name: str) -> Any:
    if name == "codes":
        return importlib.import_module("domchat.max_client.codes")
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
