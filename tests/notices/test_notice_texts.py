"""The Russian texts of notices from the built-in templates (domain/notice_texts.py)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from domchat.domain import templates
from domchat.domain.model import Organisation
from domchat.domain.notice_texts import handover_text, meeting_reminder_text, meeting_text, outcome_text, reminder_text, ru_date
from domchat.domain.notices import Deadlines, Meeting, MeetingForm, MeetingOutcome, MonthDay, NoticeKind, NoticeRules, Period, reminders

T = templates.load()
TYPICAL = Deadlines(MonthDay(20), MonthDay(25), MonthDay(1, True), MonthDay(10, True))


def test_dates_are_written_the_russian_way() -> None:
    assert ru_date(date(2026, 11, 20)) == "20 ноября 2026 года"
    assert ru_date(date(2027, 3, 1)) == "1 марта 2027 года"


def test_the_three_reminders_of_a_month() -> None:
    opens, closes, payment = (reminder_text(T, r) for r in reminders("b", TYPICAL, Period(2026, 11), NoticeRules()))
    assert "С 20 ноября 2026 года по 25 ноября 2026 года включительно" in opens and "за ноябрь 2026 года" in opens
    assert "до 25 ноября 2026 года включительно" in closes
    assert "за ноябрь 2026 года" in payment and "не позднее 10 декабря 2026 года" in payment


def test_each_form_of_meeting_has_its_words() -> None:
    at = datetime(2026, 12, 7, 18, 30)
    base = Meeting("m", "b", False, MeetingForm.ABSENTEE, date(2026, 12, 7), date(2026, 12, 18), at, "двор", "ящик", ("Ремонт", "Двор"))
    absentee = meeting_text(T, base)
    assert "внеочередное" in absentee and "заочного голосования" in absentee
    assert "с 7 декабря 2026 года по 18 декабря 2026 года" in absentee and "ящик" in absentee
    assert "1. Ремонт\n2. Двор" in absentee
    in_person = meeting_text(T, Meeting(**{**_fields(base), "form": MeetingForm.IN_PERSON, "annual": True}))
    assert "годовое" in in_person and "7 декабря 2026 года в 18:30" in in_person and "двор" in in_person
    mixed = meeting_text(T, Meeting(**{**_fields(base), "form": MeetingForm.MIXED}))
    assert "очно-заочной" in mixed and "18:30" in mixed and "по 18 декабря 2026 года" in mixed
    assert "до 18 декабря 2026 года включительно" in meeting_reminder_text(T, base)
    assert "18:30" in meeting_reminder_text(T, Meeting(**{**_fields(base), "form": MeetingForm.IN_PERSON}))
    assert "не указан" in meeting_text(T, Meeting(**{**_fields(base), "resolution_place": None}))


def _fields(m: Meeting) -> dict[str, object]:
    return {f: getattr(m, f) for f in m.__dataclass_fields__}


def test_the_outcome_question_by_question() -> None:
    text = outcome_text(T, MeetingOutcome("p", "b", None, date(2026, 12, 25), True, (("Ремонт", True), ("Двор", False), ("Прочее", None))))
    assert "№ б/н от 25 декабря 2026 года" in text and "правомочно" in text
    assert "1. Ремонт — решение принято\n2. Двор — решение не принято\n3. Прочее — итог не указан" in text
    assert "неправомочно" in outcome_text(T, MeetingOutcome("p", "b", "2", date(2026, 12, 25), False, ()))


def test_the_handover() -> None:
    org = Organisation("1028600000022", "УК Уют", phone="+7 3467 20-30-40")
    text = handover_text(T, "г. Сургут, ул. Мира, д. 3", org, date(2026, 12, 1))
    assert "С 1 декабря 2026 года домом г. Сургут, ул. Мира, д. 3 управляет УК Уют." in text
    assert "+7 3467 20-30-40" in text and "Аварийно-диспетчерская служба: не указан" in text


def test_an_authority_rewords_a_notice(tmp_path: Path) -> None:
    (tmp_path / "payment_due.txt").write_text("Оплатите до $deadline.", encoding="utf-8")
    (r,) = [r for r in reminders("b", TYPICAL, Period(2026, 11), NoticeRules()) if r.kind is NoticeKind.PAYMENT_DUE]
    assert reminder_text(templates.load(tmp_path), r) == "Оплатите до 10 декабря 2026 года."


def test_a_meeting_kind_is_not_a_reminder() -> None:
    (r,) = reminders("b", Deadlines(payment=MonthDay(10, True)), Period(2026, 11), NoticeRules())
    with pytest.raises(ValueError, match="not a deadline reminder"):
        reminder_text(T, type(r)(r.building, NoticeKind.MEETING, r.period, r.day, r.deadline, r.until))
