"""`domchat updates`: MAX updates stored in the database as they come, both ways."""

from __future__ import annotations

import json
import socket
import threading
import time

import requests
from sqlmodel import Session, select

from domchat import app as app_mod
from domchat.storage import repo
from domchat.storage.tables import UpdateRow
from domchat.sync import updates
from support.stage import Stage


def _stored(stage: Stage) -> list[UpdateRow]:
    with Session(stage.app().db) as s:
        return list(s.exec(select(UpdateRow)))


def _wait_for(cond: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_poll_mode_stores_updates_and_their_marker(stage: Stage) -> None:
    stage.config.write_text(stage.config.read_text().replace("backoff = 0.05", "backoff = 0.05\npoll_timeout = 1"), encoding="utf-8")
    stage.sync()
    stop = threading.Event()
    seen: list[str] = []
    t = threading.Thread(target=app_mod.receive_updates, args=(stage.app(), "poll", stop, seen.append))
    t.start()
    try:
        stage.act("POST", "/users", user_id=77001, first_name="Кто-то")
        stage.act("POST", "/start", user_id=77001, payload="hello")
        _wait_for(lambda: any(r.update_type == "bot_started" for r in _stored(stage)))
    finally:
        stop.set()
        t.join(timeout=30)
    assert not t.is_alive()
    assert seen and seen[0].startswith("long polling")
    with Session(stage.app().db) as s:
        assert repo.get_bookmark(s, updates.MARKER) is not None
    # The next cycle handles what the receiver stored (an unknown payload: nothing to do).
    report = stage.sync(pull=False)
    assert report.updates >= 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_webhook_mode_checks_the_secret_and_stores(stage: Stage) -> None:
    port = _free_port()
    (stage.tmp / "hook-secret").write_text("s3cret-hook", encoding="utf-8")
    extra = f'\nwebhook_port = {port}\nwebhook_secret_file = "hook-secret"\nwebhook_path = "/hook"\n'
    stage.config.write_text(stage.config.read_text().replace("backoff = 0.05", "backoff = 0.05" + extra), encoding="utf-8")
    stop = threading.Event()
    t = threading.Thread(target=app_mod.receive_updates, args=(stage.app(), "webhook", stop, lambda _where: None))
    t.start()
    update = {"update_type": "bot_started", "timestamp": 1, "chat_id": 5, "user": {"user_id": 77002, "first_name": "X"}, "payload": "p"}
    url = f"http://127.0.0.1:{port}/hook"
    try:
        _wait_for(lambda: _listening(port))
        denied = requests.post(url, data=json.dumps(update), headers={"X-Max-Bot-Api-Secret": "wrong"}, timeout=10)
        accepted = requests.post(url, data=json.dumps(update), headers={"X-Max-Bot-Api-Secret": "s3cret-hook"}, timeout=10)
        again = requests.post(url, data=json.dumps(update), headers={"X-Max-Bot-Api-Secret": "s3cret-hook"}, timeout=10)
    finally:
        stop.set()
        t.join(timeout=30)
    assert (denied.status_code, accepted.status_code, again.status_code) == (401, 200, 200)
    assert [r.update_type for r in _stored(stage)] == ["bot_started"]  # a redelivery is stored once


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0
