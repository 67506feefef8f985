"""Owners' meetings: announcement, reminder, outcome, handover (domain/notices.py, mapping/notices.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from domchat.domain.notices import (
    Meeting,
    MeetingForm,
    MeetingOutcome,
    NoticeKind,
    NoticeRules,
    handover_notice,
    meeting_notices,
    outcome_notice,
)
from domchat.gis_client.types import VotingMessage, VotingProtocol
from domchat.mapping.notices import DatesSkipped, meeting, outcome

RULES = NoticeRules()
# Decisions from Monday 7 to Friday 18 December 2026.
ABSENTEE = Meeting(
    "m1", "b", False, MeetingForm.ABSENTEE, date(2026, 12, 7), date(2026, 12, 18), None, None, "ящик в подъезде", ("Ремонт",)
)


def _kinds(day: date, m: Meeting = ABSENTEE) -> list[NoticeKind]:
    return [n.kind for n in meeting_notices(m, day, RULES)]


def test_announced_while_open_and_reminded_before_the_end() -> None:
    assert _kinds(date(2026, 12, 1)) == [NoticeKind.MEETING]  # known before decisions start
    assert _kinds(date(2026, 12, 16)) == [NoticeKind.MEETING, NoticeKind.MEETING_REMINDER]
    assert _kinds(date(2026, 12, 17)) == [NoticeKind.MEETING]
    assert _kinds(date(2026, 12, 18)) == [NoticeKind.MEETING]
    assert _kinds(date(2026, 12, 19)) == []
    (first, reminder) = meeting_notices(ABSENTEE, date(2026, 12, 16), RULES)
    assert first.key == "meeting:b:m1" and reminder.key == "meeting_reminder:b:m1"
    assert first.until == reminder.until == date(2026, 12, 18)
    # The announcement's key is the same whichever day it is computed: it goes out once.
    assert {n.key for d in range(1, 19) for n in meeting_notices(ABSENTEE, date(2026, 12, d), RULES) if n.kind is NoticeKind.MEETING} == {
        "meeting:b:m1"
    }


def test_a_reminder_on_a_weekend_comes_on_friday_and_none_before_decisions_start() -> None:
    sunday_end = Meeting("m2", "b", True, MeetingForm.ABSENTEE, date(2026, 12, 1), date(2026, 12, 22), None, None, "x", ("q",))
    # 22 Dec 2026 is a Tuesday: two days before is Sunday the 20th → Friday the 18th.
    assert [d for d in range(1, 23) if NoticeKind.MEETING_REMINDER in _kinds(date(2026, 12, d), sunday_end)] == [18]
    short = Meeting("m3", "b", True, MeetingForm.ABSENTEE, date(2026, 12, 21), date(2026, 12, 22), None, None, "x", ("q",))
    assert all(NoticeKind.MEETING_REMINDER not in _kinds(date(2026, 12, d), short) for d in range(1, 23))


def test_cancelled_meetings_are_not_announced() -> None:
    gone = Meeting("m4", "b", False, MeetingForm.ABSENTEE, date(2026, 12, 7), date(2026, 12, 18), None, None, "x", ("q",), cancelled=True)
    assert _kinds(date(2026, 12, 10), gone) == []


def test_an_outcome_is_announced_while_recent() -> None:
    o = MeetingOutcome("p1", "b", "3/2026", date(2026, 12, 25), True, (("Ремонт", True),))
    assert outcome_notice(o, date(2026, 12, 24)) is None
    n = outcome_notice(o, date(2026, 12, 25))
    assert n is not None and n.key == "meeting_outcome:b:p1"
    assert outcome_notice(o, date(2027, 1, 24)) is not None
    assert outcome_notice(o, date(2027, 1, 25)) is None


def test_the_handover_is_announced_on_its_day() -> None:
    n = handover_notice("b", "1028600000022", date(2026, 12, 1))
    assert (n.key, n.day, n.until) == ("handover:b:1028600000022/2026-12-01", date(2026, 12, 1), date(2026, 12, 1))


def _message(form: str, **kw: object) -> VotingMessage:
    values: dict[str, object] = {
        "message_guid": "g",
        "status": "Posted",
        "fias_house_guids": ("b",),
        "number": "1",
        "message_date": date(2026, 11, 20),
        "annual": False,
        "form": form,
        "decisions_from": date(2026, 12, 7),
        "decisions_until": date(2026, 12, 18),
        "meeting_at": None,
        "meeting_place": None,
        "resolution_place": "ящик",
        "agenda": ("q",),
    }
    values.update(kw)
    return VotingMessage(**values)  # type: ignore[arg-type]


def test_messages_become_meetings() -> None:
    m = meeting("b", _message("AVoting"))
    assert isinstance(m, Meeting) and (m.form, m.decisions_until) == (MeetingForm.ABSENTEE, date(2026, 12, 18))
    at = datetime(2026, 12, 7, 18, 30)
    m = meeting("b", _message("Meeting", decisions_from=None, decisions_until=None, meeting_at=at, meeting_place="двор"))
    assert isinstance(m, Meeting) and (m.form, m.decisions_until, m.meeting_at) == (MeetingForm.IN_PERSON, date(2026, 12, 7), at)
    m = meeting("b", _message("EVoting"))
    assert isinstance(m, Meeting) and m.form is MeetingForm.ABSENTEE
    m = meeting("b", _message("AVoting", status="MeetingCancelled"))
    assert isinstance(m, Meeting) and m.cancelled


@pytest.mark.parametrize(
    ("msg", "why"),
    [
        (_message("Referendum"), "unknown form"),
        (_message("AVoting", decisions_until=None), "no day on which decisions end"),
        (_message("AVoting", decisions_from=date(2026, 12, 20)), "before they start"),
    ],
)
def test_messages_that_cannot_be_announced_say_why(msg: VotingMessage, why: str) -> None:
    found = meeting("b", msg)
    assert isinstance(found, DatesSkipped) and why in found.why


def test_only_posted_protocols_are_outcomes() -> None:
    p = VotingProtocol("p", "Posted", ("b",), "1", date(2026, 12, 25), "AVoting", date(2026, 12, 18), None, True, (("q", True),))
    o = outcome("b", p)
    assert o is not None and o.decisions == (("q", True),) and o.eligible
    assert outcome("b", replace(p, status="Created")) is None
    assert outcome("b", replace(p, status="Annuled")) is None


def test_the_reminder_day_never_falls_after_the_end() -> None:
    for length in range(0, 20):
        m = Meeting(
            "m", "b", False, MeetingForm.ABSENTEE, date(2026, 12, 1), date(2026, 12, 1) + timedelta(days=length), None, None, "x", ("q",)
        )
        days = [date(2026, 11, 25) + timedelta(days=n) for n in range(40)]
        reminders = [d for d in days if NoticeKind.MEETING_REMINDER in _kinds(d, m)]
        assert len(reminders) <= 1
        for d in reminders:
            assert m.decisions_from is not None and m.decisions_from <= d < m.decisions_until
