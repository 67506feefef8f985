"""Test support for the MAX side: a small world, the control API, client settings."""

from __future__ import annotations

from typing import Any

import requests

from domchat.settings import MaxSettings

TOKEN = "test-token-5f2a9c"
BOT = 1
AUTHORITY = 100
STAFF = (10_000, 10_001, 10_002)
RESIDENTS = tuple(range(20_000, 20_250))
PRIVATE = (30_000, 30_001)
BOT_RIGHTS = ["read_all_messages", "add_remove_members", "add_admins", "change_chat_info", "pin_message", "write"]


def make_world() -> dict[str, Any]:
    users = [{"user_id": AUTHORITY, "first_name": "Оператор", "last_name": "РОИВ"}]
    users += [{"user_id": u, "first_name": "Сотрудник", "last_name": str(u)} for u in STAFF]
    users += [{"user_id": u, "first_name": "Житель", "last_name": str(u)} for u in RESIDENTS]
    users += [{"user_id": u, "first_name": "Скрытный", "privacy": True} for u in PRIVATE]
    return {
        "format": "domchat-world/1",
        "seed": 7,
        "region": {"code": "86"},
        "authority": {"ogrn": "1028600000001", "ppa_guid": "00000000-0000-4000-8000-000000000001", "max_accounts": [AUTHORITY]},
        "bot": {"user_id": BOT, "username": "domchat_bot", "name": "Госуслуги Дом"},
        "organisations": [],
        "users": users,
        "buildings": [],
    }


class Control:
    """The emulator's control API, failing the test on any unexpected answer."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url + "/_emulator"
        self.http = requests.Session()

    def call(self, method: str, path: str, expect: int = 200, **body: Any) -> Any:
        answer = self.http.request(method, self.base + path, json=body if method != "GET" else None)
        assert answer.status_code == expect, answer.text
        return answer.json()

    def post(self, path: str, expect: int = 200, **body: Any) -> Any:
        return self.call("POST", path, expect, **body)

    def get(self, path: str) -> Any:
        return self.call("GET", path)

    def new_chat(self, title: str = "г. Сургут, ул. Мира, д. 1", rights: list[str] | None = None) -> int:
        """A chat created by the authority with the bot as admin (`rights`, default all domchat needs)."""
        chat_id: int = self.post("/chats", as_user=AUTHORITY, title=title)["chat_id"]
        self.post(f"/chats/{chat_id}/bot", as_user=AUTHORITY, permissions=BOT_RIGHTS if rights is None else rights)
        return chat_id

    def chat(self, chat_id: int) -> Any:
        return self.get(f"/chats/{chat_id}")

    def member(self, chat_id: int, user_id: int) -> Any:
        return next((m for m in self.chat(chat_id)["members"] if m["user_id"] == user_id), None)


class Ticker:
    """A clock that moves on `step` seconds each time it is read."""

    def __init__(self, start: float, step: float = 1.0) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def settings_for(url: str, **overrides: Any) -> MaxSettings:
    base = {"base_url": url, "timeout": 5.0, "retries": 3, "backoff": 0.01, "backoff_max": 0.05}
    return MaxSettings(**{**base, **overrides})
