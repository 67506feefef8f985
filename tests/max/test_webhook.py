"""Updates by webhook: the receiver's checks, store-then-acknowledge, and redelivery after a stop."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import requests

from domchat.emulators.max import MaxEmulator, WebhookPolicy
from domchat.errors import MaxApiError
from domchat.max_client import MaxClient, TokenBucket, WebhookReceiver, update_key
from domchat.max_client.types import Update
from domchat.settings import Secret

from .support import AUTHORITY, RESIDENTS, TOKEN, Control, Ticker, settings_for

SECRET = "hook-secret_42"
UPDATE = {"update_type": "bot_started", "timestamp": 1, "chat_id": 5, "user": {"user_id": 7, "first_name": "A"}, "payload": "x"}


class Sink:
    """Stores updates (deduplicated, in arrival order); can fail or block on demand."""

    def __init__(self) -> None:
        self.updates: list[Update] = []
        self._keys: set[str] = set()
        self._cond = threading.Condition()
        self.failures = 0
        self.gate: threading.Event | None = None

    def store(self, updates: Sequence[Update], marker: int | None) -> None:
        if self.gate is not None:
            self.gate.wait()
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the database went away")
        assert marker is None  # webhook deliveries carry no polling marker
        with self._cond:
            for u in updates:
                if update_key(u) not in self._keys:
                    self._keys.add(update_key(u))
                    self.updates.append(u)
            self._cond.notify_all()

    def wait_for(self, n: int, timeout: float = 10) -> list[Update]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.updates) >= n, timeout), f"got {len(self.updates)} of {n} updates"
            return list(self.updates)


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture
def receiver(sink: Sink) -> Iterator[WebhookReceiver]:
    r = WebhookReceiver(secret=Secret(SECRET), store=sink.store, path="/max/webhook", answer_within=2.0)
    yield r
    r.stop()


def _post(url: str, body: Any, secret: str | None = SECRET) -> requests.Response:
    headers = {"X-Max-Bot-Api-Secret": secret} if secret is not None else {}
    return requests.post(url, json=body, headers=headers, timeout=10)


# The receiver on its own


@pytest.mark.parametrize("secret", [None, "", "hook-secret_43", SECRET.upper()])
def test_requests_without_the_right_secret_are_refused(receiver: WebhookReceiver, sink: Sink, secret: str | None) -> None:
    answer = _post(receiver.start(), UPDATE, secret)
    assert answer.status_code == 401
    assert sink.updates == []


def test_a_receiver_needs_a_secret(sink: Sink) -> None:
    with pytest.raises(ValueError, match="secret"):
        WebhookReceiver(secret=Secret(""), store=sink.store)


def test_an_update_is_stored_before_the_answer(receiver: WebhookReceiver, sink: Sink) -> None:
    url = receiver.start()
    sink.gate = threading.Event()
    answers: list[int] = []
    poster = threading.Thread(target=lambda: answers.append(_post(url, UPDATE).status_code))
    poster.start()
    poster.join(timeout=0.3)
    assert poster.is_alive() and answers == []  # no answer while the store has not returned
    sink.gate.set()
    poster.join(timeout=10)
    assert answers == [200]
    (u,) = sink.updates
    assert (u.update_type, u.chat_id, u.payload, u.user.user_id if u.user else None) == ("bot_started", 5, "x", 7)


def test_a_failed_store_answers_500(receiver: WebhookReceiver, sink: Sink) -> None:
    sink.failures = 1
    url = receiver.start()
    assert _post(url, UPDATE).status_code == 500
    assert _post(url, UPDATE).status_code == 200
    assert len(sink.updates) == 1


def test_a_store_slower_than_the_platform_waits_answers_503(sink: Sink) -> None:
    receiver = WebhookReceiver(secret=Secret(SECRET), store=sink.store, path="/h", answer_within=0.2)
    url = receiver.start()
    sink.gate = threading.Event()
    try:
        assert _post(url, UPDATE).status_code == 503
    finally:
        sink.gate.set()
        receiver.stop()
    # The store finished after all: a redelivery will be deduplicated.
    assert len(sink.updates) == 1


def test_a_batch_body_is_accepted(receiver: WebhookReceiver, sink: Sink) -> None:
    second = {**UPDATE, "timestamp": 2}
    assert _post(receiver.start(), {"updates": [UPDATE, second], "marker": 3}).status_code == 200
    assert [u.timestamp for u in sink.updates] == [1, 2]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/elsewhere", UPDATE, 404),
        ("GET", "/max/webhook", None, 405),
        ("POST", "/max/webhook", [1, 2], 400),
        ("POST", "/max/webhook", {"user_id": 5}, 400),
        ("POST", "/max/webhook", {"update_type": "bot_started"}, 200),
    ],
)
def test_what_is_not_an_update_is_refused(receiver: WebhookReceiver, method: str, path: str, body: Any, status: int) -> None:
    base = receiver.start().removesuffix("/max/webhook")
    answer = requests.request(method, base + path, json=body, headers={"X-Max-Bot-Api-Secret": SECRET}, timeout=10)
    assert answer.status_code == status


def test_an_oversized_body_is_refused(sink: Sink) -> None:
    receiver = WebhookReceiver(secret=Secret(SECRET), store=sink.store, max_body=100)
    try:
        assert _post(receiver.start(), {**UPDATE, "payload": "x" * 200}).status_code == 413
    finally:
        receiver.stop()


# Emulator → receiver


@pytest.fixture
def pushing(world: dict[str, Any]) -> Iterator[MaxEmulator]:
    policy = WebhookPolicy(first_retry=0.02, factor=1.5, max_retries=8, timeout=5)
    emu = MaxEmulator(world, TOKEN, rate_limit=100_000, webhook=policy, clock=Ticker(1.8e9))
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def bot(pushing: MaxEmulator) -> Iterator[MaxClient]:
    c = MaxClient(settings_for(pushing.base_url), Secret(TOKEN), limiter=TokenBucket(100_000))
    yield c
    c.close()


def test_the_platform_pushes_every_update_in_order(pushing: MaxEmulator, bot: MaxClient, receiver: WebhookReceiver, sink: Sink) -> None:
    control = Control(pushing.base_url)
    bot.subscribe(receiver.start(), secret=Secret(SECRET))
    chat_id = control.new_chat()
    bot.add_members(chat_id, [RESIDENTS[0]])
    control.post(f"/chats/{chat_id}/messages", as_user=AUTHORITY, text="код 1234")
    got = sink.wait_for(3)
    assert [u.update_type for u in got] == ["bot_added", "user_added", "message_created"]


def test_the_subscription_filters_update_types(pushing: MaxEmulator, bot: MaxClient, receiver: WebhookReceiver, sink: Sink) -> None:
    control = Control(pushing.base_url)
    bot.subscribe(receiver.start(), update_types=["message_created"], secret=Secret(SECRET))
    chat_id = control.new_chat()
    control.post(f"/chats/{chat_id}/messages", as_user=AUTHORITY, text="только это")
    (u,) = sink.wait_for(1)
    assert u.update_type == "message_created"


def test_a_stop_mid_batch_loses_nothing(pushing: MaxEmulator, bot: MaxClient, sink: Sink) -> None:
    control = Control(pushing.base_url)
    first = WebhookReceiver(secret=Secret(SECRET), store=sink.store, path="/hook")
    url = first.start()
    bot.subscribe(url, secret=Secret(SECRET))
    sink.failures = 1  # domchat goes down while storing the first update
    chat_id = control.new_chat()
    for uid in RESIDENTS[:4]:
        control.post("/join", user_id=uid, link=control.chat(chat_id)["link"])
    first.stop()
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    second = WebhookReceiver(secret=Secret(SECRET), store=sink.store, path="/hook")
    second.start(port=port)
    try:
        got = sink.wait_for(5)
    finally:
        second.stop()
    assert [u.update_type for u in got] == ["bot_added"] + ["user_added"] * 4
    assert [u.user.user_id for u in got[1:] if u.user] == list(RESIDENTS[:4])
    assert control.get("/stats")["webhook"]["failed"] >= 1


def test_the_platform_gives_up_on_a_dead_webhook_and_keeps_the_update(pushing: MaxEmulator, bot: MaxClient, sink: Sink) -> None:
    control = Control(pushing.base_url)
    dead = WebhookReceiver(secret=Secret(SECRET), store=sink.store, path="/hook")
    url = dead.start()
    dead.stop()
    bot.subscribe(url, secret=Secret(SECRET))
    control.new_chat()
    done = threading.Event()

    def unsubscribed() -> None:
        while not done.is_set() and bot.subscriptions():
            done.wait(0.02)
        done.set()

    watcher = threading.Thread(target=unsubscribed)
    watcher.start()
    watcher.join(timeout=10)
    assert done.is_set() and bot.subscriptions() == []
    assert [u.update_type for u in bot.get_updates(None).updates] == ["bot_added"]


def test_subscribing_checks_the_secret_and_the_scheme(world: dict[str, Any]) -> None:
    emu = MaxEmulator(world, TOKEN, allow_http_webhooks=False)
    emu.start()
    try:
        c = MaxClient(settings_for(emu.base_url), Secret(TOKEN), limiter=TokenBucket(1000))
        with pytest.raises(MaxApiError) as e:
            c.subscribe("http://127.0.0.1:8443/hook", secret=Secret(SECRET))
        assert e.value.code == "success.false" and "https" in str(e.value)
        with pytest.raises(MaxApiError) as e:
            c.subscribe("https://domchat.example/hook", secret=Secret("bad secret!"))
        assert e.value.status == 400
    finally:
        emu.stop()


# Hostile peers, over raw loopback sockets


def _hostile(sink: Sink, **kw: Any) -> WebhookReceiver:
    return WebhookReceiver(secret=Secret(SECRET), store=sink.store, path="/h", **kw)


def _connect(url: str) -> socket.socket:
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def _exchange(url: str, head: str, body: bytes = b"") -> tuple[int, bytes]:
    """Send raw request bytes; the status and whatever came back before the server closed."""
    with _connect(url) as conn:
        conn.sendall(head.encode() + body)
        got = b""
        while chunk := conn.recv(65536):
            got += chunk
    return int(got.split(b" ", 2)[1]), got


def _closed_by_server(conn: socket.socket) -> bytes:
    """Wait (at most 10 s) until the server closes `conn`; what it sent first."""
    got = b""
    while chunk := conn.recv(65536):
        got += chunk
    return got


@pytest.fixture
def hostile(sink: Sink) -> Iterator[WebhookReceiver]:
    r = _hostile(sink, max_body=1 << 20, read_timeout=0.5, request_deadline=1.0, max_connections=8)
    yield r
    r.stop()


@pytest.mark.parametrize(
    ("length_header", "status"),
    [
        ("Content-Length: -1\r\n", 400),
        ("Content-Length: +5\r\n", 400),
        ("Content-Length: 1e3\r\n", 400),
        ("", 411),
        ("Transfer-Encoding: chunked\r\n", 411),
        (f"Content-Length: {200 << 20}\r\n", 413),
    ],
)
def test_a_body_without_a_sound_length_is_refused_unread(hostile: WebhookReceiver, sink: Sink, length_header: str, status: int) -> None:
    url = hostile.start()
    head = f"POST /h HTTP/1.1\r\nHost: x\r\nX-Max-Bot-Api-Secret: {SECRET}\r\n{length_header}\r\n"
    # The body that follows is never read: the answer comes after the headers alone.
    code, answer = _exchange(url, head)
    assert code == status and b"Connection: close" in answer
    assert sink.updates == []


@pytest.mark.parametrize(("depth", "status"), [(100_000, 400), (65, 400), (60, 200)])
def test_deeply_nested_json_is_answered_400(hostile: WebhookReceiver, sink: Sink, depth: int, status: int) -> None:
    url = hostile.start()
    nested = "[" * depth + "]" * depth
    body = json.dumps({**UPDATE, "extra": "@"}).replace('"@"', nested).encode()
    head = f"POST /h HTTP/1.1\r\nHost: x\r\nX-Max-Bot-Api-Secret: {SECRET}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    code, answer = _exchange(url, head, body)
    assert code == status
    if status == 400:
        assert b"nested deeper than 64" in answer and sink.updates == []


def test_half_open_connections_are_bounded_and_dropped(hostile: WebhookReceiver, sink: Sink) -> None:
    url = hostile.start()
    silent = [_connect(url) for _ in range(8)]  # as many as the receiver serves, none sending a byte
    try:
        # One more is answered 503 at once, with no thread spent on it.
        extra = _connect(url)
        got = _closed_by_server(extra)
        assert got.startswith(b"HTTP/1.1 503"), got
        extra.close()
        # Each silent connection is closed by the server (read timeout), without an answer.
        assert [_closed_by_server(c) for c in silent] == [b""] * 8
    finally:
        for c in silent:
            c.close()
    assert _post(url, UPDATE).status_code == 200
    assert len(sink.updates) == 1


def test_a_slow_drip_is_cut_off_at_the_request_deadline(hostile: WebhookReceiver, sink: Sink) -> None:
    url = hostile.start()
    request = f"POST /h HTTP/1.1\r\nHost: x\r\nX-Max-Bot-Api-Secret: {SECRET}\r\nX-Padding: {'a' * 4000}\r\n".encode()
    with _connect(url) as conn:
        conn.settimeout(0.2)
        cut = False
        for byte in request:  # each byte well within the read timeout; the whole never within the deadline
            try:
                conn.send(bytes([byte]))
                if conn.recv(1) == b"":
                    cut = True
                    break
            except TimeoutError:
                continue
            except OSError:
                cut = True
                break
        assert cut, "the server kept a drip-fed request open for 800 s"
    assert sink.updates == []
