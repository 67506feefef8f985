"""HTTP to GIS ZhKH: TLS and Basic auth as configured, retries with backoff, bounded answers.

Answers are spooled (memory up to a megabyte, then a temporary file) while their size is
counted, so a tens-of-megabytes answer costs no more memory than a small one, and an answer
over `max_answer_bytes` is refused before it is parsed.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

import requests
import structlog
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from domchat.errors import GisBadAnswer, GisFault, GisUnavailable
from domchat.settings import GisSettings, Secret

_log = structlog.get_logger("domchat.gis_client")
_SPOOL_IN_MEMORY = 1024 * 1024
_CHUNK = 64 * 1024
_TRANSIENT_STATUS = frozenset({408, 429, 502, 503, 504})


class _Transient(Exception):
    """A transport failure worth another attempt."""


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
        if settings.username:
            s.auth = (settings.username, password.reveal() if password else "")
        if settings.ca_bundle is not None:
            s.verify = str(settings.ca_bundle)
        if settings.client_cert is not None:
            s.cert = (str(settings.client_cert), str(settings.client_key)) if settings.client_key else str(settings.client_cert)
        self._session = s

    def close(self) -> None:
        self._session.close()

    def post(self, path: str, action: str, body: bytes, *, what: str) -> Answer:
        """POST a SOAP envelope to the endpoint + `path`; `what` names the exchange in errors
        ("house-management exportHouseData")."""
        base = self.endpoint
        first, largest = self.settings.transport_backoff
        retrying = Retrying(
            stop=stop_after_attempt(self.settings.transport_attempts),
            wait=wait_random_exponential(multiplier=first, max=largest),
            retry=retry_if_exception_type(_Transient),
            reraise=True,
            sleep=self._sleep,
            before_sleep=lambda rs: _log.warning(
                "gis.transport.retry", what=what, attempt=rs.attempt_number, error=str(rs.outcome.exception()) if rs.outcome else ""
            ),
        )
        try:
            answer: Answer = retrying(self._post_once, base, path, action, body, what)
            return answer
        except _Transient as e:
            raise GisUnavailable(
                f"GIS ZhKH unreachable at {base}: {what}: {e} (after {self.settings.transport_attempts} attempts)"
            ) from None

    def _post_once(self, base: str, path: str, action: str, body: bytes, what: str) -> Answer:
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


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__
