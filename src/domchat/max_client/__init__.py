"""MAX Bot API client: typed calls, a shared rate limit, retries, and both ways to get updates.

`MaxClient` makes the calls; `LongPoller` and `WebhookReceiver` bring updates in and hand
them to a store before acknowledging them. Nothing here knows about sync or storage.
"""

from domchat.max_client import codes
from domchat.max_client.client import MaxClient
from domchat.max_client.codes import SUCCESS_FALSE
from domchat.max_client.polling import LongPoller, update_key
from domchat.max_client.ratelimit import (
    RateLimiter,
    TokenBucket,
    client_rate,
    reserve,
    shared_limiter,
)
from domchat.max_client.receive import MODES, receive_updates
from domchat.max_client.webhook import WebhookReceiver

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
