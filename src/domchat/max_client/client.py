"""`MaxClient`: the MAX Bot API calls domchat makes, typed.

Refusals never pass silently: an HTTP error becomes `MaxApiError` with the platform's `code`;
a `success: false` answer becomes `MaxApiError` with code `success.false`, except for adding
members, where per-user failures (privacy, not found) are the normal case and come back as a
`ModifyMembersResult` to act on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Self

from domchat.errors import MaxError
from domchat.max_client import parse
from domchat.max_client.ratelimit import RateLimiter, client_rate, shared_limiter
from domchat.max_client.transport import Query, Transport, require_success
from domchat.max_client.types import (
    AdminGrant,
    Chat,
    ChatMember,
    Message,
    ModifyMembersResult,
    Subscription,
    UpdateBatch,
    User,
)
from domchat.settings import MaxSettings, Secret

PAGE = 100
"""Most members one `GET /chats/{id}/members` returns, and most ids one add or lookup takes."""


class MaxClient:
    def __init__(
        self,
        settings: MaxSettings,
        token: Secret,
        *,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`limiter` defaults to the process-wide bucket of this token (see `ratelimit`)."""
        self._settings = settings
        self._t = Transport(settings, token, limiter or shared_limiter(token, client_rate(settings)), sleep)

    def __repr__(self) -> str:
        return f"MaxClient({self._settings.base_url!r})"

    def close(self) -> None:
        self._t.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # The bot and its chats

    def me(self) -> User:
        return parse.parsed(parse.user, self._t.call("GET", "/me"), "GET /me")

    def get_chat(self, chat_id: int) -> Chat:
        path = f"/chats/{chat_id}"
        return parse.parsed(parse.chat, self._t.call("GET", path), f"GET {path}")

    def patch_chat(self, chat_id: int, *, title: str | None = None, pin: str | None = None, notify: bool = False) -> Chat:
        """Change the title and/or pin a message (by `mid`); answers the chat as it now is."""
        body: dict[str, Any] = {"notify": notify}
        if title is not None:
            body["title"] = title
        if pin is not None:
            body["pin"] = pin
        path = f"/chats/{chat_id}"
        return parse.parsed(parse.chat, self._t.call("PATCH", path, body=body), f"PATCH {path}")

    def pin_message(self, chat_id: int, message_id: str, notify: bool = False) -> None:
        self._simple("PUT", f"/chats/{chat_id}/pin", body={"message_id": message_id, "notify": notify})

    def membership(self, chat_id: int) -> ChatMember:
        """The bot's own membership and rights in a chat."""
        path = f"/chats/{chat_id}/members/me"
        return parse.parsed(parse.member, self._t.call("GET", path), f"GET {path}")

    # Members and admins

    def members(self, chat_id: int, *, page_size: int = PAGE) -> Iterator[ChatMember]:
        """Every member, following `marker` from page to page."""
        path = f"/chats/{chat_id}/members"
        marker: int | None = None
        while True:
            answer = self._t.call("GET", path, query={"count": page_size, "marker": marker})
            page, next_marker = parse.parsed(parse.members, answer, f"GET {path}")
            yield from page
            if next_marker is None:
                return
            if next_marker == marker:
                # A server that hands back the marker it was given would loop us forever.
                raise MaxError(f"MAX GET {path}: paging marker {marker} did not advance")
            marker = next_marker

    def members_by_ids(self, chat_id: int, ids: Iterable[int]) -> list[ChatMember]:
        """Those of `ids` who are members (non-members are simply absent)."""
        path = f"/chats/{chat_id}/members"
        found: list[ChatMember] = []
        for chunk in _chunks(list(dict.fromkeys(ids)), PAGE):
            answer = self._t.call("GET", path, query={"user_ids": ",".join(map(str, chunk))})
            found.extend(parse.parsed(parse.members, answer, f"GET {path}")[0])
        return found

    def add_members(self, chat_id: int, user_ids: Iterable[int]) -> ModifyMembersResult:
        """Add people, 100 per call; who could not be added (and why) is in the result."""
        path = f"/chats/{chat_id}/members"
        results = [
            parse.parsed(parse.modify_result, self._t.call("POST", path, body={"user_ids": chunk}), f"POST {path}")
            for chunk in _chunks(list(dict.fromkeys(user_ids)), PAGE)
        ]
        return _merge(results)

    def remove_member(self, chat_id: int, user_id: int, block: bool = False) -> None:
        self._simple("DELETE", f"/chats/{chat_id}/members", query={"user_id": user_id, "block": block})

    def admins(self, chat_id: int) -> list[ChatMember]:
        path = f"/chats/{chat_id}/members/admins"
        return parse.parsed(parse.members, self._t.call("GET", path), f"GET {path}")[0]

    def grant_admin(self, chat_id: int, user_id: int, permissions: Iterable[str], alias: str | None = None) -> None:
        """Make a member an admin; the rights replace any held before."""
        self.grant_admins(chat_id, [AdminGrant(user_id, frozenset(permissions), alias)])

    def grant_admins(self, chat_id: int, grants: Sequence[AdminGrant]) -> None:
        """Several grants in one call: the platform applies all of them or none."""
        admins = []
        for g in grants:
            entry: dict[str, Any] = {"user_id": g.user_id, "permissions": sorted(g.permissions)}
            if g.alias is not None:
                entry["alias"] = g.alias
            admins.append(entry)
        self._simple("POST", f"/chats/{chat_id}/members/admins", body={"admins": admins})

    def revoke_admin(self, chat_id: int, user_id: int) -> None:
        """Take admin rights away; the user stays a member."""
        self._simple("DELETE", f"/chats/{chat_id}/members/admins/{user_id}")

    # Messages

    def send_message(
        self,
        *,
        chat_id: int | None = None,
        user_id: int | None = None,
        text: str,
        notify: bool = True,
        format: str | None = None,
        buttons: Sequence[tuple[str, str]] = (),
    ) -> Message:
        """Send to a chat or to a person (who must have started the bot); `buttons` (text, URL)
        become an inline keyboard of link buttons, one per row (a row shows one label whole).

        Not retried after a 5xx or a lost answer (it may have been delivered): that fails as
        `MaxUnavailable`, and the caller checks `messages()` before sending again.
        """
        if (chat_id is None) == (user_id is None):
            raise ValueError("send_message needs exactly one of chat_id and user_id")
        body: dict[str, Any] = {"text": text, "notify": notify, "format": format}
        if buttons:
            rows = [[{"type": "link", "text": label, "url": url}] for label, url in buttons]
            body["attachments"] = [{"type": "inline_keyboard", "payload": {"buttons": rows}}]
        answer = self._t.call("POST", "/messages", query={"chat_id": chat_id, "user_id": user_id}, body=body, idempotent=False)
        return parse.parsed(lambda d: parse.message(d["message"]), answer, "POST /messages")

    def edit_message(self, message_id: str, *, text: str, notify: bool = True, format: str | None = None) -> None:
        self._simple("PUT", "/messages", query={"message_id": message_id}, body={"text": text, "notify": notify, "format": format})

    def delete_message(self, message_id: str) -> None:
        self._simple("DELETE", "/messages", query={"message_id": message_id})

    def messages(self, chat_id: int, *, count: int = 50, from_: int | None = None, to: int | None = None) -> list[Message]:
        """Newest first; `from_` bounds the newest and `to` the oldest timestamp (ms) taken."""
        answer = self._t.call("GET", "/messages", query={"chat_id": chat_id, "count": count, "from": from_, "to": to})
        return parse.parsed(lambda d: [parse.message(m) for m in d["messages"]], answer, "GET /messages")

    # Updates and webhooks

    def get_updates(
        self, marker: int | None = None, *, limit: int = 100, timeout: int = 0, types: Iterable[str] | None = None
    ) -> UpdateBatch:
        """One long poll: waits up to `timeout` s for updates from `marker` on.

        Passing a marker acknowledges every update before it; the answer's marker is the one
        to pass next, once this batch is stored.
        """
        query: Query = {"marker": marker, "limit": limit, "timeout": timeout, "types": ",".join(types) if types else None}
        answer = self._t.call("GET", "/updates", query=query, wait=timeout)
        return parse.parsed(parse.update_batch, answer, "GET /updates")

    def subscriptions(self) -> list[Subscription]:
        answer = self._t.call("GET", "/subscriptions")
        return parse.parsed(lambda d: [parse.subscription(s) for s in d["subscriptions"]], answer, "GET /subscriptions")

    def subscribe(self, url: str, *, update_types: Iterable[str] | None = None, secret: Secret | None = None) -> None:
        """Have updates POSTed to `url` (HTTPS, port 443); long polling stops meanwhile."""
        body: dict[str, Any] = {"url": url}
        if update_types:
            body["update_types"] = list(update_types)
        if secret:
            body["secret"] = secret.reveal()
        self._simple("POST", "/subscriptions", body=body)

    def unsubscribe(self, url: str) -> None:
        self._simple("DELETE", "/subscriptions", query={"url": url})

    def _simple(self, method: str, path: str, *, query: Query | None = None, body: Any = None) -> None:
        require_success(self._t.call(method, path, query=query, body=body), f"{method} {path}")


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _merge(results: list[ModifyMembersResult]) -> ModifyMembersResult:
    details: dict[str, tuple[int, ...]] = {}
    for r in results:
        for code, ids in r.failed_user_details:
            details[code] = details.get(code, ()) + ids
    return ModifyMembersResult(
        success=all(r.success for r in results),
        message=next((r.message for r in results if r.message), None),
        failed_user_ids=tuple(u for r in results for u in r.failed_user_ids),
        failed_user_details=tuple(details.items()),
    )
