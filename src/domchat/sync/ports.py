"""What the engine needs from the outside world, as protocols.

The real adapters (`gis_client.GisClient`, `max_client.MaxClient`) satisfy these; so can an
in-memory double in a unit test. The engine never imports an adapter's concrete class.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from domchat.errors import GisError
from domchat.gis_client.types import (
    ActualLicense,
    BasicHouse,
    CAChDocument,
    GuestGrantRecord,
    HouseData,
    OrgRecord,
    VotingMessage,
    VotingProtocol,
)
from domchat.max_client.types import AdminGrant, Chat, ChatMember, Message, ModifyMembersResult, UpdateBatch, User


class GisSource(Protocol):
    def budget(self, seconds: float | None = None) -> AbstractContextManager[None]: ...

    def actual_licenses(
        self, ogrns: Sequence[str], region: str, *, batches: Callable[[list[ActualLicense]], None] | None = None
    ) -> list[ActualLicense]: ...

    def house_data(self, fias_guids: Sequence[str], *, on_error: Callable[[str, GisError], None] | None = None) -> dict[str, HouseData]: ...

    def organisations(self, ogrns: Sequence[str]) -> list[OrgRecord]: ...

    def basic_houses(
        self, fias_guids: Sequence[str], *, on_error: Callable[[str, GisError], None] | None = None
    ) -> dict[str, BasicHouse]: ...

    def guest_grants(self, fias_guids: Sequence[str] | None = None) -> list[GuestGrantRecord]: ...

    def contracts_and_charters(self, houses: Sequence[tuple[str, str]], *, last_version_only: bool = True) -> list[CAChDocument]: ...

    def voting_messages(
        self, fias_guids: Sequence[str], *, on_error: Callable[[str, GisError], None] | None = None
    ) -> dict[str, list[VotingMessage]]: ...

    def voting_protocols(
        self, fias_guids: Sequence[str], *, on_error: Callable[[str, GisError], None] | None = None
    ) -> dict[str, list[VotingProtocol]]: ...


class ChatPlatform(Protocol):
    def me(self) -> User: ...

    def get_chat(self, chat_id: int) -> Chat: ...

    def members(self, chat_id: int) -> Iterator[ChatMember]: ...

    def add_members(self, chat_id: int, user_ids: Sequence[int]) -> ModifyMembersResult: ...

    def remove_member(self, chat_id: int, user_id: int, block: bool = False) -> None: ...

    def grant_admin(self, chat_id: int, user_id: int, permissions: Sequence[str], alias: str | None = None) -> None: ...

    def grant_admins(self, chat_id: int, grants: Sequence[AdminGrant]) -> None: ...

    def revoke_admin(self, chat_id: int, user_id: int) -> None: ...

    def patch_chat(self, chat_id: int, *, title: str | None = None, pin: str | None = None, notify: bool = False) -> Chat: ...

    def send_message(
        self,
        *,
        chat_id: int | None = None,
        user_id: int | None = None,
        text: str,
        notify: bool = True,
        buttons: Sequence[tuple[str, str]] = (),
    ) -> Message: ...

    def messages(self, chat_id: int, *, count: int = 50) -> list[Message]: ...

    def get_updates(self, marker: int | None = None, *, limit: int = 100, timeout: int = 0) -> UpdateBatch: ...


class Progress(Protocol):
    """How far a long phase has got: `done` of `total` items of `phase` (a stable key)."""

    def __call__(self, phase: str, done: int, total: int) -> None: ...


def no_progress(phase: str, done: int, total: int) -> None:
    """Report nothing (the default: cron runs and tests)."""
