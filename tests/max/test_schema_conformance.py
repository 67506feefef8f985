"""The emulator's answers validate against the dev.max.ru OpenAPI snapshot's response schemas.

Raw HTTP, not the client: what is checked is the emulator's JSON as the platform would send
it, endpoint by endpoint, success and error answers alike, and every update type.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest
import requests

from domchat.emulators.max import MaxEmulator
from domchat.max_client import WebhookReceiver
from domchat.max_client.types import Update
from domchat.settings import Secret

from . import openapi
from .support import (
    AUTHORITY,
    BOT,
    BOT_RIGHTS,
    PRIVATE,
    RESIDENTS,
    STAFF,
    TOKEN,
    Control,
)


class Api:
    """Calls the emulator's Bot API and validates each answer against the schema."""

    def __init__(self, base_url: str, spec: openapi.OpenApi) -> None:
        self.base = base_url
        self.spec = spec
        self.http = requests.Session()
        self.http.headers["Authorization"] = TOKEN
        self.checked: set[tuple[str, str, int]] = set()

    def __call__(
        self, method: str, template: str, expect: int = 200, *, query: dict[str, Any] | None = None, body: Any = None, **path: Any
    ) -> Any:
        answer = self.http.request(method, self.base + template.format(**path), params=query, json=body)
        assert answer.status_code == expect, answer.text
        self.spec.check(self.spec.response_schema(method, template, answer.status_code), answer.json())
        self.checked.add((method, template, answer.status_code))
        return answer.json()


@pytest.fixture
def spec() -> openapi.OpenApi:
    return openapi.load()


@pytest.fixture
def api(emulator: MaxEmulator, spec: openapi.OpenApi) -> Api:
    return Api(emulator.base_url, spec)


