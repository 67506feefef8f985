"""MAX updates: stored before they are acknowledged, then handled in order.

Handling an update changes only the database (a binding, an enrolment, the observed chat
state) and queues the bot's answer as a `SendNotice` action in the same transaction, so a
crash never loses an update nor sends an answer twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from domchat.clock import Clock
from domchat.errors import MaxApiError
from domchat.mapping.templates import Templates
from domchat.max_client.types import Update
from domchat.storage import repo
from domchat.storage.audit import AuditEvent, append
from domchat.storage.db import transaction
from domchat.storage.tables import (
    ActionRow,
    BindingCodeRow,
    BindingRow,
    BuildingRow,
    ChatRow,
    CodeAttemptRow,
    InviteRow,
    OrganisationRow,
    StaffRow,
    UpdateRow,
)
from domchat.sync import tokens
from domchat.sync.actions import SendNotice
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
        store(db, clock, [u.raw for u in batch.updates], batch.marker)
        n += len(batch.updates)


def store(db: Engine, clock: Clock, raw_updates: list[dict[str, Any]], marker: int | None) -> None:
    now = clock.now()
    with transaction(db) as s:
        for raw in raw_updates:
            s.add(UpdateRow(received_at=now, update_type=str(raw.get("update_type", "")), body=json.dumps(raw, ensure_ascii=False)))
        if marker is not None:
            repo.set_bookmark(s, MARKER, str(marker), now)


@dataclass(frozen=True)
class Context:
    db: Engine
    platform: ChatPlatform
    clock: Clock
    templates: Templates
    authority_accounts: frozenset[int]
    bot_user_id: int
    code_attempts: int
    run_id: str
    actor: str = "daemon"


def process(ctx: Context, parse: Any) -> int:
    """Handle stored, unprocessed updates in arrival order; returns how many."""
    with Session(ctx.db) as s:
        rows = list(s.exec(select(UpdateRow).where(col(UpdateRow.processed_at).is_(None)).order_by(col(UpdateRow.id))))
    for row in rows:
        update: Update = parse(json.loads(row.body))
        facts = _look(ctx, update)
        with transaction(ctx.db) as s:
            stored = s.get(UpdateRow, row.id)
            if stored is None or stored.processed_at is not None:
                continue
            _handle(ctx, s, update, facts, row.id or 0)
            stored.processed_at = ctx.clock.now()
            s.add(stored)
    return len(rows)


@dataclass(frozen=True)
class _Facts:
    """What an update's handling needs to know from MAX, read before the transaction."""

    owner_id: int | None = None
    read_error: str = ""


def _look(ctx: Context, u: Update) -> _Facts:
    if u.update_type == "message_created" and u.message is not None and u.chat_id is not None and u.message.text:
        if tokens.find_code(u.message.text) is None:
            return _Facts()
        try:
            return _Facts(owner_id=ctx.platform.get_chat(u.chat_id).owner_id)
        except MaxApiError as e:
            return _Facts(read_error=str(e))
    return _Facts()


def _handle(ctx: Context, s: Session, u: Update, facts: _Facts, update_id: int) -> None:
    kind = u.update_type
    if kind == "message_created" and u.message is not None and u.message.text and u.chat_id is not None:
        code = tokens.find_code(u.message.text)
        if code is not None and u.message.sender_id != ctx.bot_user_id:
            _bind(ctx, s, u.chat_id, code, u.message.sender_id, facts, update_id)
    elif kind == "bot_started" and u.payload and u.user is not None and u.chat_id is not None:
        if u.payload.startswith(tokens.STAFF_PREFIX):
            _enrol(ctx, s, u.chat_id, u.user.user_id, u.payload, update_id)
    elif kind == "bot_removed" and u.chat_id is not None:
        _bot_removed(ctx, s, u.chat_id, u.user.user_id if u.user else None)
    elif kind in ("user_added", "user_removed") and u.chat_id is not None and u.user is not None:
        _member_event(ctx, s, u)
    elif kind == "chat_title_changed" and u.chat_id is not None:
        repo.set_chat_fields(s, u.chat_id, ctx.clock.now(), title=u.title)


