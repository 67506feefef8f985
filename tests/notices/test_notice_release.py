"""Releasing stored notices (sync/notices.py): their hour, quiet hours, the batch, expiry, audit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from domchat.clock import FixedClock
from domchat.domain import templates
from domchat.domain.actions import PostNotice
from domchat.domain.notices import NoticeKind, NoticeRules
from domchat.storage import audit
from domchat.storage.tables import ActionRow, NoticeRow
from domchat.sync.executor import Executor
from domchat.sync.notices import Due, NoticeConfig, release, schedule
from support.domain import B1, CHAT, domain

# B1 is in Yekaterinburg (UTC+5): 10:00 local is 05:00 UTC.
CFG = NoticeConfig(NoticeRules(), templates.load(), batch=2)
DUE = datetime(2026, 11, 23, 5, 30, tzinfo=UTC)


def _due(n: int, until: date = date(2026, 11, 25)) -> Due:
    return Due(f"metering_closes:{B1}:n{n}", B1, NoticeKind.METERING_CLOSES, CHAT, f"Напоминание {n}", DUE + timedelta(minutes=n), until)


def _release(engine: Engine, at: datetime) -> list[ActionRow]:
    executor = Executor(engine, platform=None, clock=FixedClock(at), run_id="r", actor="daemon", trigger="schedule")  # type: ignore[arg-type]
    rows, _ = release(engine, executor, domain(()), at, CFG)
    return rows


def _statuses(engine: Engine) -> dict[str, str]:
    with Session(engine) as s:
        return {r.key.rsplit(":", 1)[1]: r.status for r in s.exec(select(NoticeRow))}


def test_stored_once_released_in_order_at_most_a_batch_at_a_time(engine: Engine) -> None:
    assert schedule(engine, [_due(1), _due(2), _due(3)], DUE) == 3
    assert schedule(engine, [_due(1), _due(2), _due(3)], DUE + timedelta(hours=1)) == 0  # never stored twice
    assert _release(engine, DUE) == []  # none due yet (the first falls due a minute later)
    first = _release(engine, DUE + timedelta(hours=1))
    assert [r.kind for r in first] == ["post_notice", "post_notice"]
    assert _statuses(engine) == {"n1": "queued", "n2": "queued", "n3": "scheduled"}
    assert [r.lane for r in first] == [5, 5]  # after every other kind of work
    (last,) = _release(engine, DUE + timedelta(hours=1, minutes=1))
    assert PostNotice(CHAT, B1, notice=f"metering_closes:{B1}:n3").key() == last.key
    assert _statuses(engine) == {"n1": "queued", "n2": "queued", "n3": "queued"}


def test_held_in_quiet_hours_and_expired_after_the_last_day(engine: Engine) -> None:
    schedule(engine, [_due(1), _due(2, until=date(2026, 11, 23))], DUE)
    night = datetime(2026, 11, 23, 17, 30, tzinfo=UTC)  # 22:30 in Yekaterinburg
    assert _release(engine, night) == []
    assert _statuses(engine) == {"n1": "scheduled", "n2": "expired"}  # n2's last day ends in the night
    morning = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)  # 09:00 local
    assert [r.status for r in _release(engine, morning)] == ["pending"]
    with Session(engine) as s:
        skipped = [e for e in audit.query(s) if e.action == "post_notice" and e.outcome == "skipped"]
    assert len(skipped) == 1 and "n2" in skipped[0].reason and "2026-11-23" in skipped[0].reason


def test_an_action_stored_before_a_crash_is_found_not_stored_again(engine: Engine) -> None:
    schedule(engine, [_due(1)], DUE)
    at = DUE + timedelta(hours=1)
    executor = Executor(engine, platform=None, clock=FixedClock(at), run_id="r0", actor="daemon", trigger="schedule")  # type: ignore[arg-type]
    (stored,) = executor.persist([PostNotice(CHAT, B1, notice=f"metering_closes:{B1}:n1", text="Напоминание 1")])
    assert _release(engine, at) == []  # the notice was still "scheduled": its action is found by key
    assert _statuses(engine) == {"n1": "queued"}
    with Session(engine) as s:
        assert [r.key for r in s.exec(select(ActionRow))] == [stored.key]
