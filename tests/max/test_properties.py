"""Properties over many generated cases: the bucket's bound, and markers that lose nothing."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from domchat.emulators.max.updates import UpdateQueue
from domchat.max_client import TokenBucket


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@settings(max_examples=200, deadline=None)
@given(
    rate=st.floats(1, 100),
    burst=st.integers(1, 5),
    gaps=st.lists(st.floats(0, 0.5), min_size=1, max_size=300),
)
def test_no_window_of_a_second_holds_more_than_rate_plus_burst(rate: float, burst: int, gaps: list[float]) -> None:
    t = FakeTime()
    bucket = TokenBucket(rate, burst=burst, clock=t.clock, sleep=t.sleep)
    sent: list[float] = []
    for gap in gaps:
        t.now += gap  # callers arrive whenever they like
        wanted = t.now
        bucket.acquire()
        assert t.now >= wanted
        sent.append(t.now)
    assert sent == sorted(sent)
    j = 0
    for i in range(len(sent)):
        while sent[i] - sent[j] >= 1.0:
            j += 1
        assert i - j + 1 <= burst + rate + 1e-9


# Each step: ("push", n) | ("poll", limit) stores and advances | ("crash", limit) fetches but stores nothing.
steps = st.lists(
    st.one_of(
        st.tuples(st.just("push"), st.integers(1, 5)),
        st.tuples(st.just("poll"), st.integers(1, 4)),
        st.tuples(st.just("crash"), st.integers(1, 4)),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(steps=steps)
def test_a_reader_that_stores_before_moving_its_marker_gets_everything_once_in_order(steps: list[tuple[str, int]]) -> None:
    queue = UpdateQueue()
    pushed = 0
    stored: list[int] = []
    marker: int | None = None
    for kind, n in steps:
        if kind == "push":
            for _ in range(n):
                queue.push({"update_type": "user_added", "timestamp": pushed})
                pushed += 1
        else:
            batch, next_marker = queue.poll(marker, limit=n, timeout=0, types=None)
            if kind == "poll":
                stored.extend(u["timestamp"] for u in batch)
                marker = next_marker
    while True:  # drain
        batch, marker = queue.poll(marker, limit=1000, timeout=0, types=None)
        if not batch:
            break
        stored.extend(u["timestamp"] for u in batch)
    assert stored == list(range(pushed))
