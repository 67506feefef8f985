"""`domchat updates --mode poll|webhook`: receive updates one way or the other, as configured.

The two ways exclude each other on the platform (long polling is refused while a webhook
subscription exists), so each mode checks or sets up that side before it starts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from domchat.errors import ConfigError, MaxError
from domchat.max_client.client import MaxClient
from domchat.max_client.polling import LongPoller, Store
from domchat.max_client.webhook import WebhookReceiver
from domchat.settings import MaxSettings, Secret

MODES = ("poll", "webhook")


def receive_updates(
    mode: str,
    client: MaxClient,
    settings: MaxSettings,
    *,
    store: Store,
    load_marker: Callable[[], int | None],
    stop: threading.Event,
    webhook_secret: Secret | None = None,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Receive until `stop` is set, handing every batch to `store` before acknowledging it.

    `poll`: long polling from the stored marker (`load_marker`); `store` gets each batch with
    the marker to keep. `webhook`: the
    receiver listens on `webhook_host:webhook_port`, then `webhook_url` (if set) is
    subscribed with `webhook_secret`. `ready` is told where updates come from.
    """
    types = settings.update_types or None
    if mode == "poll":
        subscribed = client.subscriptions()
        if subscribed:
            urls = ", ".join(s.url for s in subscribed)
            raise MaxError(
                f"a webhook subscription exists ({urls}): the platform refuses long polling meanwhile; use --mode webhook or unsubscribe it"
            )
        if ready is not None:
            ready(f"long polling {settings.base_url}")
        poller = LongPoller(client, store=store, load_marker=load_marker, types=types, timeout=settings.poll_timeout)
        poller.run(stop)
    elif mode == "webhook":
        if not webhook_secret:
            raise ConfigError("max.webhook_secret_file", "required for --mode webhook: set it, or DOMCHAT_MAX_WEBHOOK_SECRET")
        receiver = WebhookReceiver(
            secret=webhook_secret,
            store=store,
            path=settings.webhook_path,
            answer_within=settings.webhook_answer_within,
            read_timeout=settings.webhook_read_timeout,
            request_deadline=settings.webhook_request_deadline,
            max_connections=settings.webhook_max_connections,
        )
        url = receiver.start(settings.webhook_host, settings.webhook_port)
        try:
            # Subscribe only once listening, or the first deliveries would fail and wait a minute.
            if settings.webhook_url:
                client.subscribe(settings.webhook_url, update_types=types, secret=webhook_secret)
            if ready is not None:
                ready(f"webhook receiver on {url}")
            stop.wait()
        finally:
            receiver.stop()
    else:
        raise ValueError(f"unknown updates mode {mode!r}: one of {', '.join(MODES)}")
