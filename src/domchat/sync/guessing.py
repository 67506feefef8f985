"""Limits on guessing: wrong binding codes and unknown deep-link payloads, per user and in all.

Codes carry 80 random bits and links 192, so guessing one is hopeless; what the limits stop is
the bot being used as an amplifier (each answer spends the rate the chats need) and the audit
trail being flooded. Within a window (`chats.guess_window`):

* a user past `chats.guess_limit_per_user` wrong guesses is no longer heard at all: the bot
  neither answers nor audits what they send, valid or not, until the window ends;
* past `chats.guess_limit_global` wrong guesses from everyone together, wrong guesses are
  ignored silently (valid codes and links still work, so a storm does not lock out the
  authority);
* crossing either limit is audited once per window (`guess.limit`, outcome `alert`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from domchat.storage.tables import GuessCounterRow

ALL = "all"


@dataclass(frozen=True)
class GuessLimits:
    per_user: int = 10
    total: int = 100
    window: timedelta = timedelta(days=1)


def _counter(s: Session, key: str, now: datetime, window: timedelta) -> GuessCounterRow:
    row = s.get(GuessCounterRow, key)
    if row is None:
        row = GuessCounterRow(key=key, window_start=now, failures=0, alerted=False)
    elif row.window_start + window <= now:
        row.window_start, row.failures, row.alerted = now, 0, False
    return row


def silenced(s: Session, limits: GuessLimits, user_id: int | None, now: datetime) -> bool:
    """Is `user_id` past their limit in the current window (the bot then ignores them)?"""
    if user_id is None:
        return False
    row = s.get(GuessCounterRow, f"user:{user_id}")
    return row is not None and row.window_start + limits.window > now and row.failures > limits.per_user


@dataclass(frozen=True)
class Crossing:
    """A limit crossed by the guess just counted: audit it once."""

    who: str
    failures: int
    until: datetime


def wrong(s: Session, limits: GuessLimits, user_id: int | None, now: datetime) -> tuple[bool, list[Crossing]]:
    """Count one wrong guess. Returns whether it may still be answered, and the limits it crossed just now."""
    answer, crossed = True, []
    keys = [(ALL, limits.total)] + ([(f"user:{user_id}", limits.per_user)] if user_id is not None else [])
    for key, limit in keys:
        row = _counter(s, key, now, limits.window)
        row.failures += 1
        if row.failures > limit:
            answer = False
            if not row.alerted:
                row.alerted = True
                crossed.append(
                    Crossing("everyone together" if key == ALL else f"user {user_id}", row.failures, row.window_start + limits.window)
                )
        s.add(row)
    return answer, crossed
