"""Chat binding: one-time codes that make a chat a building's chat.

Only a chat owned by one of the authority's accounts can be bound; a code is single-use,
expires, and a chat that posts too many wrong codes is no longer heard (nor, across chats, a
user or everyone together past the guess limits: `sync.guessing`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from domchat import metrics
from domchat.domain.reasons import because
from domchat.storage.tables import BindingCodeRow, BindingRow, BuildingRow, CodeAttemptRow
from domchat.sync import tokens
from domchat.sync.handling import Context, audit, guess_heard, guess_wrong, notice


@dataclass(frozen=True)
class OwnerFacts:
    """What binding needs to know from MAX, read before the transaction."""

    owner_id: int | None = None
    read_error: str = ""


@dataclass(frozen=True)
class _Refusal:
    reason_key: str
    """Key of the Russian reason in the `reasons` template."""
    detail: str
    """What the audit trail records (a reason key with its values)."""
    building: str | None = None


def _judge(ctx: Context, s: Session, chat_id: int, code_row: BindingCodeRow | None, facts: OwnerFacts, now: datetime) -> str | _Refusal:
    """The building a posted code binds this chat to, or why it does not."""
    if code_row is None or code_row.status != "active":
        return _Refusal("unknown_code", because("code_unknown"))
    building = code_row.building
    if code_row.expires_at <= now:
        code_row.status = "expired"
        s.add(code_row)
        return _Refusal("expired_code", because("code_expired", at=code_row.expires_at.isoformat()), building)
    if facts.read_error:
        return _Refusal("wrong_owner", because("owner_unreadable", detail=facts.read_error), building)
    if facts.owner_id not in ctx.authority_accounts:
        return _Refusal("wrong_owner", because("owner_not_authority", owner=str(facts.owner_id)), building)
    if s.get(BindingRow, building) is not None:
        return _Refusal("building_bound", because("building_bound"), building)
    if s.exec(select(BindingRow).where(BindingRow.chat_id == chat_id)).first() is not None:
        return _Refusal("chat_bound", because("chat_bound"), building)
    return building


def bind(ctx: Context, s: Session, chat_id: int, code: str, sender: int | None, facts: OwnerFacts, update_id: int) -> None:
    now = ctx.clock.now()
    if not guess_heard(ctx, s, sender):
        return
    attempts = s.get(CodeAttemptRow, chat_id)
    if attempts is not None and attempts.failures >= ctx.code_attempts:
        metrics.code_rejected("too_many")
        audit(ctx, s, "chat.bind", "refused", chat_id=chat_id, user_id=sender, reason=because("code_attempts", failures=attempts.failures))
        return
    code_row = s.get(BindingCodeRow, tokens.digest(code))
    verdict = _judge(ctx, s, chat_id, code_row, facts, now)
    if isinstance(verdict, _Refusal):
        metrics.code_rejected(verdict.reason_key)
        if verdict.reason_key in ("unknown_code", "expired_code"):
            attempts = attempts or CodeAttemptRow(chat_id=chat_id, failures=0, last_at=now)
            attempts.failures += 1
            attempts.last_at = now
            s.add(attempts)
            if not guess_wrong(ctx, s, f"a binding code in chat {chat_id}", sender, chat_id):
                return
        audit(ctx, s, "chat.bind", "refused", building=verdict.building, chat_id=chat_id, user_id=sender, reason=verdict.detail)
        text = ctx.templates.render("binding_refused", reason=ctx.templates.reason(verdict.reason_key))
        notice(ctx, s, chat_id, verdict.building or "", text, update_id)
        return
    assert code_row is not None and facts.owner_id is not None
    s.add(BindingRow(building=verdict, chat_id=chat_id, bound_at=now, bound_by=facts.owner_id))
    code_row.status, code_row.used_at, code_row.used_in_chat = "used", now, chat_id
    s.add(code_row)
    address = s.get(BuildingRow, verdict)
    after = {"chat_id": chat_id, "owner_id": facts.owner_id}
    audit(
        ctx,
        s,
        "chat.bind",
        "done",
        building=verdict,
        chat_id=chat_id,
        user_id=facts.owner_id,
        after=after,
        reason=because("code_posted", by=str(sender)),
    )
    text = ctx.templates.render("binding_accepted", address=address.address if address else verdict)
    notice(ctx, s, chat_id, verdict, text, update_id)


def issue_code(s: Session, building: str, now: datetime, ttl: timedelta) -> str:
    """A fresh binding code for `building`; earlier active codes stop working."""
    for old in s.exec(select(BindingCodeRow).where(BindingCodeRow.building == building, BindingCodeRow.status == "active")):
        old.status = "superseded"
        s.add(old)
    code = tokens.new_code()
    s.add(BindingCodeRow(code_hash=tokens.digest(code), building=building, created_at=now, expires_at=now + ttl))
    return code