def _audit(ctx: Context, s: Session, action: str, outcome: str, **kw: Any) -> None:
    append(s, AuditEvent(actor=ctx.actor, trigger="max-update", action=action, outcome=outcome, run_id=ctx.run_id, **kw), ctx.clock.now())


def _notice(ctx: Context, s: Session, chat_id: int, building: str, text: str, update_id: int) -> None:
    a = SendNotice(chat_id=chat_id, building=building, text=text, ref=f"update:{update_id}", reason="answer to an update")
    s.add(
        ActionRow(
            key=a.key(),
            run_id=ctx.run_id,
            kind=a.kind,
            chat_id=chat_id,
            building=building,
            payload=json.dumps(a.payload(), ensure_ascii=False, sort_keys=True),
            reason=a.reason,
            created_at=ctx.clock.now(),
        )
    )


@dataclass(frozen=True)
class _Refusal:
    reason_key: str
    """Key of the Russian reason in the `reasons` template."""
    detail: str
    """What the audit trail records."""
    building: str | None = None


def _judge(ctx: Context, s: Session, chat_id: int, code_row: BindingCodeRow | None, facts: _Facts, now: datetime) -> str | _Refusal:
    """The building a posted code binds this chat to, or why it does not."""
    if code_row is None or code_row.status != "active":
        return _Refusal("unknown_code", "code unknown, used or superseded")
    building = code_row.building
    if code_row.expires_at <= now:
        code_row.status = "expired"
        s.add(code_row)
        return _Refusal("expired_code", f"code expired at {code_row.expires_at.isoformat()}", building)
    if facts.read_error:
        return _Refusal("wrong_owner", f"could not read the chat's owner: {facts.read_error}", building)
    if facts.owner_id not in ctx.authority_accounts:
        return _Refusal("wrong_owner", f"chat owner {facts.owner_id} is not one of the authority's accounts", building)
    if s.get(BindingRow, building) is not None:
        return _Refusal("building_bound", "the building already has a chat", building)
    if s.exec(select(BindingRow).where(BindingRow.chat_id == chat_id)).first() is not None:
        return _Refusal("chat_bound", "the chat is already bound to another building", building)
    return building


def _bind(ctx: Context, s: Session, chat_id: int, code: str, sender: int | None, facts: _Facts, update_id: int) -> None:
    now = ctx.clock.now()
    attempts = s.get(CodeAttemptRow, chat_id)
    if attempts is not None and attempts.failures >= ctx.code_attempts:
        _audit(ctx, s, "chat.bind", "refused", chat_id=chat_id, user_id=sender, reason=f"{attempts.failures} wrong codes in this chat")
        return
    code_row = s.get(BindingCodeRow, tokens.digest(code))
    verdict = _judge(ctx, s, chat_id, code_row, facts, now)
    if isinstance(verdict, _Refusal):
        if verdict.reason_key in ("unknown_code", "expired_code"):
            attempts = attempts or CodeAttemptRow(chat_id=chat_id, failures=0, last_at=now)
            attempts.failures += 1
            attempts.last_at = now
            s.add(attempts)
        _audit(ctx, s, "chat.bind", "refused", building=verdict.building, chat_id=chat_id, user_id=sender, reason=verdict.detail)
        text = ctx.templates.render("binding_refused", reason=ctx.templates.reason(verdict.reason_key))
        _notice(ctx, s, chat_id, verdict.building or "", text, update_id)
        return
    assert code_row is not None and facts.owner_id is not None
    s.add(BindingRow(building=verdict, chat_id=chat_id, bound_at=now, bound_by=facts.owner_id))
    code_row.status, code_row.used_at, code_row.used_in_chat = "used", now, chat_id
    s.add(code_row)
    address = s.get(BuildingRow, verdict)
    after = {"chat_id": chat_id, "owner_id": facts.owner_id}
    _audit(
        ctx,
        s,
        "chat.bind",
        "done",
        building=verdict,
        chat_id=chat_id,
        user_id=facts.owner_id,
        after=after,
        reason=f"binding code posted by {sender}",
    )
    text = ctx.templates.render("binding_accepted", address=address.address if address else verdict)
    _notice(ctx, s, chat_id, verdict, text, update_id)


