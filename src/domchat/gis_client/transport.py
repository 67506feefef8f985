"""HTTP to GIS ZhKH: TLS and Basic auth as configured, retries with backoff, bounded answers.

Answers are spooled (memory up to a megabyte, then a temporary file) while their size is
counted, so a tens-of-megabytes answer costs no more memory than a small one, and an answer
over `max_answer_bytes` is refused before it is parsed. An answer that is not XML by its
Content-Type is refused unread.

Time is bounded twice: `timeout` limits each read of the socket, and `answer_deadline` the
whole exchange from the request until the answer's last byte, however slowly it trickles in
(a watchdog shuts the socket down when it passes). A caller's budget (`within`) caps both the
exchange and its retries.
"""

from __future__ import annotations

import contextlib
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, TypeVar

import requests
import structlog
from requests.adapters import HTTPAdapter
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool

from domchat.errors import GisBadAnswer, GisFault, GisUnavailable
from domchat.settings import GisSettings, Secret

if TYPE_CHECKING:
    from urllib3._base_connection import BaseHTTPConnection

_log = structlog.get_logger("domchat.gis_client")
_SPOOL_IN_MEMORY = 1024 * 1024
_CHUNK = 64 * 1024
_TRANSIENT_STATUS = frozenset({408, 429, 502, 503, 504})
_XML_TYPES = frozenset({"text/xml", "application/xml", "application/soap+xml"})


class _Transient(Exception):
    """A transport failure worth another attempt."""


class BudgetSpent(GisUnavailable):
    """The caller's time budget (a pull's `gis.pull_budget`) ran out."""


_C = TypeVar("_C")
_current = threading.local()
"""The watchdog of the exchange running on this thread, told which connection it runs on."""


def _picked(conn: _C) -> _C:
    dog: _Watchdog | None = getattr(_current, "watchdog", None)
    if dog is not None:
        dog.conn = conn
    return conn


class _WatchedPool(HTTPConnectionPool):
    def _get_conn(self, timeout: float | None = None) -> BaseHTTPConnection:
        return _picked(super()._get_conn(timeout))


class _WatchedTlsPool(HTTPSConnectionPool):
    def _get_conn(self, timeout: float | None = None) -> BaseHTTPConnection:
        return _picked(super()._get_conn(timeout))


