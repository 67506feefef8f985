"""Long polling (`GET /updates`) that loses nothing: the batch and its marker stored as one.

The platform drops updates only once a later request passes a marker past them. So the loop
hands each batch to `store` together with the marker that acknowledges it, to be written in
one transaction, and uses that marker only after `store` returned: if domchat stops before,
the next run starts from the old marker (`load_marker`) and gets the same batch again.
`store` must accept an update twice all the same (webhook redeliveries repeat updates):
`update_key` gives the identity to deduplicate on.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

import structlog

from domchat.errors import MaxUnavailable
from domchat.max_client.types import Update, UpdateBatch

log = structlog.get_logger(__name__)

Store = Callable[[Sequence[Update], int | None], None]
"""`store(updates, marker)`: keep `updates` durably and, when `marker` is not None, the polling
marker that acknowledges them, in the same transaction. Webhook deliveries come with None."""


class UpdateSource(Protocol):
    """What the poller needs of `MaxClient`."""

    def get_updates(
        self, marker: int | None = None, *, limit: int = 100, timeout: int = 0, types: Iterable[str] | None = None
    ) -> UpdateBatch: ...


def update_key(update: Update) -> str:
    """A stable identity of an update: the SHA-256 of its canonical JSON.

    The platform numbers no updates; two deliveries of one event carry the same JSON, while
    two distinct events differ at least in their millisecond timestamp or content.
    """
    canonical = json.dumps(update.raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class LongPoller:
    def __init__(
        self,
        client: UpdateSource,
        *,
        store: Store,
        load_marker: Callable[[], int | None],
        types: Iterable[str] | None = None,
        timeout: int = 30,
        limit: int = 100,
        retry_wait: float = 5.0,
        idle_wait: float = 1.0,
    ) -> None:
        """`retry_wait`: seconds between polls while the platform is unavailable; `idle_wait`:
        between polls that found nothing when `timeout` is 0 (no long poll to wait in)."""
        self._client = client
        self._store = store
        self._types = tuple(types) if types else None
        self._timeout = timeout
        self._limit = limit
        self._retry_wait = retry_wait
        self._idle_wait = idle_wait if timeout == 0 else 0.0
        self._marker = load_marker()

    def poll_once(self) -> int:
        """One poll: store what came with its marker, then move on. Returns how many updates came."""
        batch = self._client.get_updates(self._marker, limit=self._limit, timeout=self._timeout, types=self._types)
        if batch.updates or (batch.marker is not None and batch.marker != self._marker):
            self._store(batch.updates, batch.marker)
        if batch.marker is not None:  # a missing marker must not send us back to the start
            self._marker = batch.marker
        return len(batch.updates)

    def run(self, stop: threading.Event) -> None:
        """Poll until `stop` is set; an unavailable platform is waited out, refusals propagate."""
        while not stop.is_set():
            try:
                if self.poll_once() == 0 and self._idle_wait:
                    stop.wait(self._idle_wait)
            except MaxUnavailable as e:
                log.warning("max.poll_unavailable", error=str(e), retry_in=self._retry_wait)
                stop.wait(self._retry_wait)
