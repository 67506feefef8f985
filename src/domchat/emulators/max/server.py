"""The MAX emulator's HTTP server: the Bot API (token in `Authorization`) and `/_emulator/`.

Every Bot API request passes, in order: authentication (401 `verify.token`), the per-token
rate limit (429 `too.many.requests`), fault injection, then the endpoint. The control API
skips all three: it stands for people using the messenger, not for the bot.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from domchat.emulators.max import render
from domchat.emulators.max.bot_api import BotApi
from domchat.emulators.max.control import PREFIX, ControlApi
from domchat.emulators.max.faults import FaultInjector, MaxFaults
from domchat.emulators.max.platform import Platform
from domchat.emulators.max.ratelimit import SlidingWindow
from domchat.emulators.max.routing import ApiError, Request, Response, Router
from domchat.emulators.max.webhook import WebhookDeliverer, WebhookPolicy

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20
SHUTDOWN_POLL = 0.05
"""Seconds between the server loop's checks for `stop()` (the stdlib default of 0.5 s makes stops slow)."""


class MaxEmulator:
    """A stand-in for `platform-api2.max.ru` serving one bot of a world on loopback."""

    def __init__(
        self,
        world: dict[str, Any],
        token: str,
        *,
        rate_limit: float = 30.0,
        faults: MaxFaults | None = None,
        webhook: WebhookPolicy | None = None,
        allow_http_webhooks: bool = True,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`clock` gives the timestamps the platform reports, `monotonic` drives the rate limit.

        `allow_http_webhooks`: the real platform delivers only to HTTPS on port 443; the
        emulator also accepts `http://` so that a loopback receiver needs no certificate.
        """
        self.platform = Platform(world, clock=clock)
        self.faults = FaultInjector(faults or MaxFaults.from_world(world))
        self._token_digest = hashlib.sha256(token.encode()).digest()
        self._limit = SlidingWindow(rate_limit, clock=monotonic)
        self._stop = threading.Event()
        self._deliverer = WebhookDeliverer(self.platform, webhook or WebhookPolicy(), self._stop)
        self._counts: Counter[str] = Counter()
        self._counts_lock = threading.Lock()
        self._bot_api = BotApi(self.platform, self.faults, allow_http_webhooks=allow_http_webhooks)
        self._control = ControlApi(self.platform, self.faults, self.stats)
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._life = threading.Lock()

    # Life cycle

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve in background threads; returns the base URL (`http://host:port`)."""
        with self._life:
            if self._server is not None:
                raise RuntimeError("the emulator is already running")
            self._stop.clear()
            self.platform.updates.reopen()
            server = _Server((host, port), _Handler)
            server.emulator = self
            self._server = server
            self._spawn(lambda: server.serve_forever(poll_interval=SHUTDOWN_POLL), "max-emulator-http")
            self._spawn(self._deliverer.run, "max-emulator-webhooks")
            return self.base_url

    def serve(self, host: str = "127.0.0.1", port: int = 0, ready: Callable[[str], None] | None = None) -> None:
        """Serve in the foreground until `stop()` or Ctrl-C; `ready` gets the base URL first."""
        url = self.start(host, port)
        if ready is not None:
            ready(url)
        try:
            self._stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self) -> None:
        with self._life:
            if self._server is None:
                return
            self._server.shutdown()
            self._stop.set()
            self.platform.updates.close()
            self.platform.subscription_changed.set()
            for thread in self._threads:
                thread.join(timeout=5)
            self._threads.clear()
            self._server.server_close()
            self._server = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # Requests

    def stats(self) -> dict[str, Any]:
        with self._counts_lock:
            counts = dict(self._counts)
        return {"counts": counts, "webhook": dict(self._deliverer.counts)}

    def handle(self, request: Request) -> Response:
        if request.path == PREFIX or request.path.startswith(PREFIX + "/"):
            return self._route(self._control.router, request)
        response = self._bot_call(request)
        with self._counts_lock:
            self._counts["requests"] += 1
            self._counts[f"status_{response.status}"] += 1
        return response

    def _bot_call(self, request: Request) -> Response:
        supplied = request.headers.get("authorization", "")
        if not hmac.compare_digest(hashlib.sha256(supplied.encode()).digest(), self._token_digest):
            return self._error(ApiError(401, "verify.token", "Invalid access_token"))
        if not self._limit.admit("bot"):
            return self._error(ApiError(429, "too.many.requests", "Too many requests"))
        fault = self.faults.before_request(f"{request.method} {request.path}")
        if fault is not None:
            with self._counts_lock:
                self._counts[f"injected_{fault}"] += 1
        if fault == "429":
            retry_after = self.faults.faults.retry_after
            response = self._error(ApiError(429, "too.many.requests", "Too many requests (injected)"))
            if retry_after is not None:
                response.headers["Retry-After"] = f"{retry_after:g}"
            return response
        if fault == "5xx":
            return self._error(ApiError(500, "internal.error", "Internal error (injected)"))
        if fault == "slow" and self._stop.wait(self.faults.faults.slow_delay):
            return self._error(ApiError(503, "service.unavailable", "The emulator is stopping"))
        return self._route(self._bot_api.router, request)

    def _route(self, router: Router, request: Request) -> Response:
        try:
            return router.dispatch(request)
        except ApiError as e:
            return self._error(e)
        except Exception:
            log.exception("emulator bug while answering %s %s", request.method, request.path)
            return self._error(ApiError(500, "internal.error", "Internal error"))

    def _error(self, e: ApiError) -> Response:
        return Response(e.status, render.error(e.code, e.message))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    emulator: MaxEmulator


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive, as the real platform allows: a client's session reuses its connection.
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle on, keep-alive clients wait 40 ms for each answer.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _serve(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self._send(Response(400, render.error("proto.payload", "bad Content-Length")), close=True)
            return
        if length > MAX_BODY:
            self._send(Response(413, render.error("payload.too.large", "request body too large")), close=True)
            return
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            self.close_connection = True  # the client went away mid-body: nobody to answer
            return
        request = Request(
            method=self.command,
            path=url.path,
            query=urllib.parse.parse_qs(url.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        self._send(self.server.emulator.handle(request))

    def _send(self, response: Response, *, close: bool = False) -> None:
        data = json.dumps(response.body, ensure_ascii=False).encode()
        self.send_response(response.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up waiting (a timeout, a stop)

    def log_message(self, format: str, *args: Any) -> None:
        # Access lines go to logging (debug), not to stderr where they would drown test output.
        log.debug("%s " + format, self.address_string(), *args)
