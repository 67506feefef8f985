"""Updates by long polling: every update type domchat uses, markers, and no loss on a crash mid-batch."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest

from domchat.emulators.max import MaxEmulator
from domchat.errors import MaxApiError
from domchat.max_client import LongPoller, MaxClient, TokenBucket, update_key
from domchat.max_client.types import Update, UpdateBatch
from domchat.settings import Secret

from .support import AUTHORITY, BOT, RESIDENTS, STAFF, TOKEN, Control, settings_for


def _drain(client: MaxClient) -> list[Update]:
    batch = client.get_updates(None)
    client.get_updates(batch.marker)  # acknowledge
    return list(batch.updates)


def test_bot_added_names_the_chat_and_who_added_it(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    (u,) = _drain(client)
    assert (u.update_type, u.chat_id) == ("bot_added", chat_id)
    assert u.user is not None and u.user.user_id == AUTHORITY
    assert u.raw["is_channel"] is False and u.timestamp > 0


def test_user_added_by_the_bot_by_an_admin_and_by_link(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    _drain(client)
    client.add_members(chat_id, [RESIDENTS[0]])
    control.post(f"/chats/{chat_id}/members", as_user=AUTHORITY, user_ids=[RESIDENTS[1]])
    control.post("/join", user_id=RESIDENTS[2], link=control.chat(chat_id)["link"])
    got = [(u.update_type, u.chat_id, u.user.user_id if u.user else None, u.inviter_id) for u in _drain(client)]
    assert got == [
        ("user_added", chat_id, RESIDENTS[0], BOT),
        ("user_added", chat_id, RESIDENTS[1], AUTHORITY),
        ("user_added", chat_id, RESIDENTS[2], None),
    ]


def test_user_removed_by_an_admin_or_leaving(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    client.add_members(chat_id, [RESIDENTS[0], RESIDENTS[1]])
    _drain(client)
    client.remove_member(chat_id, RESIDENTS[0])
    control.post(f"/chats/{chat_id}/leave", user_id=RESIDENTS[1])
    got = [(u.update_type, u.user.user_id if u.user else None, u.admin_id) for u in _drain(client)]
    assert got == [("user_removed", RESIDENTS[0], BOT), ("user_removed", RESIDENTS[1], None)]


def test_message_created_carries_the_message(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    _drain(client)
    mid = control.post(f"/chats/{chat_id}/messages", as_user=AUTHORITY, text="Код привязки: 4821-7730")["message_id"]
    (u,) = _drain(client)
    assert u.update_type == "message_created" and u.chat_id == chat_id
    assert u.message is not None
    assert (u.message.mid, u.message.text, u.message.sender_id, u.message.chat_id) == (mid, "Код привязки: 4821-7730", AUTHORITY, chat_id)


def test_the_bots_own_messages_are_not_echoed(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    _drain(client)
    client.send_message(chat_id=chat_id, text="от бота")
    assert _drain(client) == []


def test_chat_title_changed_by_a_person(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    _drain(client)
    control.post(f"/chats/{chat_id}/title", as_user=AUTHORITY, title="Переименовали")
    (u,) = _drain(client)
    assert (u.update_type, u.chat_id, u.title) == ("chat_title_changed", chat_id, "Переименовали")
    assert u.user is not None and u.user.user_id == AUTHORITY


def test_bot_started_with_a_deep_link_payload(client: MaxClient, control: Control) -> None:
    dialog = control.post("/start", user_id=STAFF[0], payload="enrol-7f3a")["chat_id"]
    (u,) = _drain(client)
    assert (u.update_type, u.chat_id, u.payload) == ("bot_started", dialog, "enrol-7f3a")
    assert u.user is not None and u.user.user_id == STAFF[0] and dialog > 0


def test_bot_removed(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    _drain(client)
    control.post(f"/chats/{chat_id}/remove", as_user=AUTHORITY, user_id=BOT)
    (u,) = _drain(client)
    assert (u.update_type, u.chat_id) == ("bot_removed", chat_id)
    assert u.user is not None and u.user.user_id == AUTHORITY


def test_no_group_events_where_the_bot_is_not_an_admin(client: MaxClient, control: Control) -> None:
    bare = control.post("/chats", as_user=AUTHORITY, title="без бота")["chat_id"]
    control.post("/join", user_id=RESIDENTS[0], link=control.chat(bare)["link"])
    control.post(f"/chats/{bare}/messages", as_user=AUTHORITY, text="никто не слышит")
    assert _drain(client) == []
    chat_id = control.new_chat()
    control.post(f"/chats/{chat_id}/admins", as_user=AUTHORITY, user_id=BOT, permissions=[])
    _drain(client)
    control.post("/join", user_id=RESIDENTS[1], link=control.chat(chat_id)["link"])
    assert _drain(client) == []


def test_an_unacknowledged_batch_comes_again(client: MaxClient, control: Control) -> None:
    control.new_chat()
    control.new_chat()
    first = client.get_updates(None)
    again = client.get_updates(None)
    assert len(first.updates) == 2 and again.updates == first.updates
    after = client.get_updates(first.marker)
    assert after.updates == () and after.marker == first.marker


def test_limit_and_types(client: MaxClient, control: Control) -> None:
    chat_id = control.new_chat()
    client.add_members(chat_id, RESIDENTS[:3])
    one = client.get_updates(None, limit=1)
    assert [u.update_type for u in one.updates] == ["bot_added"]
    rest = client.get_updates(one.marker, types=["user_added"])
    assert [u.user.user_id for u in rest.updates if u.user] == list(RESIDENTS[:3])


def test_long_poll_returns_as_soon_as_an_update_arrives(client: MaxClient, control: Control) -> None:
    poster = threading.Timer(0.2, lambda: control.post("/start", user_id=STAFF[1], payload="p"))
    started = time.monotonic()
    poster.start()
    batch = client.get_updates(None, timeout=30)
    poster.join()
    assert [u.payload for u in batch.updates] == ["p"]
    assert time.monotonic() - started < 10


def test_long_poll_with_nothing_waits_its_timeout(client: MaxClient) -> None:
    started = time.monotonic()
    assert client.get_updates(None, timeout=1).updates == ()
    assert time.monotonic() - started >= 0.9


def test_polling_is_refused_while_a_webhook_is_subscribed(client: MaxClient) -> None:
    client.subscribe("https://domchat.example/hook")
    with pytest.raises(MaxApiError) as e:
        client.get_updates(None)
    assert e.value.status == 405
    client.unsubscribe("https://domchat.example/hook")
    assert client.get_updates(None).updates == ()


def test_update_key_is_stable_and_tells_updates_apart(client: MaxClient, control: Control) -> None:
    control.new_chat()
    control.new_chat()
    a, b = client.get_updates(None).updates
    (a_again, _) = client.get_updates(None).updates
    assert update_key(a) == update_key(a_again) != update_key(b)


class Store:
    """An update store that deduplicates, and can be made to fail once (a crash mid-batch)."""

    def __init__(self) -> None:
        self.keys: dict[str, Update] = {}
        self.marker: int | None = None
        self.fail_next = False
        self.stored = threading.Event()

    def store(self, updates: Sequence[Update], marker: int | None) -> None:
        """One transaction: the updates and the marker that acknowledges them, or neither."""
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("stopped mid-batch")
        for u in updates:
            self.keys.setdefault(update_key(u), u)
        if marker is not None:
            self.marker = marker
        self.stored.set()

    def poller(self, client: MaxClient, retry_wait: float = 5.0) -> LongPoller:
        return LongPoller(client, store=self.store, load_marker=lambda: self.marker, timeout=0, retry_wait=retry_wait)


def test_a_crash_mid_batch_loses_nothing(client: MaxClient, control: Control) -> None:
    store = Store()
    first = control.new_chat()
    assert store.poller(client).poll_once() == 1
    saved = store.marker
    client.add_members(first, RESIDENTS[:5])
    store.fail_next = True
    with pytest.raises(RuntimeError):
        store.poller(client).poll_once()
    assert store.marker == saved  # the marker did not move past what was not stored
    restarted = store.poller(client)
    assert restarted.poll_once() == 5
    assert restarted.poll_once() == 0
    assert sorted(u.user.user_id for u in store.keys.values() if u.update_type == "user_added" and u.user) == list(RESIDENTS[:5])
    assert len(store.keys) == 6


def test_the_poll_loop_runs_until_stopped_and_waits_out_an_outage(emulator: MaxEmulator, control: Control) -> None:
    client = MaxClient(settings_for(emulator.base_url, retries=0), Secret(TOKEN), limiter=TokenBucket(1000))
    store = Store()
    control.post("/faults/arm", kind="5xx", count=3)
    control.new_chat()
    stop = threading.Event()
    loop = threading.Thread(target=store.poller(client, retry_wait=0.01).run, args=(stop,))
    loop.start()
    assert store.stored.wait(10)
    stop.set()
    loop.join(timeout=10)
    assert not loop.is_alive()
    assert [u.update_type for u in store.keys.values()] == ["bot_added"]
    assert control.get("/stats")["counts"]["injected_5xx"] == 3


class ScriptedPlatform:
    """Answers `get_updates` from a script and records the markers it was sent."""

    def __init__(self, *answers: UpdateBatch) -> None:
        self.answers = list(answers)
        self.sent: list[int | None] = []

    def get_updates(self, marker: int | None = None, *, limit: int = 100, timeout: int = 0, types: object = None) -> UpdateBatch:
        self.sent.append(marker)
        return self.answers.pop(0)


def test_a_null_marker_from_the_platform_does_not_send_the_poller_back(control: Control) -> None:
    platform = ScriptedPlatform(UpdateBatch((), None), UpdateBatch((), 9))
    stored: list[tuple[int, int | None]] = []
    poller = LongPoller(platform, store=lambda ups, m: stored.append((len(ups), m)), load_marker=lambda: 5, timeout=0)
    poller.poll_once()
    poller.poll_once()
    assert platform.sent == [5, 5]
    assert stored == [(0, 9)]  # nothing stored for the empty batch; the moved marker is


def test_short_polls_that_find_nothing_wait_between_tries(client: MaxClient) -> None:
    class Counting:
        def __init__(self) -> None:
            self.calls = 0

        def get_updates(self, marker: int | None = None, *, limit: int = 100, timeout: int = 0, types: object = None) -> UpdateBatch:
            self.calls += 1
            return client.get_updates(marker, limit=limit, timeout=timeout)

    source, stop = Counting(), threading.Event()
    poller = LongPoller(source, store=lambda ups, m: None, load_marker=lambda: None, timeout=0, idle_wait=30)
    loop = threading.Thread(target=poller.run, args=(stop,))
    loop.start()
    loop.join(timeout=0.3)
    stop.set()
    loop.join(timeout=10)
    assert source.calls == 1 and not loop.is_alive()
