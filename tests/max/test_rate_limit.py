"""Rate limiting and retries: no 429 in a correct run, recovery from injected 429s and 5xx."""

from __future__ import annotations

import email.utils
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from domchat.emulators.max import MaxEmulator, MaxFaults
from domchat.errors import MaxUnavailable
from domchat.max_client import (
    MaxClient,
    TokenBucket,
    client_rate,
    reserve,
    shared_limiter,
)
from domchat.max_client.transport import _retry_after
from domchat.settings import MaxSettings, Secret

from .support import TOKEN, Control, settings_for


class FakeTime:
    """A clock whose `sleep` only moves it on."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class RecordingLimiter:
    def __init__(self) -> None:
        self.acquired = 0
        self.pauses: list[float] = []

    def acquire(self) -> None:
        self.acquired += 1

    def pause(self, seconds: float) -> None:
        self.pauses.append(seconds)


# The token bucket


def test_bucket_spaces_requests_at_its_rate() -> None:
    t = FakeTime()
    bucket = TokenBucket(10, clock=t.clock, sleep=t.sleep)
    for _ in range(5):
        bucket.acquire()
    assert t.sleeps == pytest.approx([0.1, 0.1, 0.1, 0.1])
    assert t.now == pytest.approx(1000.4)


def test_bucket_allows_its_burst_then_the_rate() -> None:
    t = FakeTime()
    bucket = TokenBucket(10, burst=3, clock=t.clock, sleep=t.sleep)
    for _ in range(5):
        bucket.acquire()
    assert t.sleeps == pytest.approx([0.1, 0.1])


def test_bucket_never_lets_more_than_rate_plus_burst_through_any_second() -> None:
    t = FakeTime()
    bucket = TokenBucket(27, burst=1, clock=t.clock, sleep=t.sleep)
    sent = []
    for _ in range(200):
        bucket.acquire()
        sent.append(t.now)
    worst = max(sum(1 for s in sent if start <= s < start + 1.0) for start in sent)
    assert worst <= 28


def test_bucket_does_not_save_up_while_idle() -> None:
    t = FakeTime()
    bucket = TokenBucket(10, clock=t.clock, sleep=t.sleep)
    bucket.acquire()
    t.now += 60
    bucket.acquire()
    bucket.acquire()
    assert t.sleeps == pytest.approx([0.1])


@pytest.mark.parametrize(
    ("tat", "now", "burst", "expected"),
    [
        (0.0, 10.0, 1, (10.0, 10.5)),  # idle: go now
        (10.5, 10.0, 1, (10.5, 11.0)),  # busy: wait for the slot
        (11.0, 10.0, 3, (10.0, 11.5)),  # within the burst: go now
        (12.0, 10.0, 3, (11.0, 12.5)),  # burst spent: wait
    ],
)
def test_reserve_is_the_gcra_step(tat: float, now: float, burst: int, expected: tuple[float, float]) -> None:
    assert reserve(tat, now, 2.0, burst) == expected


def test_pause_holds_the_next_request() -> None:
    t = FakeTime()
    bucket = TokenBucket(10, clock=t.clock, sleep=t.sleep)
    bucket.pause(2.5)
    bucket.acquire()
    assert t.sleeps == pytest.approx([2.5])


def test_one_bucket_per_token_in_the_process() -> None:
    a = shared_limiter(Secret("token-shared-a"), 27)
    assert shared_limiter(Secret("token-shared-a"), 5) is a
    assert shared_limiter(Secret("token-shared-b"), 27) is not a


def test_a_client_without_a_limiter_uses_the_process_wide_bucket(emulator: MaxEmulator) -> None:
    shared_limiter(Secret(TOKEN), 1000).pause(0.3)
    c = MaxClient(settings_for(emulator.base_url), Secret(TOKEN))
    started = time.monotonic()
    c.me()
    assert time.monotonic() - started >= 0.3
    c.close()


def test_client_rate_keeps_headroom_and_applies_the_share() -> None:
    assert client_rate(MaxSettings()) == pytest.approx(27.0)
    assert client_rate(MaxSettings(rate_limit=30, rate_share=0.5)) == pytest.approx(13.5)


# Against an emulator enforcing the real 30 requests per second


@pytest.fixture
def strict(world: dict[str, Any]) -> Iterator[MaxEmulator]:
    emu = MaxEmulator(world, TOKEN, rate_limit=30)
    emu.start()
    yield emu
    emu.stop()


def test_a_correct_burst_of_90_calls_from_3_threads_meets_no_429(strict: MaxEmulator) -> None:
    settings = settings_for(strict.base_url, retries=0)
    # What MaxClient uses by default, but fresh: the process-wide one may carry other tests' debt.
    limiter = TokenBucket(client_rate(settings))
    clients = [MaxClient(settings, Secret(TOKEN), limiter=limiter) for _ in range(3)]

    def burst(c: MaxClient) -> int:
        return sum(c.me().user_id for _ in range(30))

    with ThreadPoolExecutor(max_workers=3) as pool:
        # result() re-raises whatever a thread met: a 429 fails this test as MaxUnavailable.
        assert [f.result() for f in [pool.submit(burst, c) for c in clients]] == [30, 30, 30]
    counts = Control(strict.base_url).get("/stats")["counts"]
    assert counts["requests"] == 90 and counts.get("status_429", 0) == 0


def test_the_emulator_answers_429_beyond_30_in_a_second(world: dict[str, Any]) -> None:
    t = FakeTime()
    emu = MaxEmulator(world, TOKEN, rate_limit=30, monotonic=t.clock)
    url = emu.start()
    try:
        http = requests.Session()
        statuses = [http.get(url + "/me", headers={"Authorization": TOKEN}).status_code for _ in range(31)]
        assert statuses == [200] * 30 + [429]
        answer = http.get(url + "/me", headers={"Authorization": TOKEN})
        assert answer.json() == {"code": "too.many.requests", "message": "Too many requests"}
        t.now += 1.0
        assert http.get(url + "/me", headers={"Authorization": TOKEN}).status_code == 200
    finally:
        emu.stop()


def test_without_the_limiter_the_same_burst_does_meet_429(world: dict[str, Any]) -> None:
    # The control for the test above: it can fail, and this is how.
    t = FakeTime()
    emu = MaxEmulator(world, TOKEN, rate_limit=30, monotonic=t.clock)
    emu.start()
    try:
        c = MaxClient(settings_for(emu.base_url, retries=0), Secret(TOKEN), limiter=RecordingLimiter())
        for _ in range(30):
            c.me()
        with pytest.raises(MaxUnavailable, match="429"):
            c.me()
    finally:
        emu.stop()


# Retries


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def _client(emulator: MaxEmulator, fake: FakeTime, limiter: RecordingLimiter, **settings: Any) -> MaxClient:
    return MaxClient(settings_for(emulator.base_url, **settings), Secret(TOKEN), limiter=limiter, sleep=fake.sleep)


def test_injected_429_burst_is_waited_out_honouring_retry_after(emulator: MaxEmulator, control: Control, fake: FakeTime) -> None:
    control.call("PUT", "/faults", retry_after=2)
    control.post("/faults/arm", kind="429", count=2)
    limiter = RecordingLimiter()
    me = _client(emulator, fake, limiter).me()
    assert me.user_id == 1
    assert fake.sleeps == [2.0, 2.0]
    # Every sender holds, not only the one that met the 429.
    assert limiter.pauses == [2.0, 2.0] and limiter.acquired == 3


def test_429_without_retry_after_backs_off_exponentially(emulator: MaxEmulator, control: Control, fake: FakeTime) -> None:
    control.post("/faults/arm", kind="429", count=3)
    _client(emulator, fake, RecordingLimiter(), backoff=1.0, backoff_max=100.0).me()
    assert len(fake.sleeps) == 3
    for n, slept in enumerate(fake.sleeps):
        assert 2**n / 2 <= slept <= 2**n  # half fixed, half jitter


@pytest.mark.parametrize(("header", "seconds"), [("2", 2.0), ("0.5", 0.5), ("-3", 0.0), ("soon", None)])
def test_retry_after_in_seconds(header: str, seconds: float | None) -> None:
    answer = requests.Response()
    answer.headers["Retry-After"] = header
    assert _retry_after(answer) == seconds


def test_retry_after_as_an_http_date() -> None:
    answer = requests.Response()
    answer.headers["Retry-After"] = email.utils.formatdate(time.time() + 100, usegmt=True)
    waited = _retry_after(answer)
    assert waited is not None and 98 <= waited <= 100


def test_5xx_is_retried_for_calls_safe_to_repeat(emulator: MaxEmulator, control: Control, fake: FakeTime) -> None:
    chat_id = control.new_chat()
    control.post("/faults/arm", kind="5xx", count=2)
    limiter = RecordingLimiter()
    assert _client(emulator, fake, limiter).get_chat(chat_id).chat_id == chat_id
    assert limiter.acquired == 3 and len(fake.sleeps) == 2 and limiter.pauses == []


def test_5xx_beyond_the_retries_is_unavailable(emulator: MaxEmulator, control: Control, fake: FakeTime) -> None:
    control.post("/faults/arm", kind="5xx", count=10)
    with pytest.raises(MaxUnavailable, match=r"HTTP 500 \(after 4 attempt"):
        _client(emulator, fake, RecordingLimiter(), retries=3).me()


def test_send_message_is_not_repeated_after_a_5xx(emulator: MaxEmulator, control: Control, fake: FakeTime) -> None:
    chat_id = control.new_chat()
    control.post("/faults/arm", kind="5xx", count=1)
    limiter = RecordingLimiter()
    with pytest.raises(MaxUnavailable, match="may have taken effect"):
        _client(emulator, fake, limiter).send_message(chat_id=chat_id, text="once")
    assert limiter.acquired == 1


def test_send_message_is_repeated_after_a_429(emulator: MaxEmulator, control: Control, fake: FakeTime) -> None:
    chat_id = control.new_chat()
    control.post("/faults/arm", kind="429", count=1)
    sent = _client(emulator, fake, RecordingLimiter()).send_message(chat_id=chat_id, text="once")
    assert [m["message_id"] for m in control.chat(chat_id)["messages"]] == [sent.mid]


def test_refused_connection_is_retried_even_for_send(fake: FakeTime) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    limiter = RecordingLimiter()
    c = MaxClient(settings_for(f"http://127.0.0.1:{port}", retries=2), Secret(TOKEN), limiter=limiter, sleep=fake.sleep)
    with pytest.raises(MaxUnavailable, match="no answer") as e:
        c.send_message(chat_id=-1, text="x")
    assert limiter.acquired == 3 and "may have taken effect" not in str(e.value)


def test_slow_answer_times_out_and_is_retried(emulator: MaxEmulator, control: Control, fake: FakeTime) -> None:
    control.call("PUT", "/faults", slow_delay=30)
    control.post("/faults/arm", kind="slow", count=1)
    limiter = RecordingLimiter()
    assert _client(emulator, fake, limiter, timeout=0.2).me().user_id == 1
    assert limiter.acquired == 2


def test_shares_of_faults_are_injected_reproducibly(world: dict[str, Any]) -> None:
    def run() -> list[int]:
        emu = MaxEmulator(world, TOKEN, rate_limit=100_000, faults=MaxFaults(share_5xx=0.3, seed=11))
        url = emu.start()
        try:
            http = requests.Session()
            return [http.get(url + "/me", headers={"Authorization": TOKEN}).status_code for _ in range(40)]
        finally:
            emu.stop()

    first = run()
    assert first == run()
    assert 4 <= first.count(500) <= 20 and first.count(200) + first.count(500) == 40


def test_429_bursts_come_every_n_requests(world: dict[str, Any]) -> None:
    emu = MaxEmulator(world, TOKEN, rate_limit=100_000, faults=MaxFaults(burst_429_every=5, burst_429_length=2, retry_after=1))
    url = emu.start()
    try:
        http = requests.Session()
        answers = [http.get(url + "/me", headers={"Authorization": TOKEN}) for _ in range(12)]
        assert [a.status_code for a in answers] == [200] * 4 + [429, 429] + [200] * 3 + [429, 429, 200]
        assert answers[4].headers["Retry-After"] == "1"
    finally:
        emu.stop()


def test_a_client_survives_a_faulty_platform(world: dict[str, Any], fake: FakeTime) -> None:
    faults = MaxFaults(share_5xx=0.2, burst_429_every=7, burst_429_length=2, seed=3)
    emu = MaxEmulator(world, TOKEN, rate_limit=100_000, faults=faults)
    emu.start()
    try:
        c = _client(emu, fake, RecordingLimiter(), retries=8)
        assert all(c.me().user_id == 1 for _ in range(30))
        assert fake.sleeps  # it did meet faults on the way
    finally:
        emu.stop()


def test_a_fault_armed_for_one_route_hits_that_route_only(emulator: MaxEmulator, control: Control, fake: FakeTime) -> None:
    chat_id = control.new_chat()
    control.post("/faults/arm", kind="5xx", count=1, route="POST /messages")
    client = _client(emulator, fake, RecordingLimiter())
    assert client.get_chat(chat_id).chat_id == chat_id and fake.sleeps == []  # not the armed route: answered at once
    with pytest.raises(MaxUnavailable, match="HTTP 500"):
        client.send_message(chat_id=chat_id, text="refused")
    assert client.send_message(chat_id=chat_id, text="sent").text == "sent"  # the armed count is spent
