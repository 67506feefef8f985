"""The emulated MAX platform: chats, people, the bot, and the rules that bind them.

Every operation takes the acting user (the bot for Bot API calls, a person for the control API)
and applies the same rules to both: rights come from ownership or admin permissions, admins
must be members, at most 50 admins, rights with dependencies, privacy refusals, the owner
stays. Access problems raise `ApiError` 403 `chat.denied`; refusals the platform reports in a
`SimpleQueryResult` are returned as the message of a `success: false` answer.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from domchat.emulators.max import render, rules
from domchat.emulators.max.keyboards import Keyboard
from domchat.emulators.max.model import (
    ChatRoom,
    Dialog,
    Membership,
    Person,
    StoredMessage,
    SubscriptionRecord,
)
from domchat.emulators.max.routing import ApiError, bad_request, denied, not_found
from domchat.emulators.max.updates import UpdateQueue

FIRST_CHAT_ID = 70_000_000_000_001
"""Group chat ids are negative on the platform: the first chat is -70000000000001."""
DIALOG_BASE = 90_000_000_000
"""A dialog's chat id is this plus the person's user id (positive, like the platform's)."""


def ok(message: str | None = None) -> dict[str, Any]:
    return {"success": True} if message is None else {"success": False, "message": message}


class Platform:
    def __init__(self, world: dict[str, Any], *, clock: Callable[[], float]) -> None:
        self.lock = threading.RLock()
        self.updates = UpdateQueue()
        self._clock = clock
        bot = world["bot"]
        self.bot = Person(bot["user_id"], bot.get("name") or bot["username"], username=bot["username"], is_bot=True)
        self.people: dict[int, Person] = {self.bot.user_id: self.bot}
        for u in world.get("users", []):
            self.register(u["user_id"], u["first_name"], u.get("last_name"), u.get("username"), privacy=u.get("privacy", False))
        for uid in world["authority"]["max_accounts"]:
            if uid not in self.people:
                self.register(uid, "Оператор", f"РОИВ {uid}")
        self.chats: dict[int, ChatRoom] = {}
        self.dialogs: dict[int, Dialog] = {}
        self.subscription: SubscriptionRecord | None = None
        self.subscription_changed = threading.Event()
        self._seed = str(world.get("seed", 0))
        self._next_chat = FIRST_CHAT_ID
        self._next_message = 1

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    # People

    def register(
        self, user_id: int, first_name: str, last_name: str | None = None, username: str | None = None, *, privacy: bool = False
    ) -> Person:
        with self.lock:
            if user_id in self.people and self.people[user_id].is_bot:
                raise ApiError(409, "conflict", f"user {user_id} is the bot")
            person = Person(user_id, first_name, last_name, username, privacy, last_activity_time=self.now_ms())
            self.people[user_id] = person
            return person

    def person(self, user_id: int) -> Person:
        p = self.people.get(user_id)
        if p is None:
            raise not_found(f"user {user_id} not found")
        return p

    # Chats as people make them (the Bot API has no way to create a chat)

    def create_chat(self, owner_id: int, title: str) -> ChatRoom:
        with self.lock:
            self.person(owner_id)
            _check_title(title)
            chat_id = -self._next_chat
            self._next_chat += 1
            digest = hashlib.sha256(f"{self._seed}:{chat_id}".encode()).hexdigest()
            now = self.now_ms()
            room = ChatRoom(chat_id, title, owner_id, digest[:24], now, now)
            room.members[owner_id] = Membership(owner_id, now, is_owner=True, is_admin=True, permissions=list(rules.OWNER_PERMISSIONS))
            self.chats[chat_id] = room
            return room

    def room(self, chat_id: int) -> ChatRoom:
        room = self.chats.get(chat_id)
        if room is None:
            raise not_found(f"chat {chat_id} not found")
        return room

    def add_bot(self, chat_id: int, actor: int, permissions: Sequence[str]) -> None:
        """A person adds the bot as an admin with `permissions` (`bot_added`)."""
        with self.lock:
            room = self.room(chat_id)
            self._require(room, actor, "add_admins")
            problem = rules.grant_problem(permissions)
            if problem:
                raise ApiError(400, "proto.payload", problem)
            if len(room.admins()) >= rules.MAX_ADMINS and not _is_admin(room, self.bot.user_id):
                raise ApiError(409, "too.many.admins", f"a chat has at most {rules.MAX_ADMINS} admins")
            now = self.now_ms()
            was_active = room.bot_status == "active"
            room.members[self.bot.user_id] = Membership(self.bot.user_id, now, is_admin=True, permissions=rules.normalise(permissions))
            room.blocked.discard(self.bot.user_id)
            room.bot_status = "active"
            room.last_event_time = now
            if not was_active:
                self._emit("bot_added", chat_id=chat_id, user=render.user(self.person(actor)), is_channel=False)

    def join_by_link(self, user_id: int, link: str) -> ChatRoom:
        with self.lock:
            person = self.person(user_id)
            link_hash = link.rstrip("/").rsplit("/", 1)[-1]
            room = next((r for r in self.chats.values() if r.link_hash == link_hash), None)
            if room is None:
                raise not_found("no chat has this link")
            if user_id in room.blocked:
                raise denied(f"user {user_id} is blocked in chat {room.chat_id}")
            if user_id not in room.members:
                self._join(room, person, inviter=None)
            return room

    def leave(self, chat_id: int, user_id: int) -> None:
        with self.lock:
            room = self.room(chat_id)
            m = room.members.get(user_id)
            if m is None:
                raise ApiError(409, "not.member", f"user {user_id} is not a member of chat {chat_id}")
            if m.is_owner:
                raise ApiError(409, "owner.cannot.leave", "the owner cannot leave the chat")
            self._drop(room, user_id, by=None, block=False)

    def post_message(self, chat_id: int, sender_id: int, text: str) -> StoredMessage:
        """A person writes in a group chat (`message_created` when the bot reads all messages)."""
        with self.lock:
            room = self.room(chat_id)
            if sender_id not in room.members:
                raise denied(f"user {sender_id} is not a member of chat {chat_id}")
            _check_text(text)
            msg = self._store_message(room.messages, chat_id, sender_id, text, None)
            room.last_event_time = msg.timestamp
            if _has(room, self.bot.user_id, "read_all_messages") and room.bot_status == "active":
                self._emit("message_created", message=self._render_message(msg), user_locale=None)
            return msg

    def set_title(self, chat_id: int, actor: int, title: str) -> None:
        with self.lock:
            room = self.room(chat_id)
            self._require(room, actor, "change_chat_info")
            _check_title(title)
            room.title = title
            room.last_event_time = self.now_ms()
            if actor != self.bot.user_id:
                self._emit_in(room, "chat_title_changed", chat_id=chat_id, user=render.user(self.person(actor)), title=title)

    def start_bot(self, user_id: int, payload: str | None) -> Dialog:
        """A person opens the bot by a deep link (`bot_started` with the payload)."""
        with self.lock:
            person = self.person(user_id)
            if payload is not None and len(payload) > 512:
                raise bad_request("payload is longer than 512 characters")
            dialog = self.dialogs.setdefault(user_id, Dialog(DIALOG_BASE + user_id, user_id))
            self._emit("bot_started", chat_id=dialog.chat_id, user=render.user(person), payload=payload, user_locale="ru")
            return dialog

    # Membership and rights, for the bot and people alike

    def add_members(self, chat_id: int, actor: int, user_ids: Sequence[int]) -> dict[str, Any]:
        """Schema `ModifyMembersResult`: who could not be added, and why."""
        if len(user_ids) > rules.MAX_ADD_MEMBERS:
            raise bad_request(f"at most {rules.MAX_ADD_MEMBERS} user_ids per request")
        with self.lock:
            room = self.room(chat_id)
            self._require(room, actor, "add_remove_members")
            inviter = self.person(actor)
            failed: dict[str, list[int]] = {}
            for uid in dict.fromkeys(user_ids):
                person = self.people.get(uid)
                if person is None:
                    failed.setdefault("add.participant.not.found", []).append(uid)
                elif uid in room.members:
                    continue
                elif person.privacy:
                    failed.setdefault("add.participant.privacy", []).append(uid)
                else:
                    room.blocked.discard(uid)
                    self._join(room, person, inviter=inviter.user_id)
            if not failed:
                return {"success": True, "failed_user_ids": None, "failed_user_details": None}
            return {
                "success": False,
                "message": "some users could not be added",
                "failed_user_ids": [u for ids in failed.values() for u in ids],
                "failed_user_details": [{"error_code": code, "user_ids": ids} for code, ids in failed.items()],
            }

    def remove_member(self, chat_id: int, actor: int, user_id: int, *, block: bool) -> dict[str, Any]:
        with self.lock:
            room = self.room(chat_id)
            self._require(room, actor, "add_remove_members")
            m = room.members.get(user_id)
            if m is None:
                return ok(f"user {user_id} is not a member of chat {chat_id}")
            if m.is_owner:
                return ok("the chat owner cannot be removed")
            if m.is_admin and not self._holds(room, actor, "add_admins"):
                return ok("removing an admin needs add_admins")
            self._drop(room, user_id, by=actor, block=block)
            return ok()

    def set_admins(self, chat_id: int, actor: int, entries: Sequence[tuple[int, list[str], str | None]]) -> dict[str, Any]:
        """Grant or replace admin rights (all entries or none); schema `SimpleQueryResult`."""
        with self.lock:
            room = self.room(chat_id)
            self._require(room, actor, "add_admins")
            for user_id, permissions, _alias in entries:
                m = room.members.get(user_id)
                if m is None:
                    return ok(f"user {user_id} is not a member of chat {chat_id}: only members can be admins")
                if m.is_owner:
                    return ok("the owner's rights cannot be changed")
                if user_id == actor:
                    return ok("an admin cannot change their own rights")
                problem = rules.grant_problem(permissions)
                if problem:
                    return ok(problem)
            after = {m.user_id for m in room.admins()} | {uid for uid, _, _ in entries}
            if len(after) > rules.MAX_ADMINS:
                return ok(f"a chat has at most {rules.MAX_ADMINS} admins")
            for user_id, permissions, alias in entries:
                m = room.members[user_id]
                m.is_admin = True
                m.permissions = rules.normalise(permissions)
                m.alias = alias
            room.last_event_time = self.now_ms()
            return ok()

    def revoke_admin(self, chat_id: int, actor: int, user_id: int) -> dict[str, Any]:
        with self.lock:
            room = self.room(chat_id)
            self._require(room, actor, "add_admins")
            m = room.members.get(user_id)
            if m is None or not m.is_admin:
                return ok(f"user {user_id} is not an admin of chat {chat_id}")
            if m.is_owner:
                return ok("the owner's rights cannot be revoked")
            m.is_admin, m.permissions, m.alias = False, [], None
            room.last_event_time = self.now_ms()
            return ok()

    # What the bot can see and do

    def bot_room(self, chat_id: int) -> ChatRoom:
        """A chat the bot is or was in; others do not exist as far as the bot knows."""
        room = self.chats.get(chat_id)
        if room is None or room.bot_status is None:
            raise not_found(f"chat {chat_id} not found")
        return room

    def bot_admin(self, chat_id: int, permission: str | None = None) -> ChatRoom:
        """The chat, when the bot is an active admin there (holding `permission` if given)."""
        room = self.bot_room(chat_id)
        if room.bot_status != "active":
            raise denied(f"the bot is not in chat {chat_id}")
        if not _is_admin(room, self.bot.user_id):
            raise denied(f"the bot is not an admin of chat {chat_id}")
        if permission is not None and not _has(room, self.bot.user_id, permission):
            raise denied(f"the bot has no {permission} right in chat {chat_id}")
        return room

    def render_chat(self, room: ChatRoom) -> dict[str, Any]:
        """Schema `Chat` for one chat, with its pinned message."""
        pinned = room.message(room.pinned_mid) if room.pinned_mid else None
        return {**render.chat(room), "pinned_message": self._render_message(pinned) if pinned else None}

    def render_member(self, room: ChatRoom, user_id: int) -> dict[str, Any]:
        return render.member(self.people[user_id], room.members[user_id])

    def pin(self, chat_id: int, mid: str) -> None:
        with self.lock:
            room = self.bot_admin(chat_id, "pin_message")
            if room.message(mid) is None:
                raise not_found(f"message {mid} not found in chat {chat_id}")
            room.pinned_mid = mid
            room.last_event_time = self.now_ms()

    def bot_leave(self, chat_id: int) -> None:
        with self.lock:
            room = self.bot_room(chat_id)
            if room.bot_status != "active":
                raise denied(f"the bot is not in chat {chat_id}")
            del room.members[self.bot.user_id]
            room.bot_status = "left"

    def send(
        self, *, chat_id: int | None, user_id: int | None, text: str | None, fmt: str | None, keyboard: Keyboard | None = None
    ) -> StoredMessage:
        with self.lock:
            if user_id is not None:
                dialog = self.dialogs.get(user_id)
                if dialog is None:
                    raise denied(f"user {user_id} has not started the bot")
                return self._store_message(
                    dialog.messages, dialog.chat_id, self.bot.user_id, text, fmt, dialog_user=user_id, keyboard=keyboard
                )
            if chat_id is None:
                raise bad_request("chat_id or user_id is required")
            dialog_of = self._dialog_by_chat(chat_id)
            if dialog_of is not None:
                return self._store_message(
                    dialog_of.messages, chat_id, self.bot.user_id, text, fmt, dialog_user=dialog_of.user_id, keyboard=keyboard
                )
            room = self.bot_room(chat_id)
            if room.bot_status != "active":
                raise denied(f"the bot is not in chat {chat_id}")
            msg = self._store_message(room.messages, chat_id, self.bot.user_id, text, fmt, keyboard=keyboard)
            room.last_event_time = msg.timestamp
            return msg

    def bot_message(self, mid: str) -> tuple[list[StoredMessage], StoredMessage]:
        """A message the bot can see, with the list holding it."""
        for room in self.chats.values():
            msg = room.message(mid)
            if msg is not None and room.bot_status == "active":
                return room.messages, msg
        for dialog in self.dialogs.values():
            msg = next((m for m in dialog.messages if m.mid == mid), None)
            if msg is not None:
                return dialog.messages, msg
        raise not_found(f"message {mid} not found")

    def delete_message(self, mid: str) -> None:
        with self.lock:
            holder, msg = self.bot_message(mid)
            room = self.chats.get(msg.chat_id)
            if room is not None and msg.sender_id != self.bot.user_id:
                # Others' messages in a group chat go only with the `write` right.
                self.bot_admin(room.chat_id, "write")
            holder.remove(msg)
            if room is not None and room.pinned_mid == mid:
                room.pinned_mid = None

    def messages_of(self, chat_id: int) -> list[StoredMessage]:
        dialog = self._dialog_by_chat(chat_id)
        if dialog is not None:
            return dialog.messages
        return self.bot_admin(chat_id, "read_all_messages").messages

    def render_message(self, msg: StoredMessage) -> dict[str, Any]:
        return self._render_message(msg)

    # Internals

    def _require(self, room: ChatRoom, actor: int, permission: str) -> None:
        if actor == self.bot.user_id:
            self.bot_admin(room.chat_id, permission)
        elif not self._holds(room, actor, permission):
            raise denied(f"user {actor} has no {permission} right in chat {room.chat_id}")

    def _holds(self, room: ChatRoom, user_id: int, permission: str) -> bool:
        m = room.members.get(user_id)
        return m is not None and (m.is_owner or (m.is_admin and permission in m.permissions))

    def _join(self, room: ChatRoom, person: Person, *, inviter: int | None) -> None:
        now = self.now_ms()
        room.members[person.user_id] = Membership(person.user_id, now)
        room.last_event_time = now
        self._emit_in(room, "user_added", chat_id=room.chat_id, user=render.user(person), inviter_id=inviter, is_channel=False)

    def _drop(self, room: ChatRoom, user_id: int, *, by: int | None, block: bool) -> None:
        del room.members[user_id]
        if block:
            room.blocked.add(user_id)
        room.last_event_time = self.now_ms()
        if user_id == self.bot.user_id:
            room.bot_status = "removed"
            remover = self.person(by) if by is not None else self.bot
            self._emit("bot_removed", chat_id=room.chat_id, user=render.user(remover), is_channel=False)
        else:
            self._emit_in(room, "user_removed", chat_id=room.chat_id, user=render.user(self.people[user_id]), admin_id=by, is_channel=False)

    def _store_message(
        self,
        holder: list[StoredMessage],
        chat_id: int,
        sender: int,
        text: str | None,
        fmt: str | None,
        *,
        dialog_user: int | None = None,
        keyboard: Keyboard | None = None,
    ) -> StoredMessage:
        n = self._next_message
        self._next_message += 1
        msg = StoredMessage(f"mid.{n:032x}", n, chat_id, sender, text, self.now_ms(), fmt, dialog_user, keyboard)
        holder.append(msg)
        return msg

    def _render_message(self, msg: StoredMessage) -> dict[str, Any]:
        return render.message(msg, self.people[msg.sender_id])

    def _dialog_by_chat(self, chat_id: int) -> Dialog | None:
        user_id = chat_id - DIALOG_BASE
        dialog = self.dialogs.get(user_id)
        return dialog if dialog is not None and dialog.chat_id == chat_id else None

    def _emit_in(self, room: ChatRoom, update_type: str, **fields: Any) -> None:
        # The bot hears about a group chat's events only while it is an admin there.
        if room.bot_status == "active" and _is_admin(room, self.bot.user_id):
            self._emit(update_type, **fields)

    def _emit(self, update_type: str, **fields: Any) -> None:
        self.updates.push({"update_type": update_type, "timestamp": self.now_ms(), **fields})


def _is_admin(room: ChatRoom, user_id: int) -> bool:
    m = room.members.get(user_id)
    return m is not None and m.is_admin


def _has(room: ChatRoom, user_id: int, permission: str) -> bool:
    m = room.members.get(user_id)
    return m is not None and m.is_admin and permission in m.permissions


def _check_title(title: object) -> None:
    if not isinstance(title, str) or not 1 <= len(title) <= rules.MAX_TITLE:
        raise bad_request(f"title must be 1 to {rules.MAX_TITLE} characters")


def _check_text(text: object) -> None:
    if not isinstance(text, str) or len(text) > rules.MAX_TEXT:
        raise bad_request(f"text must be a string of at most {rules.MAX_TEXT} characters")


def int_list(value: object, name: str) -> list[int]:
    """A JSON array of integers (booleans are not integers here)."""
    if not isinstance(value, list) or not all(isinstance(x, int) and not isinstance(x, bool) for x in value):
        raise bad_request(f"{name} must be an array of integers")
    return list(value)


def str_list(value: object, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise bad_request(f"{name} must be an array of strings")
    return list(value)


def admin_entries(raw: Iterable[Any]) -> list[tuple[int, list[str], str | None]]:
    """Schema `ChatAdmin` items as `(user_id, permissions, alias)`."""
    out = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("user_id"), int):
            raise bad_request("each admin needs an integer user_id")
        alias = item.get("alias")
        if alias is not None and not isinstance(alias, str):
            raise bad_request("alias must be a string")
        out.append((item["user_id"], str_list(item.get("permissions"), "permissions"), alias))
    return out