def test_every_endpoint_answers_as_the_schema_says(api: Api, control: Control) -> None:
    chat = control.new_chat()
    c = {"chatId": chat}
    api("GET", "/me")
    api("GET", "/chats/{chatId}", **c)
    control.post("/start", user_id=STAFF[0], payload="enrol-1")

    # Members, admins
    added = api("POST", "/chats/{chatId}/members", body={"user_ids": [*RESIDENTS[:30], STAFF[0], PRIVATE[0], 999_999]}, **c)
    assert added["success"] is False and added["failed_user_details"]
    assert api("POST", "/chats/{chatId}/members", body={"user_ids": [STAFF[1]]}, **c)["success"] is True
    page = api("GET", "/chats/{chatId}/members", query={"count": 10}, **c)
    assert page["marker"] is not None
    api("GET", "/chats/{chatId}/members", query={"count": 10, "marker": page["marker"]}, **c)
    api("GET", "/chats/{chatId}/members", query={"user_ids": f"{STAFF[0]},{RESIDENTS[0]}"}, **c)
    api("GET", "/chats/{chatId}/members/me", **c)
    grant = {"admins": [{"user_id": STAFF[0], "permissions": ["read_all_messages", "pin_message"], "alias": "УК"}]}
    assert api("POST", "/chats/{chatId}/members/admins", body=grant, **c)["success"] is True
    refused = api("POST", "/chats/{chatId}/members/admins", body={"admins": [{"user_id": STAFF[2], "permissions": ["write"]}]}, **c)
    assert refused["success"] is False and refused["message"]
    api("GET", "/chats/{chatId}/members/admins", **c)
    api("DELETE", "/chats/{chatId}/members/admins/{userId}", userId=STAFF[0], **c)
    api("DELETE", "/chats/{chatId}/members", query={"user_id": RESIDENTS[0]}, **c)
    assert api("DELETE", "/chats/{chatId}/members", query={"user_id": AUTHORITY}, **c)["success"] is False

    # Messages, pins, chat changes
    sent = api("POST", "/messages", query={"chat_id": chat}, body={"text": "Карточка дома", "format": "markdown"})["message"]
    mid = sent["body"]["mid"]
    api("POST", "/messages", query={"user_id": STAFF[0]}, body={"text": "Вы привязаны"})
    api("PUT", "/messages", query={"message_id": mid}, body={"text": "Карточка дома (обновлено)"})
    api("PUT", "/chats/{chatId}/pin", body={"message_id": mid, "notify": False}, **c)
    api("GET", "/chats/{chatId}/pin", **c)
    assert api("GET", "/chats/{chatId}", **c)["pinned_message"]["body"]["mid"] == mid
    api("PATCH", "/chats/{chatId}", body={"title": "г. Сургут, ул. Мира, д. 3"}, **c)
    api("DELETE", "/chats/{chatId}/pin", **c)
    control.post(f"/chats/{chat}/messages", as_user=AUTHORITY, text="привет")
    api("GET", "/messages", query={"chat_id": chat, "count": 10})
    api("GET", "/messages", query={"message_ids": mid})
    api("DELETE", "/messages", query={"message_id": mid})

    # Every update type domchat uses, then the bot leaves
    control.post(f"/chats/{chat}/title", as_user=AUTHORITY, title="Новое название")
    control.post("/join", user_id=RESIDENTS[100], link=control.chat(chat)["link"])
    control.post(f"/chats/{chat}/leave", user_id=RESIDENTS[100])
    other = control.new_chat("второй")
    control.post(f"/chats/{other}/remove", as_user=AUTHORITY, user_id=BOT)
    updates = api("GET", "/updates", query={"timeout": 0, "limit": 1000})["updates"]
    assert {u["update_type"] for u in updates} == {
        "bot_added", "bot_started", "user_added", "user_removed", "message_created", "chat_title_changed", "bot_removed",
    }  # fmt: skip
    assert {u["inviter_id"] for u in updates if u["update_type"] == "user_added"} >= {BOT, None}
    assert {u["admin_id"] for u in updates if u["update_type"] == "user_removed"} == {BOT, None}
    api("DELETE", "/chats/{chatId}/members/me", **c)

    # Subscriptions
    api("POST", "/subscriptions", body={"url": "https://domchat.example/hook", "update_types": ["message_created"], "secret": "abcde"})
    api("GET", "/subscriptions")
    api("DELETE", "/subscriptions", query={"url": "https://domchat.example/hook"})

    operations = {(m.upper(), p) for p, ops in api.spec.doc["paths"].items() for m in ops if m != "parameters"}
    used = {
        ("GET", "/me"), ("GET", "/chats/{chatId}"), ("PATCH", "/chats/{chatId}"), ("GET", "/chats/{chatId}/pin"),
        ("PUT", "/chats/{chatId}/pin"), ("DELETE", "/chats/{chatId}/pin"), ("GET", "/chats/{chatId}/members/me"),
        ("DELETE", "/chats/{chatId}/members/me"), ("GET", "/chats/{chatId}/members/admins"),
        ("POST", "/chats/{chatId}/members/admins"), ("DELETE", "/chats/{chatId}/members/admins/{userId}"),
        ("GET", "/chats/{chatId}/members"), ("POST", "/chats/{chatId}/members"), ("DELETE", "/chats/{chatId}/members"),
        ("GET", "/messages"), ("POST", "/messages"), ("PUT", "/messages"), ("DELETE", "/messages"), ("GET", "/updates"),
        ("GET", "/subscriptions"), ("POST", "/subscriptions"), ("DELETE", "/subscriptions"),
    }  # fmt: skip
    assert used <= operations
    assert {(m, t) for m, t, _ in api.checked} == used