def _enrol(ctx: Context, s: Session, dialog_id: int, user_id: int, payload: str, update_id: int) -> None:
    now = ctx.clock.now()
    invite = s.get(InviteRow, tokens.digest(payload))
    if invite is None or invite.used_at is not None:
        _audit(ctx, s, "staff.enrol", "refused", user_id=user_id, reason="enrolment link unknown or already used")
        _notice(ctx, s, dialog_id, "", ctx.templates.render("enrolment_refused", reason=ctx.templates.reason("unknown_link")), update_id)
        return
    if invite.expires_at <= now:
        _audit(
            ctx,
            s,
            "staff.enrol",
            "refused",
            org=invite.org,
            user_id=user_id,
            reason=f"enrolment link expired at {invite.expires_at.isoformat()}",
        )
        _notice(ctx, s, dialog_id, "", ctx.templates.render("enrolment_refused", reason=ctx.templates.reason("expired_link")), update_id)
        return
    invite.used_at, invite.used_by = now, user_id
    s.add(invite)
    row = s.get(StaffRow, (invite.org, user_id))
    if row is None:
        s.add(StaffRow(org=invite.org, user_id=user_id, enrolled_at=now))
    else:
        row.revoked_at = None
        s.add(row)
    org = s.get(OrganisationRow, invite.org)
    _audit(ctx, s, "staff.enrol", "done", org=invite.org, user_id=user_id, reason=f"personal link issued by {invite.created_by}")
    _notice(ctx, s, dialog_id, "", ctx.templates.render("enrolment_accepted", org_name=org.name if org else invite.org), update_id)


def _bot_removed(ctx: Context, s: Session, chat_id: int, by: int | None) -> None:
    binding = s.exec(select(BindingRow).where(BindingRow.chat_id == chat_id)).first()
    chat = s.get(ChatRow, chat_id)
    if chat is not None:
        chat.status, chat.observed_at = "removed", ctx.clock.now()
        s.add(chat)
    building = binding.building if binding else None
    _audit(
        ctx,
        s,
        "chat.bot_removed",
        "alert",
        building=building,
        chat_id=chat_id,
        user_id=by,
        reason="the bot was removed from the chat: it can no longer keep it right",
    )
    log.error("bot removed from a chat", chat_id=chat_id, building=building, by=by)


def _member_event(ctx: Context, s: Session, u: Update) -> None:
    assert u.chat_id is not None and u.user is not None
    if s.get(ChatRow, u.chat_id) is None:
        return  # not a chat we keep (yet)
    if u.update_type == "user_added":
        repo.add_member(s, u.chat_id, u.user.user_id)
    else:
        repo.set_member(s, u.chat_id, u.user.user_id, None)


def issue_code(s: Session, building: str, now: datetime, ttl: timedelta) -> str:
    """A fresh binding code for `building`; earlier active codes stop working."""
    for old in s.exec(select(BindingCodeRow).where(BindingCodeRow.building == building, BindingCodeRow.status == "active")):
        old.status = "superseded"
        s.add(old)
    code = tokens.new_code()
    s.add(BindingCodeRow(code_hash=tokens.digest(code), building=building, created_at=now, expires_at=now + ttl))
    return code


def issue_invite(s: Session, org: str, now: datetime, ttl: timedelta, created_by: str) -> str:
    token = tokens.new_link_token(tokens.STAFF_PREFIX)
    s.add(InviteRow(token_hash=tokens.digest(token), org=org, created_at=now, expires_at=now + ttl, created_by=created_by))
    return token
