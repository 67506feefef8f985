"""One HTTP exchange with the Bot API: auth header, rate limit, retries, errors mapped.

* The token travels only in `Authorization: <token>`; any text that could carry it into an
  exception is scrubbed, and headers are never logged.
* 429 is always retried (the platform did nothing); 5xx and lost connections are retried only
  for calls that are safe to repeat, because a `POST /messages` that timed out may well have
  been delivered: callers re-read the state instead (see `MaxUnavailable` messages).
* Waits honour `Retry-After` (seconds or an HTTP date) and otherwise back off exponentially
  with jitter; a 429 also pauses the shared limiter so every sender slows down, not just one.
* `requests` exceptions become `domchat.errors` here; nothing above sees a `requests` type.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
import structlog
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from urllib3.exceptions import NewConnectionError

from domchat import metrics
from domchat.errors import MaxApiError, MaxError, MaxUnavailable
from domchat.max_client.codes import SUCCESS_FALSE
from domchat.max_client.ratelimit import RateLimiter
from domchat.settings import MaxSettings, Secret

log = structlog.get_logger(__name__)

_JITTER = random.SystemRandom()

RETRY_AFTER_CAP = 120.0
"""Longest `Retry-After` honoured, so that a wild value cannot stall the daemon for hours."""

Query = Mapping[str, str | int | bool | None]


class _Transient(Exception):
    """A failure worth retrying: 429, 5xx, or no answer."""

    def __init__(self, reason: str, *, status: int | None = None, retry_after: float | None = None, maybe_done: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        self.maybe_done = maybe_done
        """Whether the platform may have acted on the request (not so for 429 or a refused connection)."""


@dataclass(frozen=True)
class _Call:
    method: str
    path: str
    idempotent: bool

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.path}"


class Transport:
    def __init__(self, settings: MaxSettings, token: Secret, limiter: RateLimiter, sleep: Callable[[float], None]) -> None:
        self._base = settings.base_url.rstrip("/")
        self._settings = settings
        self._token = token
        self._limiter = limiter
        self._sleep = sleep
        # Passed with every request, not set on the session: requests lets REQUESTS_CA_BUNDLE
        # from the environment override a session's `verify`, silently dropping max.ca_bundle.
        self._verify: str | bool = str(settings.ca_bundle) if settings.ca_bundle is not None else True
        self._session = requests.Session()
        self._session.headers["Authorization"] = token.reveal()

    def close(self) -> None:
        self._session.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        query: Query | None = None,
        body: Any = None,
        idempotent: bool = True,
        wait: float = 0.0,
    ) -> Any:
        """The decoded JSON answer; `wait` is extra read time the server may take (long polling)."""
        call = _Call(method, path, idempotent)
        params = {k: _query_value(v) for k, v in (query or {}).items() if v is not None}
        retrying = Retrying(
            stop=stop_after_attempt(self._settings.retries + 1),
            wait=self._wait,
            retry=retry_if_exception(lambda e: isinstance(e, _Transient) and (call.idempotent or not e.maybe_done)),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(self._attempt, call, params, body, wait)
        except _Transient as e:
            attempts = retrying.statistics.get("attempt_number", 1)
            hint = "" if idempotent or not e.maybe_done else "; it may have taken effect: re-read before repeating it"
            raise MaxUnavailable(
                f"MAX {call.endpoint}: {e.reason} (after {attempts} attempt(s)){hint}", retry_after=e.retry_after
            ) from None

    def _attempt(self, call: _Call, params: dict[str, str], body: Any, wait: float) -> Any:
        waiting = time.monotonic()
        self._limiter.acquire()
        started = time.monotonic()
        metrics.limiter_waited(started - waiting)
        try:
            answer = self._session.request(
                call.method,
                self._base + call.path,
                params=params,
                json=body,
                timeout=(self._settings.timeout, self._settings.timeout + wait),
                verify=self._verify,
            )
        except requests.exceptions.SSLError:
            raise MaxUnavailable(f"MAX {call.endpoint}: TLS verification failed (is max.ca_bundle right?)") from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as e:
            refused = isinstance(e, requests.exceptions.ConnectTimeout) or _connection_refused(e)
            metrics.max_call(call.method, call.path, 0)
            raise _Transient(f"no answer ({type(e).__name__})", maybe_done=not refused) from None
        except requests.exceptions.RequestException as e:
            raise MaxUnavailable(f"MAX {call.endpoint}: {self._scrub(str(e))}") from None
        status = answer.status_code
        metrics.max_call(call.method, call.path, status)
        log.debug("max.call", endpoint=call.endpoint, status=status, ms=round((time.monotonic() - started) * 1000))
        if status == 429:
            raise _Transient("429 too many requests", status=429, retry_after=_retry_after(answer), maybe_done=False)
        if status >= 500:
            raise _Transient(f"HTTP {status}", status=status, retry_after=_retry_after(answer), maybe_done=True)
        payload = self._decode(call, answer)
        if status >= 400:
            error = payload if isinstance(payload, dict) else {}
            code, message = str(error.get("code", f"http.{status}")), self._scrub(str(error.get("message", "")))
            raise MaxApiError(status, code, message, endpoint=call.endpoint)
        return payload

    def _decode(self, call: _Call, answer: requests.Response) -> Any:
        try:
            return answer.json()
        except ValueError:
            if answer.status_code >= 400:
                return {}
            raise MaxError(f"MAX {call.endpoint}: HTTP {answer.status_code} answer is not JSON") from None

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, _Transient) and error.retry_after is not None:
            delay = min(error.retry_after, RETRY_AFTER_CAP)
        else:
            # Exponential with "equal jitter": instances that failed together retry apart.
            ceiling = min(self._settings.backoff_max, self._settings.backoff * 2 ** (state.attempt_number - 1))
            delay = ceiling / 2 + _JITTER.uniform(0, ceiling / 2)
        if isinstance(error, _Transient) and error.status == 429:
            self._limiter.pause(delay)
        reason = error.reason if isinstance(error, _Transient) else ""
        log.info("max.retry", reason=reason, attempt=state.attempt_number, wait=round(delay, 3))
        return delay

    def _scrub(self, text: str) -> str:
        secret = self._token.reveal()
        return text.replace(secret, "***") if secret else text


def require_success(payload: Any, endpoint: str) -> None:
    """A `SimpleQueryResult` that is not `success: true` becomes `MaxApiError` (code `success.false`)."""
    if not isinstance(payload, dict) or payload.get("success") is not True:
        message = payload.get("message") if isinstance(payload, dict) else None
        raise MaxApiError(200, SUCCESS_FALSE, str(message or "the platform refused without a reason"), endpoint=endpoint)


def _query_value(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _connection_refused(e: Exception) -> bool:
    """Whether the connection was never made, so the request cannot have been acted on."""
    cause: BaseException | None = e.args[0] if e.args and isinstance(e.args[0], BaseException) else None
    return isinstance(getattr(cause, "reason", None), NewConnectionError)


def _retry_after(answer: requests.Response) -> float | None:
    raw = answer.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
