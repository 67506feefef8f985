"""The control API under `/_emulator/`: act as people and inspect the platform (no bot token).

What a person does here goes through the same rules as the bot's calls (rights, privacy,
admin limits); a refusal the Bot API would report as `success: false` is answered here as
409 `refused` so that scripts notice it. `docs/emulators.md` documents every route.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from domchat.emulators.max.faults import FaultInjector, MaxFaults
from domchat.emulators.max.model import ChatRoom, StoredMessage
from domchat.emulators.max.platform import Platform, admin_entries, int_list, str_list
from domchat.emulators.max.routing import (
    ApiError,
    Request,
    Response,
    Router,
    bad_request,
)

PREFIX = "/_emulator"


class ControlApi:
    def __init__(self, platform: Platform, faults: FaultInjector, stats: Callable[[], dict[str, Any]]) -> None:
        self.p = platform
        self._faults = faults
        self._stats = stats
        r = self.router = Router()
        r.add("POST", f"{PREFIX}/users", self.register_user)
        r.add("GET", f"{PREFIX}/chats", self.list_chats)
        r.add("POST", f"{PREFIX}/chats", self.create_chat)
        r.add("GET", f"{PREFIX}/chats/{{chatId}}", self.chat_state)
        r.add("GET", f"{PREFIX}/dialogs/{{userId}}", self.dialog_state)
        r.add("POST", f"{PREFIX}/chats/{{chatId}}/bot", self.add_bot)
        r.add("POST", f"{PREFIX}/chats/{{chatId}}/messages", self.post_message)
        r.add("POST", f"{PREFIX}/chats/{{chatId}}/members", self.add_members)
        r.add("POST", f"{PREFIX}/chats/{{chatId}}/remove", self.remove_member)
        r.add("POST", f"{PREFIX}/chats/{{chatId}}/leave", self.leave)
        r.add("POST", f"{PREFIX}/chats/{{chatId}}/admins", self.set_rights)
        r.add("POST", f"{PREFIX}/chats/{{chatId}}/title", self.set_title)
        r.add("POST", f"{PREFIX}/join", self.join)
        r.add("POST", f"{PREFIX}/start", self.start_bot)
        r.add("GET", f"{PREFIX}/stats", self.stats)
        r.add("PUT", f"{PREFIX}/faults", self.set_faults)
        r.add("POST", f"{PREFIX}/faults/arm", self.arm_fault)

    # People

    def register_user(self, req: Request) -> Response:
        body = req.json()
        user_id = _int(body, "user_id")
        first_name = body.get("first_name")
        if not isinstance(first_name, str) or not first_name:
            raise bad_request("first_name is required")
        privacy = body.get("privacy", False)
        if not isinstance(privacy, bool):
            raise bad_request("privacy must be true or false")
        self.p.register(user_id, first_name, _opt_str(body, "last_name"), _opt_str(body, "username"), privacy=privacy)
        return Response(200, {"user_id": user_id})

    def create_chat(self, req: Request) -> Response:
        body = req.json()
        room = self.p.create_chat(_int(body, "as_user"), body.get("title", ""))
        return Response(200, {"chat_id": room.chat_id, "link": room.link})

    def add_bot(self, req: Request) -> Response:
        body = req.json()
        self.p.add_bot(req.param_int("chatId"), _int(body, "as_user"), str_list(body.get("permissions"), "permissions"))
        return Response(200, {"ok": True})

    def post_message(self, req: Request) -> Response:
        body = req.json()
        msg = self.p.post_message(req.param_int("chatId"), _int(body, "as_user"), body.get("text", ""))
        return Response(200, {"message_id": msg.mid})

    def add_members(self, req: Request) -> Response:
        body = req.json()
        result = self.p.add_members(req.param_int("chatId"), _int(body, "as_user"), int_list(body.get("user_ids"), "user_ids"))
        return Response(200, result)

    def remove_member(self, req: Request) -> Response:
        body = req.json()
        block = body.get("block", False)
        if not isinstance(block, bool):
            raise bad_request("block must be true or false")
        result = self.p.remove_member(req.param_int("chatId"), _int(body, "as_user"), _int(body, "user_id"), block=block)
        return _refusal_as_conflict(result)

    def leave(self, req: Request) -> Response:
        self.p.leave(req.param_int("chatId"), _int(req.json(), "user_id"))
        return Response(200, {"ok": True})

    def set_rights(self, req: Request) -> Response:
        """Grant, change (`permissions` non-empty) or revoke (`permissions` empty) admin rights."""
        body = req.json()
        chat_id, actor = req.param_int("chatId"), _int(body, "as_user")
        if body.get("permissions") == []:
            return _refusal_as_conflict(self.p.revoke_admin(chat_id, actor, _int(body, "user_id")))
        entries = admin_entries([{k: body[k] for k in ("user_id", "permissions", "alias") if k in body}])
        return _refusal_as_conflict(self.p.set_admins(chat_id, actor, entries))

    def set_title(self, req: Request) -> Response:
        body = req.json()
        self.p.set_title(req.param_int("chatId"), _int(body, "as_user"), body.get("title", ""))
        return Response(200, {"ok": True})

    def join(self, req: Request) -> Response:
        body = req.json()
        link = body.get("link")
        if not isinstance(link, str):
            raise bad_request("link is required")
        room = self.p.join_by_link(_int(body, "user_id"), link)
        return Response(200, {"chat_id": room.chat_id})

    def start_bot(self, req: Request) -> Response:
        body = req.json()
        dialog = self.p.start_bot(_int(body, "user_id"), _opt_str(body, "payload"))
        return Response(200, {"chat_id": dialog.chat_id})

    # Inspection

    def list_chats(self, req: Request) -> Response:
        with self.p.lock:
            return Response(200, {"chats": [_summary(room) for room in self.p.chats.values()]})

    def chat_state(self, req: Request) -> Response:
        with self.p.lock:
            room = self.p.room(req.param_int("chatId"))
            members = [
                {
                    "user_id": m.user_id,
                    "first_name": self.p.people[m.user_id].first_name,
                    "last_name": self.p.people[m.user_id].last_name,
                    "is_bot": self.p.people[m.user_id].is_bot,
                    "is_owner": m.is_owner,
                    "is_admin": m.is_admin,
                    "permissions": list(m.permissions),
                    "alias": m.alias,
                    "join_time": m.join_time,
                }
                for m in room.members.values()
            ]
            messages = [_message(m) for m in room.messages]
            state = {"members": members, "messages": messages, "pinned_message_id": room.pinned_mid, "blocked": sorted(room.blocked)}
            return Response(200, {**_summary(room), **state})

    def dialog_state(self, req: Request) -> Response:
        """What the bot wrote to one person (and they to it): their dialog."""
        with self.p.lock:
            dialog = self.p.dialogs.get(req.param_int("userId"))
            if dialog is None:
                raise ApiError(404, "not.found", "this person never started the bot")
            messages = [_message(m) for m in dialog.messages]
            return Response(200, {"chat_id": dialog.chat_id, "user_id": dialog.user_id, "messages": messages})

    def stats(self, req: Request) -> Response:
        sub = self.p.subscription
        return Response(
            200,
            {
                **self._stats(),
                "updates_pending": self.p.updates.pending(),
                "subscription": None if sub is None else {"url": sub.url, "update_types": sub.update_types},
                "faults": dataclasses.asdict(self._faults.faults),
            },
        )

    # Faults

    def set_faults(self, req: Request) -> Response:
        try:
            faults = MaxFaults.from_mapping(req.json())
        except (TypeError, ValueError) as e:
            raise bad_request(str(e)) from None
        self._faults.replace(faults)
        return Response(200, dataclasses.asdict(faults))

    def arm_fault(self, req: Request) -> Response:
        body = req.json()
        try:
            route = body.get("route")
            self._faults.arm(str(body.get("kind")), _int(body, "count"), route if isinstance(route, str) else None)
        except ValueError as e:
            raise bad_request(str(e)) from None
        return Response(200, {"ok": True})


def _message(m: StoredMessage) -> dict[str, Any]:
    return {"message_id": m.mid, "sender_id": m.sender_id, "text": m.text, "format": m.format, "timestamp": m.timestamp}


def _summary(room: ChatRoom) -> dict[str, Any]:
    return {
        "chat_id": room.chat_id,
        "title": room.title,
        "owner_id": room.owner_id,
        "link": room.link,
        "bot_status": room.bot_status,
        "members_count": len(room.members),
        "admins_count": len(room.admins()),
        "messages_count": len(room.messages),
    }


def _refusal_as_conflict(result: dict[str, Any]) -> Response:
    if not result["success"]:
        raise ApiError(409, "refused", result.get("message", "refused"))
    return Response(200, result)


def _int(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise bad_request(f"{name} is required (integer)")
    return value


def _opt_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise bad_request(f"{name} must be a string")
    return value
