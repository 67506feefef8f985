"""The webhook receiver: the platform POSTs updates here; store them, then answer 200.

* A request without the subscription's secret in `X-Max-Bot-Api-Secret` is refused (401)
  before its body is even read.
* Each request's updates go to `store` (with marker None), one call at a time; only when it has returned
  does the receiver answer 200. If `store` fails the answer is 500, and if it has not finished
  within `answer_within` seconds (the platform gives up at 30) the answer is 503: either way the
  platform delivers the update again, so a crash or stop mid-batch loses nothing. A store that
  finished after a 503 will see the update twice: deduplicate on `polling.update_key`.
* Plain HTTP: TLS (port 443, a certificate the platform trusts) is terminated in front of it.
* Hostile peers: a body needs a plain `Content-Length` within `max_body` (411 when missing or
  chunked, 400 when not a non-negative number, 413 when too large); JSON nested deeper than
  `max_depth` is refused (400). Every socket read waits at most `read_timeout`, and a request
  must arrive whole within `request_deadline` (a slow drip is cut off); beyond
  `max_connections` open connections a new one gets 503 at once, without a thread. The
  standard library's server is kept, bounded this way, rather than a WSGI server: the
  platform is the only client, one store runs at a time anyway, and it needs no dependency.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

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
        max_depth: int = 64,
        read_timeout: float = 10.0,
        request_deadline: float = 30.0,
        max_connections: int = 64,
    ) -> None:
        if not secret:
            raise ValueError("a webhook receiver needs a secret: anyone could post updates otherwise")
        self._secret = secret.reveal().encode()
        self._store = store
        self.path = path
        self._answer_within = answer_within
        self.max_body = max_body
        self.max_depth = max_depth
        self.read_timeout = read_timeout
        self.request_deadline = request_deadline
        self.max_connections = max_connections
        self._server: _Server | None = None
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
            server.guard = _Deadlines(self.max_connections)
            # One worker: stores never run concurrently, whatever the number of connections.
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="max-webhook-store")
            self._server = server
            self._thread = threading.Thread(target=lambda: server.serve_forever(poll_interval=0.05), name="max-webhook", daemon=True)
            self._thread.start()
            server.guard.start()
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
            self._server.guard.stop()
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
            payload = json.loads(body)
        except (UnicodeDecodeError, ValueError) as e:
            return 400, f"not an update: {e}"
        except RecursionError:
            return 400, f"not an update: nested deeper than {self.max_depth}"
        if _deeper_than(payload, self.max_depth):
            return 400, f"not an update: nested deeper than {self.max_depth}"
        try:
            updates = _updates(payload)
        except (ValueError, MaxError) as e:
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


def _deeper_than(payload: Any, limit: int) -> bool:
    """Is any value in `payload` nested more than `limit` levels deep? (Iterative: no recursion to exhaust.)"""
    level: list[Any] = [payload]
    for _ in range(limit):
        level = [v for x in level if isinstance(x, (dict, list)) for v in (x.values() if isinstance(x, dict) else x)]
        if not level:
            return False
    return any(isinstance(x, (dict, list)) for x in level)


_LENGTH = re.compile(r"[0-9]{1,19}")
_BUSY = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class _Deadlines:
    """Open connections and the instant each must be done by; a reaper cuts off the late ones."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._open: dict[socket.socket, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._reaper = threading.Thread(target=self._reap, name="max-webhook-deadlines", daemon=True)

    def start(self) -> None:
        self._reaper.start()

    def stop(self) -> None:
        self._stop.set()
        self._reaper.join(timeout=5)

    def admit(self, conn: socket.socket) -> bool:
        with self._lock:
            if len(self._open) >= self.capacity:
                return False
            self._open[conn] = float("inf")
            return True

    def due(self, conn: socket.socket, seconds: float | None) -> None:
        """`conn` must finish what it is doing within `seconds` (None: no deadline, e.g. while storing)."""
        with self._lock:
            if conn in self._open:
                self._open[conn] = float("inf") if seconds is None else time.monotonic() + seconds

    def release(self, conn: socket.socket) -> None:
        with self._lock:
            self._open.pop(conn, None)

    def _reap(self) -> None:
        while not self._stop.wait(0.1):
            now = time.monotonic()
            with self._lock:
                late = [c for c, at in self._open.items() if at <= now]
                for c in late:
                    self._open[c] = float("inf")
            for c in late:
                # The handler's blocked read returns at once and it ends the connection.
                with contextlib.suppress(OSError):
                    c.shutdown(socket.SHUT_RDWR)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a burst waits in the kernel's backlog instead of retrying its SYN a second later
    receiver: WebhookReceiver
    guard: _Deadlines

    def process_request(self, request: Any, client_address: Any) -> None:
        conn = cast(socket.socket, request)
        if not self.guard.admit(conn):
            log.warning("max.webhook_busy", peer=client_address[0], open=self.guard.capacity)
            with contextlib.suppress(OSError):
                conn.setblocking(False)
                conn.send(_BUSY)
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.guard.release(cast(socket.socket, request))
        super().shutdown_request(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle on, keep-alive clients wait 40 ms for each answer.
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.receiver.read_timeout)  # every read waits at most this long

    def handle_one_request(self) -> None:
        guard, conn = self.server.guard, cast(socket.socket, self.connection)
        guard.due(conn, self.server.receiver.request_deadline)
        try:
            super().handle_one_request()
        except OSError:
            self.close_connection = True  # timed out or cut off: nothing was stored, nothing to answer
        finally:
            guard.due(conn, self.server.receiver.request_deadline)

    def do_POST(self) -> None:
        receiver = self.server.receiver
        if self.path.split("?", 1)[0] != receiver.path:
            self._answer(404, "no such path", close=True)
        elif not receiver.secret_ok(self.headers.get(AUTH_HEADER)):
            log.warning("max.webhook_bad_secret", peer=self.client_address[0])
            self._answer(401, f"wrong or missing {AUTH_HEADER}", close=True)
        else:
            declared = self.headers.get("Content-Length")
            if declared is None or "Transfer-Encoding" in self.headers:
                self._answer(411, "a Content-Length is required", close=True)
                return
            if not _LENGTH.fullmatch(declared.strip()):
                self._answer(400, "bad Content-Length", close=True)
                return
            length = int(declared)
            if length > receiver.max_body:
                self._answer(413, "body too large", close=True)
                return
            body = self.rfile.read(length)
            if len(body) < length:
                self.close_connection = True  # the sender went away mid-body: nothing to store
                return
            # Storing may take its time (answer_within); the deadline is for the peer's sending only.
            self.server.guard.due(cast(socket.socket, self.connection), None)
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
