"""`receive_updates`: what `domchat updates --mode poll|webhook` runs."""

from __future__ import annotations

import socket
import threading
from collections.abc import Sequence

import pytest

from domchat.emulators.max import MaxEmulator
from domchat.errors import ConfigError, MaxError
from domchat.max_client import MaxClient, receive_updates
from domchat.max_client.types import Update
from domchat.settings import MaxSettings, Secret

from .support import RESIDENTS, Control, settings_for

SECRET = Secret("hook-secret-1")


class Inbox:
    def __init__(self, want: int) -> None:
        self.updates: list[Update] = []
        self.marker: int | None = None
        self.want = want
        self.full = threading.Event()

    def store(self, updates: Sequence[Update], marker: int | None) -> None:
        self.updates.extend(updates)
        if marker is not None:
            self.marker = marker
        if len(self.updates) >= self.want:
            self.full.set()


def _run(
    mode: str, client: MaxClient, settings: MaxSettings, inbox: Inbox, stop: threading.Event, secret: Secret | None = None
) -> tuple[threading.Thread, list[str]]:
    told: list[str] = []
    thread = threading.Thread(
        target=receive_updates,
        args=(mode, client, settings),
        kwargs={
            "store": inbox.store,
            "load_marker": lambda: inbox.marker,
            "stop": stop,
            "webhook_secret": secret,
            "ready": told.append,
        },
    )
    thread.start()
    return thread, told


def _once(mode: str, client: MaxClient, settings: MaxSettings) -> None:
    """A run that must refuse before receiving anything."""
    receive_updates(mode, client, settings, store=lambda updates, marker: None, load_marker=lambda: None, stop=threading.Event())


def test_poll_mode_stores_updates_and_moves_the_marker(emulator: MaxEmulator, client: MaxClient, control: Control) -> None:
    inbox, stop = Inbox(want=2), threading.Event()
    control.new_chat()
    control.post("/start", user_id=RESIDENTS[0], payload="p")
    thread, told = _run("poll", client, settings_for(emulator.base_url, poll_timeout=1), inbox, stop)
    assert inbox.full.wait(10)
    stop.set()
    thread.join(timeout=10)
    assert [u.update_type for u in inbox.updates] == ["bot_added", "bot_started"]
    assert inbox.marker is not None and told == [f"long polling {emulator.base_url}"]


def test_poll_mode_refuses_while_a_webhook_is_subscribed(emulator: MaxEmulator, client: MaxClient) -> None:
    client.subscribe("https://domchat.example/hook")
    with pytest.raises(MaxError, match=r"domchat\.example/hook"):
        _once("poll", client, settings_for(emulator.base_url))


def test_webhook_mode_listens_then_subscribes(emulator: MaxEmulator, client: MaxClient, control: Control) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/max/webhook"
    settings = settings_for(emulator.base_url, webhook_port=port, webhook_url=url, update_types=["user_added"])
    inbox, stop = Inbox(want=1), threading.Event()
    thread, told = _run("webhook", client, settings, inbox, stop, SECRET)
    try:
        chat_id = control.new_chat()
        control.post("/join", user_id=RESIDENTS[0], link=control.chat(chat_id)["link"])
        assert inbox.full.wait(10)
    finally:
        stop.set()
        thread.join(timeout=10)
    ((sub,),) = [client.subscriptions()]
    assert sub.url == url and sub.update_types == ("user_added",)
    assert [u.update_type for u in inbox.updates] == ["user_added"]
    assert told == [f"webhook receiver on {url}"]


def test_webhook_mode_needs_a_secret(emulator: MaxEmulator, client: MaxClient) -> None:
    with pytest.raises(ConfigError, match="webhook_secret_file"):
        _once("webhook", client, settings_for(emulator.base_url))


def test_an_unknown_mode_is_refused(emulator: MaxEmulator, client: MaxClient) -> None:
    with pytest.raises(ValueError, match="poll, webhook"):
        _once("carrier-pigeon", client, settings_for(emulator.base_url))