def test_error_answers_have_the_platforms_shape(api: Api, control: Control, emulator: MaxEmulator) -> None:
    chat = control.new_chat(rights=["read_all_messages"])
    unknown = control.post("/chats", as_user=AUTHORITY, title="без бота")["chat_id"]
    api("GET", "/chats/{chatId}", 404, chatId=unknown)
    api("POST", "/chats/{chatId}/members", 403, body={"user_ids": [RESIDENTS[0]]}, chatId=chat)
    full = control.new_chat()
    api("PATCH", "/chats/{chatId}", 400, body={"title": ""}, chatId=full)
    api("GET", "/chats/{chatId}/members", 400, query={"count": 0}, chatId=full)
    api("POST", "/messages", 400, body={"text": "x"})
    api("PUT", "/chats/{chatId}/pin", 404, body={"message_id": "mid.404"}, chatId=full)
    api("POST", "/subscriptions", body={"url": "https://domchat.example/hook"})
    api("GET", "/updates", 405)
    api.http.headers["Authorization"] = "not-the-token"
    api("GET", "/me", 401)
    api.http.headers["Authorization"] = TOKEN
    control.post("/faults/arm", kind="429", count=1)
    api("GET", "/me", 429)
    control.post("/faults/arm", kind="5xx", count=1)
    api("GET", "/me", 500)
    control.post("/faults/arm", kind="success_false", count=1)
    assert api("DELETE", "/subscriptions", query={"url": "https://domchat.example/hook"})["success"] is False


def test_webhook_bodies_are_updates_as_the_schema_says(spec: openapi.OpenApi, world: dict[str, Any]) -> None:
    from domchat.emulators.max import WebhookPolicy

    bodies: list[dict[str, Any]] = []
    arrived = threading.Semaphore(0)

    def store(updates: Sequence[Update], marker: int | None) -> None:
        for u in updates:
            bodies.append(u.raw)
            arrived.release()

    emu = MaxEmulator(world, TOKEN, webhook=WebhookPolicy(first_retry=0.01))
    emu.start()
    receiver = WebhookReceiver(secret=Secret("hook-secret"), store=store)
    try:
        control = Control(emu.base_url)
        http = requests.Session()
        http.headers["Authorization"] = TOKEN
        http.post(emu.base_url + "/subscriptions", json={"url": receiver.start(), "secret": "hook-secret"}).raise_for_status()
        chat = control.new_chat()
        control.post(f"/chats/{chat}/members", as_user=AUTHORITY, user_ids=[RESIDENTS[0]])
        control.post(f"/chats/{chat}/messages", as_user=AUTHORITY, text="код")
        control.post("/start", user_id=RESIDENTS[0], payload=None)
        for _ in range(4):
            assert arrived.acquire(timeout=10)
    finally:
        receiver.stop()
        emu.stop()
    for body in bodies:
        spec.check_update(body)
    assert [b["update_type"] for b in bodies] == ["bot_added", "user_added", "message_created", "bot_started"]


def test_the_checker_catches_a_wrong_shape(spec: openapi.OpenApi) -> None:
    # The control for the tests above: a schema check that passes everything proves nothing.
    chat = {"chat_id": 1, "type": "chat", "status": "active", "title": "t", "last_event_time": 0, "icon": None, "is_public": False}
    with pytest.raises(AssertionError, match="participants_count"):
        spec.check("Chat", {**chat, "description": None})
    with pytest.raises(AssertionError):
        spec.check_update({"update_type": "user_added", "timestamp": 1, "chat_id": 1, "is_channel": False})
    member = {"user_id": 1, "first_name": "x", "username": None, "is_bot": False, "last_activity_time": 0, "name": None}
    member |= {"last_access_time": 0, "is_owner": False, "is_admin": True, "join_time": 0}
    with pytest.raises(AssertionError, match="view_stats"):
        spec.check("ChatMember", {**member, "permissions": ["view_stats"]})
    spec.check("ChatMember", {**member, "permissions": ["read_all_messages"]})


def test_bot_rights_used_in_tests_are_all_in_the_schema(spec: openapi.OpenApi) -> None:
    assert set(BOT_RIGHTS) <= set(spec.doc["components"]["schemas"]["ChatAdminPermission"]["enum"])
