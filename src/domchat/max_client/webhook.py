"""The webhook receiver: the platform POSTs updates here; store them, then answer 200.

* A request without the subscription's secret in `X-Max-Bot-Api-Secret` is refused (401)
  before its body is even read.
* Each request's updates go to `store` (with marker None), one call at a time; only when it has returned
  does the receiver answer 200. If `store` fails the answer is 500, and if it has not finished
  within `answer_within` seconds (the platform gives up at 30) the answer is 503: either way the
  platform delivers the update again, so a crash or stop mid-batch loses nothing. A store that
  finished after a 503 will see the update twice: deduplicate on `polling.update_key`.
* Plain HTTP: TLS (port 443, a certificate the platform trusts) is terminated in front of it.
"""

from __future__ import annotations

import hmac
import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import structlog

from domchat.errors import MaxError
from domchat.max_client import parse
from domchat.max_client.polling import Store
from domchat.max_client.types import Update
from domchat.settings import Secret

log = structlog.get_logger(__name__)

AUTH_HEADER = "X-Max-Bot-Api-Secret"


class WebhookReceiver:
    def __init__(
        self,
        *,
        secret: Secret,
        store: Store,
        path: str = "/",
        answer_within: float = 25.0,
        max_body: int = 1 << 20,
    ) -> None:
        if not secret:
            raise ValueError("a webhook receiver needs a secret: anyone could post updates otherwise")
        self._secret = secret.reveal().encode()
        self._store = store
        self.path = path
        self._answer_within = answer_within
        self.max_body = max_body
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._worker: ThreadPoolExecutor | None = None
        self._life = threading.Lock()

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve in a background thread; returns the URL to subscribe (before any proxy)."""
        with self._life:
            if self._server is not None:
                raise RuntimeError("the webhook receiver is already running")
            server = _Server((host, port), _Handler)
            server.receiver = self
            # One worker: stores never run concurrently, whatever the number of connections.
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="max-webhook-store")
            self._server = server
            self._thread = threading.Thread(target=lambda: server.serve_forever(poll_interval=0.05), name="max-webhook", daemon=True)
            self._thread.start()
            bound_host, bound_port = server.server_address[:2]
            return f"http://{bound_host!s}:{bound_port}{self.path}"

    def serve(self, host: str, port: int, ready: Callable[[str], None] | None = None, stop: threading.Event | None = None) -> None:
        """Serve in the foreground until `stop` is set or Ctrl-C; `ready` gets the URL first."""
        url = self.start(host, port)
        if ready is not None:
            ready(url)
        try:
            (stop or threading.Event()).wait()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop answering; a store in progress is let finish."""
        with self._life:
            if self._server is None:
                return
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            if self._worker is not None:
                self._worker.shutdown(wait=True, cancel_futures=True)
            self._server = self._thread = self._worker = None

    def secret_ok(self, supplied: str | None) -> bool:
        return supplied is not None and hmac.compare_digest(supplied.encode(), self._secret)

    def accept(self, body: bytes) -> tuple[int, str]:
        """Store the updates in `body`; the HTTP status to answer and why."""
        try:
            updates = _updates(json.loads(body))
        except (UnicodeDecodeError, ValueError, MaxError) as e:
            return 400, f"not an update: {e}"
        worker = self._worker
        if worker is None:
            return 503, "stopping"
        future = worker.submit(self._store, updates, None)
        try:
            future.result(timeout=self._answer_within)
        except FutureTimeout:
            log.warning("max.webhook_store_slow", updates=len(updates), waited=self._answer_within)
            return 503, "still storing: deliver again"
        except Exception:
            # Whatever went wrong, the update is not stored: make the platform deliver it again.
            log.exception("max.webhook_store_failed", updates=len(updates))
            return 500, "not stored"
        return 200, "stored"


def _updates(payload: Any) -> list[Update]:
    """The platform posts one `Update` per request; a `{"updates": [...]}` batch is accepted too."""
    if isinstance(payload, dict) and "update_type" in payload:
        items = [payload]
    elif isinstance(payload, dict) and isinstance(payload.get("updates"), list):
        items = payload["updates"]
    else:
        raise ValueError("expected an Update object")
    return [parse.parsed(parse.update, item, "webhook") for item in items]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: WebhookReceiver


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle on, keep-alive clients wait 40 ms for each answer.
    disable_nagle_algorithm = True
    server: _Server

    def do_POST(self) -> None:
        receiver = self.server.receiver
        if self.path.split("?", 1)[0] != receiver.path:
            self._answer(404, "no such path", close=True)
        elif not receiver.secret_ok(self.headers.get(AUTH_HEADER)):
            log.warning("max.webhook_bad_secret", peer=self.client_address[0])
            self._answer(401, f"wrong or missing {AUTH_HEADER}", close=True)
        else:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                self._answer(400, "bad Content-Length", close=True)
                return
            if length > receiver.max_body:
                self._answer(413, "body too large", close=True)
                return
            body = self.rfile.read(length)
            if len(body) < length:
                self.close_connection = True  # the sender went away mid-body: nothing to store
                return
            self._answer(*receiver.accept(body))

    def do_GET(self) -> None:
        self._answer(405, "POST only", close=True)

    do_PUT = do_DELETE = do_PATCH = do_GET

    def _answer(self, status: int, message: str, *, close: bool = False) -> None:
        data = json.dumps({"ok": status == 200, "message": message}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if close:
            # The body was not read: the connection cannot carry another request.
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the platform stopped waiting; it will deliver again

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("max.webhook_http", line=format % args)
