"""Webhook delivery: the platform POSTs each update to the subscribed URL, in order.

An update counts as delivered only on HTTP 200; otherwise it is retried after a delay that
grows by a factor (the platform: 60 s, then x2.5, up to 10 retries), and after the last retry
the subscription is dropped and the update stays queued for long polling. Delays are
configurable so that tests run in milliseconds.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from typing import Any

from domchat.emulators.max.model import SubscriptionRecord
from domchat.emulators.max.platform import Platform

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookPolicy:
    first_retry: float = 60.0
    """Seconds before the first retry of a failed delivery."""
    factor: float = 2.5
    """Each further retry waits this many times longer."""
    max_retries: int = 10
    timeout: float = 30.0
    """Seconds the receiver has to answer 200."""


class WebhookDeliverer:
    def __init__(self, platform: Platform, policy: WebhookPolicy, stop: threading.Event) -> None:
        self._p = platform
        self._policy = policy
        self._stop = stop
        self.counts: Counter[str] = Counter()
        # Deliver directly: a proxy from the environment has no business between two loopback ends.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def run(self) -> None:
        p = self._p
        while not self._stop.is_set():
            p.subscription_changed.clear()
            sub = p.subscription
            if sub is None:
                p.subscription_changed.wait()
                continue
            item = p.updates.next_undelivered(self._stop)
            if item is None or p.subscription is not sub:
                continue
            seq, update = item
            if sub.update_types and update["update_type"] not in sub.update_types:
                p.updates.ack_through(seq)
                continue
            self._deliver(sub, seq, update)

    def _deliver(self, sub: SubscriptionRecord, seq: int, update: dict[str, Any]) -> None:
        delay = self._policy.first_retry
        for attempt in range(self._policy.max_retries + 1):
            if attempt:
                if self._stop.wait(delay) or self._p.subscription is not sub:
                    return
                delay *= self._policy.factor
            if self._post(sub, update):
                self.counts["delivered"] += 1
                self._p.updates.ack_through(seq)
                return
            self.counts["failed"] += 1
        log.info("webhook %s kept failing: unsubscribed", sub.url)
        with self._p.lock:
            if self._p.subscription is sub:
                self._p.subscription = None

    def _post(self, sub: SubscriptionRecord, update: dict[str, Any]) -> bool:
        headers = {"Content-Type": "application/json"}
        if sub.secret:
            headers["X-Max-Bot-Api-Secret"] = sub.secret
        request = urllib.request.Request(sub.url, data=json.dumps(update).encode(), headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=self._policy.timeout) as answer:
                return int(answer.status) == 200
        except (urllib.error.URLError, OSError, ValueError):
            # HTTPError (a non-2xx answer) is a URLError; timeouts and resets are OSErrors.
            return False
