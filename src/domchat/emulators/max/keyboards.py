"""Inline keyboards on messages: `InlineKeyboardAttachmentRequest` and its buttons, checked.

From the dev.max.ru schema: an attachment is an object with a `type`; an `inline_keyboard`
carries `payload.buttons`, rows of `Button` objects, each with a known `type` and a `text` of
1–128 characters, and the fields its type requires (`LinkButton.url` at most 2048 characters,
`CallbackButton.payload` at most 1024, `ChatButton.chat_title` at most 200). The platform's
guide ("Клавиатура в сообщениях") adds the sizes: at most 210 buttons in at most 30 rows, at
most 7 in a row, and at most 3 in a row when they are link, open_app, request_geo_location or
request_contact buttons. The emulator sends no media, so any other attachment is refused.
"""

from __future__ import annotations

from typing import Any

from domchat.emulators.max.routing import bad_request

Keyboard = list[list[dict[str, Any]]]

MAX_BUTTONS = 210
MAX_ROWS = 30
MAX_IN_ROW = 7
MAX_WIDE_IN_ROW = 3
WIDE = frozenset({"link", "open_app", "request_geo_location", "request_contact"})
"""Button types that take more room: at most `MAX_WIDE_IN_ROW` of them in a row."""

_REQUIRED: dict[str, tuple[tuple[str, int], ...]] = {
    "callback": (("payload", 1024),),
    "link": (("url", 2048),),
    "request_geo_location": (),
    "request_contact": (),
    "open_app": (),
    "message": (),
    "clipboard": (("payload", 1024),),
    "chat": (("chat_title", 200),),
}
"""Each button type of the schema's `Button` discriminator, with its required string fields and their maximum length."""


def parse_attachments(value: Any) -> Keyboard | None:
    """The keyboard of a `NewMessageBody.attachments`; None when there is none (absent, null or empty)."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise bad_request("attachments must be an array")
    keyboards = []
    for n, att in enumerate(value):
        if not isinstance(att, dict) or not isinstance(att.get("type"), str):
            raise bad_request(f"attachments[{n}] must be an object with a type")
        if att["type"] != "inline_keyboard":
            raise bad_request(f"attachments[{n}]: the emulator sends no {att['type']!r} attachments, only inline_keyboard")
        keyboards.append(_keyboard(att.get("payload"), f"attachments[{n}].payload"))
    if len(keyboards) > 1:
        raise bad_request("at most one inline_keyboard per message")
    return keyboards[0] if keyboards else None


def _keyboard(payload: Any, where: str) -> Keyboard:
    if not isinstance(payload, dict) or not isinstance(payload.get("buttons"), list):
        raise bad_request(f"{where}.buttons is required: an array of rows")
    rows = payload["buttons"]
    if not rows:
        raise bad_request(f"{where}.buttons must hold at least one row")
    if len(rows) > MAX_ROWS:
        raise bad_request(f"{where}.buttons: at most {MAX_ROWS} rows, got {len(rows)}")
    total = 0
    for r, row in enumerate(rows):
        at = f"{where}.buttons[{r}]"
        if not isinstance(row, list) or not row:
            raise bad_request(f"{at} must be a non-empty array of buttons")
        if len(row) > MAX_IN_ROW:
            raise bad_request(f"{at}: at most {MAX_IN_ROW} buttons in a row, got {len(row)}")
        for c, button in enumerate(row):
            _button(button, f"{at}[{c}]")
        if len(row) > MAX_WIDE_IN_ROW and any(b["type"] in WIDE for b in row):
            raise bad_request(f"{at}: at most {MAX_WIDE_IN_ROW} buttons in a row with a {'/'.join(sorted(WIDE))} button")
        total += len(row)
    if total > MAX_BUTTONS:
        raise bad_request(f"{where}.buttons: at most {MAX_BUTTONS} buttons, got {total}")
    return [[dict(b) for b in row] for row in rows]


def _button(button: Any, at: str) -> None:
    if not isinstance(button, dict):
        raise bad_request(f"{at} must be an object")
    kind = button.get("type")
    if kind not in _REQUIRED:
        raise bad_request(f"{at}.type must be one of {', '.join(sorted(_REQUIRED))}")
    text = button.get("text")
    if not isinstance(text, str) or not 1 <= len(text) <= 128:
        raise bad_request(f"{at}.text must be a string of 1 to 128 characters")
    for name, longest in _REQUIRED[kind]:
        value = button.get(name)
        if not isinstance(value, str) or not value or len(value) > longest:
            raise bad_request(f"{at}.{name} is required for a {kind} button: a string of at most {longest} characters")
