"""MAX updates: stored before they are acknowledged, then handled in order.

Handling an update changes only the database (a binding, an enrolment, the observed chat
state) and queues the bot's answer as a `SendNotice` action in the same transaction, so a
crash never loses an update nor sends an answer twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from domchat.clock import Clock
from domchat.domain.reasons import because
from domchat.errors import MaxApiError
from domchat.max_client.polling import update_key
from domchat.max_client.types import Update
from domchat.storage import repo
from domchat.storage.db import transaction
from domchat.storage.tables import (
    BindingRow,
    ChatRow,
    UpdateRow,
)
from domchat.sync import binding, enrolment, residents, tokens
from domchat.sync.binding import OwnerFacts
from domchat.sync.crash import crash_point
from domchat.sync.handling import Context, audit
from domchat.sync.ports import ChatPlatform

log = structlog.get_logger("domchat.updates")

MARKER = "max.updates.marker"


def fetch(db: Engine, platform: ChatPlatform, clock: Clock, *, limit: int = 1000) -> int:
    """Pull every waiting update; each batch is stored together with the marker that acknowledges it."""
    n = 0
    while True:
        with Session(db) as s:
            marker = repo.get_bookmark(s, MARKER)
        batch = platform.get_updates(int(marker) if marker else None, limit=limit, timeout=0)
        if not batch.updates:
            return n
        store(db, clock, batch.updates, batch.marker)
        crash_point("updates", "after_store")
        n += len(batch.updates)


def store(db: Engine, clock: Clock, batch: Sequence[Update], marker: int | None = None) -> int:
    """Keep updates (each once, however often delivered, even by two receivers at the same
    moment: the daemon's first cycle may fetch while its receiver starts) and, with them, the
    marker that acknowledges them."""
    now = clock.now()
    new = 0
    with transaction(db) as s:
        for u in batch:
            new += repo.add_update(s, update_key(u), now, u.update_type, json.dumps(u.raw, ensure_ascii=False))
        if marker is not None:
            repo.set_bookmark(s, MARKER, str(marker), now)
    return new


def process(ctx: Context, parse: Callable[[dict[str, Any]], Update]) -> int:
    """Handle stored, unprocessed updates in arrival order; returns how many."""
    with Session(ctx.db) as s:
        rows = list(s.exec(select(UpdateRow).where(col(UpdateRow.processed_at).is_(None)).order_by(col(UpdateRow.id))))
    for row in rows:
        update = parse(json.loads(row.body))
        facts = _look(ctx, update)
        with transaction(ctx.db) as s:
            stored = s.get(UpdateRow, row.id)
            if stored is None or stored.processed_at is not None:
                continue
            _handle(ctx, s, update, facts, row.id or 0)
            stored.processed_at = ctx.clock.now()
            s.add(stored)
            crash_point("update", "before_commit")
    return len(rows)


ANSWERED = frozenset({"bot_started", "bot_added", "bot_removed", "user_added", "user_removed", "chat_title_changed"})
"""Kinds of update `_handle` acts on whatever they carry (messages: only codes and commands)."""


def urgent(u: Update) -> bool:
    """Whether handling `u` changes something (a binding, an enrolment, members, the bot's
    place), so that the daemon handles it at once; residents' chatter waits for the next cycle
    (a cycle per message would plan the whole region again and again)."""
    if u.update_type == "message_created":
        text = (u.message.text if u.message is not None else None) or ""
        return tokens.find_code(text) is not None or text.startswith("/")
    return u.update_type in ANSWERED


def _look(ctx: Context, u: Update) -> OwnerFacts:
    if u.update_type == "message_created" and u.message is not None and u.chat_id is not None and u.message.text:
        if tokens.find_code(u.message.text) is None:
            return OwnerFacts()
        try:
            return OwnerFacts(owner_id=ctx.platform.get_chat(u.chat_id).owner_id)
        except MaxApiError as e:
            return OwnerFacts(read_error=str(e))
    return OwnerFacts()


def _handle(ctx: Context, s: Session, u: Update, facts: OwnerFacts, update_id: int) -> None:
    kind = u.update_type
    if kind == "message_created" and u.message is not None and u.message.text and u.chat_id is not None:
        code = tokens.find_code(u.message.text)
        sender = u.message.sender_id
        if code is not None and sender != ctx.bot_user_id:
            binding.bind(ctx, s, u.chat_id, code, sender, facts, update_id)
        elif u.message.text.startswith("/") and sender is not None:
            residents.staff_invitation(ctx, s, u.chat_id, sender, u.message.text, update_id)
    elif kind == "bot_started" and u.payload and u.user is not None and u.chat_id is not None:
        if u.payload.startswith(tokens.STAFF_PREFIX):
            enrolment.enrol(ctx, s, u.chat_id, u.user.user_id, u.payload, update_id)
        elif u.payload.startswith(tokens.RESIDENT_PREFIX):
            residents.join(ctx, s, u.chat_id, u.user.user_id, u.payload, update_id)
    elif kind == "bot_removed" and u.chat_id is not None:
        _bot_removed(ctx, s, u.chat_id, u.user.user_id if u.user else None)
    elif kind == "bot_added" and u.chat_id is not None:
        _bot_back(ctx, s, u.chat_id, u.user.user_id if u.user else None)
    elif kind in ("user_added", "user_removed") and u.chat_id is not None and u.user is not None:
        _member_event(ctx, s, u)
    elif kind == "chat_title_changed" and u.chat_id is not None:
        repo.set_chat_fields(s, u.chat_id, ctx.clock.now(), title=u.title)


def _bot_removed(ctx: Context, s: Session, chat_id: int, by: int | None) -> None:
    bound = s.exec(select(BindingRow).where(BindingRow.chat_id == chat_id)).first()
    chat = s.get(ChatRow, chat_id)
    if chat is not None:
        chat.status, chat.observed_at = "removed", ctx.clock.now()
        s.add(chat)
    building = bound.building if bound else None
    audit(
        ctx,
        s,
        "chat.bot_removed",
        "alert",
        building=building,
        chat_id=chat_id,
        user_id=by,
        reason=because("bot_removed"),
    )
    log.error("chat.bot_removed", chat_id=chat_id, building=building, by=by)


def _bot_back(ctx: Context, s: Session, chat_id: int, by: int | None) -> None:
    """The bot is in a bound chat again: forget what was seen there, so the next plan reads it afresh."""
    bound = s.exec(select(BindingRow).where(BindingRow.chat_id == chat_id)).first()
    chat = s.get(ChatRow, chat_id)
    if bound is None or chat is None:
        return  # a new chat: binding starts when a code is posted
    repo.forget_chat(s, chat_id)
    audit(ctx, s, "chat.bot_added", "done", building=bound.building, chat_id=chat_id, user_id=by, reason=because("bot_back"))


def _member_event(ctx: Context, s: Session, u: Update) -> None:
    assert u.chat_id is not None and u.user is not None
    if s.get(ChatRow, u.chat_id) is None:
        return  # not a chat we keep (yet)
    if u.update_type == "user_added":
        repo.add_member(s, u.chat_id, u.user.user_id)
        return
    repo.set_member(s, u.chat_id, u.user.user_id, None)
    if u.admin_id is None:
        # Left on their own. A resident may: they are not added back (they can rejoin by the
        # chat's link). Staff and the authority's accounts are put back: the chat needs them.
        residents.left(ctx, s, u.chat_id, u.user.user_id)
