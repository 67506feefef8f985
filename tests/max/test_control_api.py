"""The emulator's control API (people's actions, inspection, faults) and its life cycle."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path
from typing import Any

import pytest
import requests

from domchat.emulators import world as worlds
from domchat.emulators.max import MaxEmulator, MaxFaults

from .support import AUTHORITY, BOT, PRIVATE, RESIDENTS, STAFF, TOKEN, Control


def test_create_chat_makes_the_creator_owner_with_a_join_link(control: Control) -> None:
    made = control.post("/chats", as_user=STAFF[0], title="Дом")
    state = control.chat(made["chat_id"])
    assert made["link"].startswith("https://max.ru/join/") and state["link"] == made["link"]
    (owner,) = state["members"]
    assert (owner["user_id"], owner["is_owner"], owner["is_admin"]) == (STAFF[0], True, True)
    assert state["bot_status"] is None and state["owner_id"] == STAFF[0]


def test_two_chats_get_distinct_negative_ids_and_links(control: Control) -> None:
    a = control.post("/chats", as_user=AUTHORITY, title="a")
    b = control.post("/chats", as_user=AUTHORITY, title="b")
    assert a["chat_id"] < 0 and b["chat_id"] < 0 and a["chat_id"] != b["chat_id"] and a["link"] != b["link"]


def test_only_an_admin_with_add_admins_can_add_the_bot(control: Control) -> None:
    chat_id = control.post("/chats", as_user=AUTHORITY, title="Дом")["chat_id"]
    control.post("/join", user_id=RESIDENTS[0], link=control.chat(chat_id)["link"])
    control.post(f"/chats/{chat_id}/bot", expect=403, as_user=RESIDENTS[0], permissions=["read_all_messages"])
    control.post(f"/chats/{chat_id}/bot", expect=400, as_user=AUTHORITY, permissions=["write"])
    control.post(f"/chats/{chat_id}/bot", as_user=AUTHORITY, permissions=["read_all_messages", "write"])
    bot = control.member(chat_id, BOT)
    assert bot["is_admin"] and set(bot["permissions"]) == {"read_all_messages", "write", "can_call"}


def test_rights_by_hand_follow_the_same_rules(control: Control) -> None:
    chat_id = control.new_chat()
    control.post(f"/chats/{chat_id}/admins", expect=409, as_user=AUTHORITY, user_id=STAFF[0], permissions=["add_admins"])
    control.post(f"/chats/{chat_id}/members", as_user=AUTHORITY, user_ids=[STAFF[0]])
    control.post(f"/chats/{chat_id}/admins", as_user=AUTHORITY, user_id=STAFF[0], permissions=["add_admins"], alias="УК")
    assert control.member(chat_id, STAFF[0])["alias"] == "УК"
    # A staff admin with add_admins may grant, but never touch the owner.
    control.post(f"/chats/{chat_id}/admins", expect=409, as_user=STAFF[0], user_id=AUTHORITY, permissions=[])
    control.post(f"/chats/{chat_id}/admins", as_user=AUTHORITY, user_id=STAFF[0], permissions=[])
    assert not control.member(chat_id, STAFF[0])["is_admin"]


def test_people_are_checked_to_exist(control: Control) -> None:
    control.post("/chats", expect=404, as_user=123_456, title="x")
    control.post("/start", expect=404, user_id=123_456, payload="p")
    control.post("/users", user_id=123_456, first_name="Новый", privacy=True)
    chat_id = control.post("/chats", as_user=123_456, title="x")["chat_id"]
    assert control.chat(chat_id)["owner_id"] == 123_456
    control.post("/users", expect=409, user_id=BOT, first_name="not the bot")


def test_messages_need_membership_and_title_needs_the_right(control: Control) -> None:
    chat_id = control.new_chat()
    control.post(f"/chats/{chat_id}/messages", expect=403, as_user=RESIDENTS[0], text="я не участник")
    control.post("/join", user_id=RESIDENTS[0], link=control.chat(chat_id)["link"])
    control.post(f"/chats/{chat_id}/messages", as_user=RESIDENTS[0], text="теперь участник")
    control.post(f"/chats/{chat_id}/title", expect=403, as_user=RESIDENTS[0], title="моё")
    assert [m["text"] for m in control.chat(chat_id)["messages"]] == ["теперь участник"]


def test_joining_by_an_unknown_link_and_leaving_twice(control: Control) -> None:
    control.post("/join", expect=404, user_id=RESIDENTS[0], link="https://max.ru/join/nope")
    chat_id = control.new_chat()
    control.post("/join", user_id=RESIDENTS[0], link=control.chat(chat_id)["link"])
    control.post(f"/chats/{chat_id}/leave", user_id=RESIDENTS[0])
    control.post(f"/chats/{chat_id}/leave", expect=409, user_id=RESIDENTS[0])


def test_chat_list_summarises(control: Control) -> None:
    with_bot = control.new_chat("с ботом")
    control.post(f"/chats/{with_bot}/members", as_user=AUTHORITY, user_ids=[RESIDENTS[0], PRIVATE[0]])
    control.post("/chats", as_user=AUTHORITY, title="без бота")
    chats = {c["title"]: c for c in control.get("/chats")["chats"]}
    assert chats["с ботом"]["bot_status"] == "active" and chats["с ботом"]["members_count"] == 3
    assert chats["с ботом"]["admins_count"] == 2 and chats["без бота"]["bot_status"] is None


def test_bad_input_is_400(control: Control) -> None:
    control.post("/chats", expect=400, as_user="100", title="x")
    control.post("/chats", expect=400, as_user=AUTHORITY, title="")
    control.call("PUT", "/faults", expect=400, share_6xx=1)
    control.post("/faults/arm", expect=400, kind="meteor", count=1)
    answer = requests.post(control.base + "/chats", data=b"{not json", timeout=5)
    assert answer.status_code == 400 and answer.json()["code"] == "proto.payload"
    assert requests.get(control.base + "/nowhere", timeout=5).status_code == 404
    assert requests.delete(control.base + "/chats", timeout=5).status_code == 405


def test_faults_can_be_replaced_and_inspected(control: Control) -> None:
    assert control.call("PUT", "/faults", share_5xx=0.25, seed=9)["share_5xx"] == 0.25
    assert control.get("/stats")["faults"]["seed"] == 9


def test_faults_come_from_the_world_file(tmp_path: Path, world: dict[str, Any]) -> None:
    world["faults"] = {"max_5xx_share": 0.1, "max_429_burst_every": 50, "max_retry_after": 1.5, "max_success_false_share": 0.2}
    path = tmp_path / "world.json"
    path.write_text(json.dumps(world), encoding="utf-8")
    faults = MaxFaults.from_world(worlds.load(path))
    assert faults == MaxFaults(share_5xx=0.1, burst_429_every=50, retry_after=1.5, share_success_false=0.2, seed=7)


def test_foreground_serve_stops_from_another_thread(world: dict[str, Any]) -> None:
    emu = MaxEmulator(world, TOKEN)
    ready = threading.Event()
    urls: list[str] = []

    def on_ready(url: str) -> None:
        urls.append(url)
        ready.set()

    server = threading.Thread(target=emu.serve, kwargs={"ready": on_ready})
    server.start()
    assert ready.wait(10)
    assert requests.get(urls[0] + "/me", headers={"Authorization": TOKEN}, timeout=5).status_code == 200
    emu.stop()
    server.join(timeout=10)
    assert not server.is_alive()
    with pytest.raises(requests.ConnectionError):
        requests.get(urls[0] + "/me", timeout=1)


def test_a_stopped_emulator_restarts_with_its_state(world: dict[str, Any]) -> None:
    emu = MaxEmulator(world, TOKEN)
    control = Control(emu.start())
    chat_id = control.new_chat()
    emu.stop()
    control = Control(emu.start())
    try:
        assert control.chat(chat_id)["bot_status"] == "active"
        with pytest.raises(RuntimeError, match="already running"):
            emu.start()
    finally:
        emu.stop()


def _raw(url: str, request: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(request)
        return s.recv(4096)


def test_a_bad_content_length_is_400_and_the_emulator_carries_on(emulator: MaxEmulator, control: Control) -> None:
    answer = _raw(emulator.base_url, b"POST /_emulator/chats HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400")
    assert control.get("/chats") == {"chats": []}
