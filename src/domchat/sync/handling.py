"""What handling an update needs: its context, and the two ways it leaves a trace.

An update's effects are database changes, an audit event and, when someone should get an
answer, a queued `SendNotice` action, all in the caller's transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session

from domchat.clock import Clock
from domchat.domain.actions import SendNotice
from domchat.domain.reasons import because
from domchat.domain.templates import Templates
from domchat.storage import repo
from domchat.storage.audit import AuditEvent, append
from domchat.storage.tables import ActionRow
from domchat.sync import guessing
from domchat.sync.guessing import GuessLimits
from domchat.sync.ports import ChatPlatform

log = structlog.get_logger("domchat.updates")


@dataclass(frozen=True)
class Context:
    """Everything the handlers of one cycle share."""

    db: Engine
    platform: ChatPlatform
    clock: Clock
    templates: Templates
    authority_accounts: frozenset[int]
    bot_user_id: int
    code_attempts: int
    run_id: str
    bot_username: str = ""
    invite_ttl_days: int = 60
    actor: str = "daemon"
    guess_limits: GuessLimits = field(default_factory=GuessLimits)


def audit(ctx: Context, s: Session, action: str, outcome: str, **kw: Any) -> None:
    append(s, AuditEvent(actor=ctx.actor, trigger="max-update", action=action, outcome=outcome, run_id=ctx.run_id, **kw), ctx.clock.now())


def notice(ctx: Context, s: Session, chat_id: int, building: str, text: str, ref: int | str) -> None:
    """Queue a message from the bot; `ref` (an update id, or a reason string) makes it sent once."""
    ref = f"update:{ref}" if isinstance(ref, int) else ref
    a = SendNotice(
        chat_id=chat_id, building=building, text=text, ref=ref, reason=because("answer_to_update") if ref.startswith("update:") else ref
    )
    if s.get(ActionRow, a.key()) is not None:
        return  # already queued (or sent) for this very reason
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
            ordinal=repo.next_ordinal(s),
            lane=a.lane(),
        )
    )


def guess_heard(ctx: Context, s: Session, user_id: int | None) -> bool:
    """False while `user_id` is past their guess limit: the update is then ignored, unanswered and unaudited."""
    if guessing.silenced(s, ctx.guess_limits, user_id, ctx.clock.now()):
        log.info("guess.ignored", user_id=user_id, why="the sender is past the guess limit")
        return False
    return True


def guess_wrong(ctx: Context, s: Session, what: str, user_id: int | None, chat_id: int | None = None) -> bool:
    """Count a wrong guess (`what`: a binding code, an enrolment link…); False when it must go unanswered and unaudited."""
    answer, crossed = guessing.wrong(s, ctx.guess_limits, user_id, ctx.clock.now())
    for c in crossed:
        everyone = c.who == "everyone together"
        window, until = str(ctx.guess_limits.window), c.until.isoformat()
        reason = (
            because("guess_limit_all", failures=c.failures, window=window, what=what, until=until)
            if everyone
            else because("guess_limit_user", failures=c.failures, user=str(user_id), window=window, what=what, until=until)
        )
        audit(ctx, s, "guess.limit", "alert", user_id=None if everyone else user_id, chat_id=chat_id, reason=reason)
        log.error("guess.storm", then="the bot goes silent to it", who=c.who, failures=c.failures, until=c.until.isoformat())
    return answer
