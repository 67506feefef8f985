"""The Bot API endpoints domchat uses, with the dev.max.ru schema's paths, bodies and answers."""

from __future__ import annotations

import re
from typing import Any

from domchat.emulators.max import keyboards, render, rules
from domchat.emulators.max.faults import FaultInjector
from domchat.emulators.max.model import SubscriptionRecord
from domchat.emulators.max.platform import (
    Platform,
    admin_entries,
    int_list,
    ok,
    str_list,
)
from domchat.emulators.max.routing import (
    ApiError,
    Handler,
    Request,
    Response,
    Router,
    bad_request,
)

_SECRET = re.compile(r"^[a-zA-Z0-9_-]{5,256}$")


class BotApi:
    def __init__(self, platform: Platform, faults: FaultInjector, *, allow_http_webhooks: bool) -> None:
        self.p = platform
        self._faults = faults
        self._allow_http = allow_http_webhooks
        r = self.router = Router()
        r.add("GET", "/me", self.me)
        r.add("GET", "/chats/{chatId}", self.get_chat)
        r.add("PATCH", "/chats/{chatId}", self.patch_chat)
        r.add("GET", "/chats/{chatId}/pin", self.get_pin)
        r.add("PUT", "/chats/{chatId}/pin", self._simple(self.put_pin))
        r.add("DELETE", "/chats/{chatId}/pin", self._simple(self.delete_pin))
        r.add("GET", "/chats/{chatId}/members/me", self.get_membership)
        r.add("DELETE", "/chats/{chatId}/members/me", self._simple(self.leave_chat))
        r.add("GET", "/chats/{chatId}/members/admins", self.get_admins)
        r.add("POST", "/chats/{chatId}/members/admins", self._simple(self.post_admins))
        r.add("DELETE", "/chats/{chatId}/members/admins/{userId}", self._simple(self.delete_admin))
        r.add("GET", "/chats/{chatId}/members", self.get_members)
        r.add("POST", "/chats/{chatId}/members", self._simple(self.add_members))
        r.add("DELETE", "/chats/{chatId}/members", self._simple(self.remove_member))
        r.add("GET", "/messages", self.get_messages)
        r.add("POST", "/messages", self.send_message)
        r.add("PUT", "/messages", self._simple(self.edit_message))
        r.add("DELETE", "/messages", self._simple(self.delete_message))
        r.add("GET", "/updates", self.get_updates)
        r.add("GET", "/subscriptions", self.get_subscriptions)
        r.add("POST", "/subscriptions", self._simple(self.subscribe))
        r.add("DELETE", "/subscriptions", self._simple(self.unsubscribe))

    def _simple(self, handler: Handler) -> Handler:
        """Calls answering `SimpleQueryResult`: where injected `success: false` refusals happen."""

        def wrapped(req: Request) -> Response:
            if self._faults.refuse_simple():
                return Response(200, ok("injected refusal: the platform could not process the request"))
            return handler(req)

        return wrapped

    @property
    def _bot(self) -> int:
        return self.p.bot.user_id

    # Bot and chats

    def me(self, req: Request) -> Response:
        return Response(200, render.bot_info(self.p.bot))

    def get_chat(self, req: Request) -> Response:
        with self.p.lock:
            return Response(200, self.p.render_chat(self.p.bot_room(req.param_int("chatId"))))

    def patch_chat(self, req: Request) -> Response:
        chat_id = req.param_int("chatId")
        body = req.json()
        with self.p.lock:
            if body.get("title") is not None:
                self.p.set_title(chat_id, self._bot, body["title"])
            if body.get("pin") is not None:
                if not isinstance(body["pin"], str):
                    raise bad_request("pin must be a message id (string)")
                self.p.pin(chat_id, body["pin"])
            if body.get("title") is None and body.get("pin") is None:
                # Nothing to change still needs the right to change it.
                self.p.bot_admin(chat_id, "change_chat_info")
            return Response(200, self.p.render_chat(self.p.room(chat_id)))

    def get_pin(self, req: Request) -> Response:
        with self.p.lock:
            room = self.p.bot_admin(req.param_int("chatId"))
            pinned = room.message(room.pinned_mid) if room.pinned_mid else None
            return Response(200, {"message": self.p.render_message(pinned) if pinned else None})

    def put_pin(self, req: Request) -> Response:
        body = req.json()
        if not isinstance(body.get("message_id"), str):
            raise bad_request("message_id is required (string)")
        self.p.pin(req.param_int("chatId"), body["message_id"])
        return Response(200, ok())

    def delete_pin(self, req: Request) -> Response:
        with self.p.lock:
            room = self.p.bot_admin(req.param_int("chatId"), "pin_message")
            if room.pinned_mid is None:
                return Response(200, ok("no pinned message"))
            room.pinned_mid = None
            return Response(200, ok())

    # Members and admins

    def get_membership(self, req: Request) -> Response:
        with self.p.lock:
            room = self.p.bot_room(req.param_int("chatId"))
            if self._bot not in room.members:
                raise ApiError(403, "chat.denied", f"the bot is not in chat {room.chat_id}")
            return Response(200, self.p.render_member(room, self._bot))

    def leave_chat(self, req: Request) -> Response:
        self.p.bot_leave(req.param_int("chatId"))
        return Response(200, ok())

    def get_members(self, req: Request) -> Response:
        wanted = req.query_ints("user_ids")
        count = req.query_int("count", 20, 1, 100)
        start = req.query_int("marker", 0, 0)
        with self.p.lock:
            room = self.p.bot_admin(req.param_int("chatId"))
            if wanted is not None:
                # With user_ids, count and marker are ignored (as the schema says).
                ids = [uid for uid in dict.fromkeys(wanted) if uid in room.members]
                marker = None
            else:
                everyone = list(room.members)
                ids = everyone[start : start + count]
                marker = start + count if start + count < len(everyone) else None
            return Response(200, {"members": [self.p.render_member(room, uid) for uid in ids], "marker": marker})

    def add_members(self, req: Request) -> Response:
        user_ids = int_list(req.json().get("user_ids"), "user_ids")
        return Response(200, self.p.add_members(req.param_int("chatId"), self._bot, user_ids))

    def remove_member(self, req: Request) -> Response:
        user_id = req.query_int("user_id")
        if user_id is None:
            raise bad_request("user_id is required")
        return Response(200, self.p.remove_member(req.param_int("chatId"), self._bot, user_id, block=req.query_bool("block")))

    def get_admins(self, req: Request) -> Response:
        with self.p.lock:
            room = self.p.bot_admin(req.param_int("chatId"))
            return Response(200, {"members": [self.p.render_member(room, m.user_id) for m in room.admins()], "marker": None})

    def post_admins(self, req: Request) -> Response:
        raw = req.json().get("admins")
        if not isinstance(raw, list) or not raw:
            raise bad_request("admins must be a non-empty array")
        return Response(200, self.p.set_admins(req.param_int("chatId"), self._bot, admin_entries(raw)))

    def delete_admin(self, req: Request) -> Response:
        return Response(200, self.p.revoke_admin(req.param_int("chatId"), self._bot, req.param_int("userId")))

    # Messages

    def get_messages(self, req: Request) -> Response:
        chat_id = req.query_int("chat_id")
        mids = req.query_list("message_ids")
        count = req.query_int("count", 50, 1, 100)
        newest, oldest = req.query_int("from"), req.query_int("to")
        with self.p.lock:
            if mids is not None:
                found = [self.p.bot_message(mid)[1] for mid in mids]
            elif chat_id is not None:
                # `from` bounds the newest message taken, `to` the oldest; newest come first.
                found = [
                    m
                    for m in reversed(self.p.messages_of(chat_id))
                    if (newest is None or m.timestamp <= newest) and (oldest is None or m.timestamp >= oldest)
                ][:count]
            else:
                raise bad_request("chat_id or message_ids is required")
            return Response(200, {"messages": [self.p.render_message(m) for m in found]})

    def send_message(self, req: Request) -> Response:
        chat_id, user_id = req.query_int("chat_id"), req.query_int("user_id")
        if (chat_id is None) == (user_id is None):
            raise bad_request("exactly one of chat_id and user_id is required")
        body = req.json()
        text, fmt = _message_body(body)
        keyboard = keyboards.parse_attachments(body.get("attachments"))
        if text is None:
            raise bad_request("text is required: the emulator sends no media")
        with self.p.lock:
            msg = self.p.send(chat_id=chat_id, user_id=user_id, text=text, fmt=fmt, keyboard=keyboard)
            return Response(200, {"message": self.p.render_message(msg)})

    def edit_message(self, req: Request) -> Response:
        mid = _message_id(req)
        body = req.json()
        text, fmt = _message_body(body)
        # Null attachments leave the message's as they are; an empty array removes them.
        keep = body.get("attachments") is None
        keyboard = None if keep else keyboards.parse_attachments(body["attachments"])
        with self.p.lock:
            _, msg = self.p.bot_message(mid)
            if msg.sender_id != self._bot:
                return Response(200, ok("the bot can edit only its own messages"))
            if text is not None:
                msg.text = text
            msg.format = fmt
            if not keep:
                msg.keyboard = keyboard
            return Response(200, ok())

    def delete_message(self, req: Request) -> Response:
        self.p.delete_message(_message_id(req))
        return Response(200, ok())

    # Updates and webhooks

    def get_updates(self, req: Request) -> Response:
        if self.p.subscription is not None:
            raise ApiError(405, "method.not.allowed", "long polling is off while a webhook subscription exists")
        limit = req.query_int("limit", 100, 1, 1000)
        timeout = req.query_int("timeout", 30, 0, 90)
        marker = req.query_int("marker")
        types = req.query_list("types")
        updates, next_marker = self.p.updates.poll(marker, limit=limit, timeout=timeout, types=set(types) if types else None)
        return Response(200, {"updates": updates, "marker": next_marker})

    def get_subscriptions(self, req: Request) -> Response:
        sub = self.p.subscription
        subs = [] if sub is None else [{"url": sub.url, "time": sub.time, "update_types": sub.update_types}]
        return Response(200, {"subscriptions": subs})

    def subscribe(self, req: Request) -> Response:
        body = req.json()
        url = body.get("url")
        if not isinstance(url, str):
            raise bad_request("url is required")
        if not (url.startswith("https://") or (self._allow_http and url.startswith("http://"))):
            return Response(200, ok("url must start with https://"))
        types = body.get("update_types")
        secret = body.get("secret")
        if secret is not None and (not isinstance(secret, str) or not _SECRET.match(secret)):
            raise bad_request("secret must match [a-zA-Z0-9_-]{5,256}")
        record = SubscriptionRecord(url, self.p.now_ms(), None if types is None else str_list(types, "update_types") or None, secret)
        self._set_subscription(record)
        return Response(200, ok())

    def unsubscribe(self, req: Request) -> Response:
        url = req.query_str("url")
        if url is None:
            raise bad_request("url is required")
        if self.p.subscription is not None and self.p.subscription.url == url:
            self._set_subscription(None)
        return Response(200, ok())

    def _set_subscription(self, record: SubscriptionRecord | None) -> None:
        with self.p.lock:
            self.p.subscription = record
        self.p.subscription_changed.set()
        self.p.updates.wake()


def _message_id(req: Request) -> str:
    mid = req.query_str("message_id")
    if not mid:
        raise bad_request("message_id is required")
    return mid


def _message_body(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """Schema `NewMessageBody`: (text, format)."""
    text, fmt = body.get("text"), body.get("format")
    if text is not None and (not isinstance(text, str) or len(text) > rules.MAX_TEXT):
        raise bad_request(f"text must be a string of at most {rules.MAX_TEXT} characters")
    if fmt not in (None, "markdown", "html"):
        raise bad_request("format must be markdown or html")
    return text, fmt
