"""Inline keyboards with link buttons: what the emulator accepts is what the schema and the
platform's guide allow, and a message carries its keyboard back."""

from __future__ import annotations

from typing import Any

import pytest

from domchat.emulators.max import MaxEmulator

from . import openapi
from .support import Control
from .test_schema_conformance import Api

SERVICES = [
    [{"type": "link", "text": "Передать показания", "url": "https://dom.gosuslugi.ru/"}],
    [
        {"type": "link", "text": "Оплатить", "url": "https://dom.gosuslugi.ru/"},
        {"type": "link", "text": "Аварийная служба", "url": "tel:+73467000000"},
    ],
    [{"type": "callback", "text": "Обновить", "payload": "card"}],
]


@pytest.fixture
def api(emulator: MaxEmulator) -> Api:
    return Api(emulator.base_url, openapi.load())


def _keyboard(rows: Any) -> list[dict[str, Any]]:
    return [{"type": "inline_keyboard", "payload": {"buttons": rows}}]


def test_a_keyboard_is_sent_read_back_edited_and_removed(api: Api, control: Control) -> None:
    chat = control.new_chat()
    body = {"text": "Карточка дома", "attachments": _keyboard(SERVICES), "link": None}
    openapi.load().check("NewMessageBody", body)  # what domchat sends is what the schema describes
    sent = api("POST", "/messages", query={"chat_id": chat}, body=body)["message"]
    assert sent["body"]["attachments"] == _keyboard(SERVICES)
    mid = sent["body"]["mid"]
    (read,) = api("GET", "/messages", query={"message_ids": mid})["messages"]
    assert read["body"]["attachments"] == _keyboard(SERVICES)
    # Null attachments keep the keyboard; a new one replaces it; an empty array removes it.
    api("PUT", "/messages", query={"message_id": mid}, body={"text": "Карточка дома (обновлено)", "attachments": None})
    assert api("GET", "/messages", query={"message_ids": mid})["messages"][0]["body"]["attachments"] == _keyboard(SERVICES)
    api("PUT", "/messages", query={"message_id": mid}, body={"text": "Карточка", "attachments": _keyboard(SERVICES[:1])})
    assert api("GET", "/messages", query={"message_ids": mid})["messages"][0]["body"]["attachments"] == _keyboard(SERVICES[:1])
    api("PUT", "/messages", query={"message_id": mid}, body={"text": "Карточка", "attachments": []})
    assert api("GET", "/messages", query={"message_ids": mid})["messages"][0]["body"]["attachments"] is None


def _link(n: int) -> dict[str, Any]:
    return {"type": "link", "text": f"Ссылка {n}", "url": f"https://example.ru/{n}"}


def _callback(n: int) -> dict[str, Any]:
    return {"type": "callback", "text": str(n), "payload": str(n)}


@pytest.mark.parametrize(
    ("attachments", "problem"),
    [
        ("кнопки", "attachments must be an array"),
        ([{"type": "image", "payload": {}}], "only inline_keyboard"),
        ([{"type": "inline_keyboard"}], "payload.buttons is required"),
        (_keyboard([]), "at least one row"),
        (_keyboard([[]]), "non-empty array of buttons"),
        (_keyboard([[{"type": "phone", "text": "x"}]]), "type must be one of"),
        (_keyboard([[{"type": "link", "text": "", "url": "https://x.ru"}]]), "1 to 128 characters"),
        (_keyboard([[{"type": "link", "text": "т" * 129, "url": "https://x.ru"}]]), "1 to 128 characters"),
        (_keyboard([[{"type": "link", "text": "Сайт"}]]), "url is required for a link button"),
        (_keyboard([[{"type": "link", "text": "Сайт", "url": "https://x.ru/" + "a" * 2040}]]), "at most 2048"),
        (_keyboard([[{"type": "callback", "text": "Да"}]]), "payload is required for a callback button"),
        (_keyboard([[_callback(n) for n in range(8)]]), "at most 7 buttons in a row"),
        (_keyboard([[_link(n) for n in range(4)]]), "at most 3 buttons in a row with a"),
        (_keyboard([[_callback(1), _callback(2), _callback(3), _link(4)]]), "at most 3 buttons in a row"),
        (_keyboard([[_callback(n)] for n in range(31)]), "at most 30 rows"),
        (_keyboard([[_callback(7 * r + c) for c in range(7)] for r in range(30)]), None),
        ([*_keyboard([[_link(1)]]), *_keyboard([[_link(2)]])], "at most one inline_keyboard"),
    ],
)
def test_a_bad_keyboard_is_refused_and_named(api: Api, control: Control, attachments: Any, problem: str | None) -> None:
    chat = control.new_chat()
    body = {"text": "Карточка", "attachments": attachments}
    if problem is None:  # the largest keyboard the guide allows: 30 rows of 7
        api("POST", "/messages", query={"chat_id": chat}, body=body)
        return
    answer = api("POST", "/messages", 400, query={"chat_id": chat}, body=body)
    assert answer["code"] == "proto.payload"
    assert problem in answer["message"]
    assert api("GET", "/messages", query={"chat_id": chat, "count": 10})["messages"] == []