class _WatchedAdapter(HTTPAdapter):
    """An adapter whose connections the deadline watchdog can find."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedPool, "https": _WatchedTlsPool}


class _Watchdog:
    """Shuts the exchange's socket down once its deadline has passed, so that a blocked read
    ends at once however the answer trickles (a per-read timeout never fires while bytes keep
    coming). A socket still connecting then is cut as soon as it exists."""

    _RECHECK = 0.05

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self.conn: object = None
        self._seconds = max(seconds, 0.0)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="gis-deadline", daemon=True)

    def __enter__(self) -> _Watchdog:
        _current.watchdog = self
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        _current.watchdog = None
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        if self._done.wait(self._seconds):
            return
        self.fired = True
        while True:
            sock = getattr(self.conn, "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):  # already closed: nothing left to cut
                    sock.shutdown(socket.SHUT_RDWR)
                return
            if self._done.wait(self._RECHECK):
                return


@dataclass
class Answer:
    status: int
    body: IO[bytes]
    """The whole answer, rewound; the caller closes it."""
    size: int


class Transport:
    def __init__(self, settings: GisSettings, password: Secret | None, *, sleep: Callable[[float], None]) -> None:
        self.settings = settings
        self.endpoint = settings.endpoint.rstrip("/")
        self._sleep = sleep
        s = requests.Session()
        s.trust_env = False  # proxies and netrc must come from the config, never from the environment by surprise
        s.mount("http://", _WatchedAdapter())
        s.mount("https://", _WatchedAdapter())
        if settings.username:
            s.auth = (settings.username, password.reveal() if password else "")
        if settings.ca_bundle is not None:
            s.verify = str(settings.ca_bundle)
        if settings.client_cert is not None:
            s.cert = (str(settings.client_cert), str(settings.client_key)) if settings.client_key else str(settings.client_cert)
        self._session = s

    def close(self) -> None:
        self._session.close()

    def post(self, path: str, action: str, body: bytes, *, what: str, within: float | None = None) -> Answer:
        """POST a SOAP envelope to the endpoint + `path`; `what` names the exchange in errors
        ("house-management exportHouseData"). `within`: seconds left of the caller's budget,
        for this exchange and its retries; `BudgetSpent` when they run out."""
        base = self.endpoint
        first, largest = self.settings.transport_backoff
        budget_end = time.monotonic() + within if within is not None else None

        def sleep(seconds: float) -> None:
            # A wait never outlasts the budget: the next attempt then fails at once.
            self._sleep(seconds if budget_end is None else max(0.0, min(seconds, budget_end - time.monotonic())))

        retrying = Retrying(
            stop=stop_after_attempt(self.settings.transport_attempts),
            wait=wait_random_exponential(multiplier=first, max=largest),
            retry=retry_if_exception_type(_Transient),
            reraise=True,
            sleep=sleep,
            before_sleep=lambda rs: _log.warning(
                "gis.transport.retry", what=what, attempt=rs.attempt_number, error=str(rs.outcome.exception()) if rs.outcome else ""
            ),
        )
        try:
            answer: Answer = retrying(self._post_once, base, path, action, body, what, budget_end)
            return answer
        except _Transient as e:
            raise GisUnavailable(
                f"GIS ZhKH unreachable at {base}: {what}: {e} (after {self.settings.transport_attempts} attempts)"
            ) from None

    def _post_once(self, base: str, path: str, action: str, body: bytes, what: str, budget_end: float | None) -> Answer:
        deadline = self.settings.answer_deadline
        if budget_end is not None:
            left = budget_end - time.monotonic()
            if left <= 0:
                raise BudgetSpent(f"GIS ZhKH at {base}: {what}: the pull's time budget (gis.pull_budget) is spent")
            deadline = min(deadline, left)
        with _Watchdog(deadline) as dog:
            try:
                answer = self._exchange(base, path, action, body, what)
            except (_Transient, GisBadAnswer):
                if not dog.fired:
                    raise
            else:
                if not dog.fired:
                    return answer
                answer.body.close()  # cut by the watchdog: it may look whole and not be
            if deadline < self.settings.answer_deadline:
                raise BudgetSpent(
                    f"GIS ZhKH at {base}: {what}: the pull's time budget (gis.pull_budget) ran out while waiting for the answer"
                )
            raise _Transient(f"answer not complete within gis.answer_deadline={deadline:g} s")

    def _exchange(self, base: str, path: str, action: str, body: bytes, what: str) -> Answer:
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{action}"'}
        try:
            resp = self._session.post(base + path, data=body, headers=headers, timeout=self.settings.timeout, stream=True)
        except requests.Timeout:
            raise _Transient(f"no answer within {self.settings.timeout:g} s") from None
        except requests.exceptions.SSLError as e:
            # A certificate problem does not heal by retrying: name it and stop.
            raise GisUnavailable(f"GIS ZhKH unreachable at {base}: {what}: TLS failed: {_first_line(e)}") from None
        except requests.RequestException as e:
            raise _Transient(f"{type(e).__name__}: {_first_line(e)}") from None
        with resp:
            if resp.status_code in _TRANSIENT_STATUS:
                raise _Transient(f"HTTP {resp.status_code}")
            if resp.status_code in (401, 403):
                raise GisFault(
                    f"HTTP{resp.status_code}",
                    "authentication refused (check gis.username, the password, the client certificate)",
                    operation=what,
                )
            if resp.status_code not in (200, 500):
                raise GisBadAnswer(f"GIS {what}: unexpected HTTP {resp.status_code} from {base}")
            _check_content_type(resp, what)
            return self._spool(resp, what)

    def _spool(self, resp: requests.Response, what: str) -> Answer:
        limit = self.settings.max_answer_bytes
        declared = resp.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise GisBadAnswer(f"GIS {what}: answer of {declared} bytes exceeds gis.max_answer_bytes={limit}")
        spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115 - the caller closes it
        size = 0
        try:
            for chunk in resp.iter_content(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise GisBadAnswer(f"GIS {what}: answer exceeds gis.max_answer_bytes={limit}")
                spool.write(chunk)
        except requests.RequestException as e:
            spool.close()
            raise _Transient(f"answer cut short after {size} bytes: {type(e).__name__}") from None
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return Answer(resp.status_code, spool, size)


def _check_content_type(resp: requests.Response, what: str) -> None:
    """An answer that says it is not XML (an HTML error page of a proxy…) is refused unread."""
    value = resp.headers.get("Content-Type", "")
    media, _, params = value.partition(";")
    if media.strip().lower() not in _XML_TYPES:
        raise GisBadAnswer(f"GIS {what}: answer has Content-Type {value.strip()[:80] or 'none'!r}, not XML; refused")
    for param in params.split(";"):
        key, _, charset = param.partition("=")
        if key.strip().lower() == "charset" and charset.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise GisBadAnswer(f"GIS {what}: answer has charset {charset.strip()[:40]!r}, not UTF-8; refused")


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__
