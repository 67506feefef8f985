"""The reminder schedule from `DateDetails` (domain/notices.py), rule by rule (docs/notices.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domchat.domain.model import Basis, Building, ManagementPeriod
from domchat.domain.notices import (
    Deadlines,
    MonthDay,
    NoReminders,
    NoticeKind,
    NoticeRules,
    Period,
    deadlines_for,
    due_at,
    due_reminders,
    next_send,
    reminders,
    reminders_on,
    spread,
)

RULES = NoticeRules()
ZONES = ("Europe/Kaliningrad", "Europe/Moscow", "Asia/Novosibirsk", "Asia/Kamchatka")
OFFSETS = {"Europe/Kaliningrad": 2, "Europe/Moscow": 3, "Asia/Novosibirsk": 7, "Asia/Kamchatka": 12}
# 20th–25th of the billing month, bills by the 1st and payment by the 10th of the next month.
TYPICAL = Deadlines(
    metering_start=MonthDay(20),
    metering_end=MonthDay(25),
    payment_documents=MonthDay(1, next_month=True),
    payment=MonthDay(10, next_month=True),
)
ORG, OTHER = "1028600000011", "1028600000022"


def _kinds(found: tuple[object, ...]) -> list[tuple[str, date]]:
    return [(r.kind.value, r.day) for r in found]  # type: ignore[attr-defined]


# --- Days of the month ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "next_month", "period", "expected"),
    [
        (20, False, Period(2026, 11), date(2026, 11, 20)),
        (31, False, Period(2026, 4), date(2026, 4, 30)),  # S1: April has no 31st
        (30, False, Period(2026, 2), date(2026, 2, 28)),  # S1: nor February a 30th
        (29, False, Period(2028, 2), date(2028, 2, 29)),  # a leap year has
        (None, False, Period(2026, 2), date(2026, 2, 28)),  # S2: LastDay
        (None, True, Period(2026, 1), date(2026, 2, 28)),  # S2 + S3
        (10, True, Period(2026, 12), date(2027, 1, 10)),  # S3: next month, across the year
        (31, True, Period(2026, 10), date(2026, 11, 30)),
    ],
)
def test_a_day_of_the_month_names_a_calendar_date(day: int | None, next_month: bool, period: Period, expected: date) -> None:
    assert MonthDay(day, next_month).on(period) == expected


@pytest.mark.parametrize("day", [0, -1, 32])
def test_a_day_outside_1_to_31_is_refused(day: int) -> None:
    with pytest.raises(ValueError, match=r"out of 1\.\.31"):
        MonthDay(day)


def test_periods_shift_across_years_and_print_as_year_month() -> None:
    assert Period(2026, 12).shift(1) == Period(2027, 1)
    assert Period(2026, 1).shift(-1) == Period(2025, 12)
    assert Period(2026, 3).shift(-14) == Period(2025, 1)
    assert str(Period(2026, 3)) == "2026-03"
    assert Period.parse("2026-03") == Period(2026, 3)


# --- Reminders of one billing month ---------------------------------------------------------


def test_a_typical_month_gives_three_reminders() -> None:
    # November 2026: the 23rd is a Monday, 10 December a Thursday.
    found = reminders("b", TYPICAL, Period(2026, 11), RULES)
    assert _kinds(found) == [
        ("metering_opens", date(2026, 11, 20)),
        ("metering_closes", date(2026, 11, 23)),
        ("payment_due", date(2026, 12, 7)),
    ]
    opens, closes, payment = found
    assert (opens.deadline, opens.until) == (date(2026, 11, 20), date(2026, 11, 25))
    assert (closes.deadline, closes.until) == (date(2026, 11, 25), date(2026, 11, 25))
    assert (payment.deadline, payment.until) == (date(2026, 12, 10), date(2026, 12, 10))
    assert [r.key for r in found] == [
        "metering_opens:b:2026-11",
        "metering_closes:b:2026-11",
        "payment_due:b:2026-11",
    ]


def test_a_warning_on_a_weekend_moves_to_the_friday_before() -> None:
    # W1. October 2026: the 25th is a Sunday → closing warning due Friday 23rd, no shift;
    # the 27th is a Tuesday → 25th (Sunday) → Friday 23rd.
    d = Deadlines(metering_start=MonthDay(15), metering_end=MonthDay(27))
    (_, closes) = reminders("b", d, Period(2026, 10), RULES)
    assert closes.day == date(2026, 10, 23)
    assert closes.day.weekday() == 4
    (_, closes) = reminders("b", d, Period(2026, 10), NoticeRules(off_weekends=False))
    assert closes.day == date(2026, 10, 25)


def test_the_window_opening_is_announced_on_its_day_even_on_a_weekend() -> None:
    # W2: 17 October 2026 is a Saturday.
    d = Deadlines(metering_start=MonthDay(17), metering_end=MonthDay(27))
    assert reminders("b", d, Period(2026, 10), RULES)[0].day == date(2026, 10, 17)


def test_no_closing_warning_on_or_before_the_opening_day() -> None:
    # M2: a three-day window 23–25 has its warning on the 23rd, the opening day itself.
    d = Deadlines(metering_start=MonthDay(23), metering_end=MonthDay(25))
    assert _kinds(reminders("b", d, Period(2026, 11), RULES)) == [("metering_opens", date(2026, 11, 23))]
    # …and a warning moved off a weekend to before the opening day is dropped too.
    d = Deadlines(metering_start=MonthDay(23), metering_end=MonthDay(26))  # 24 Oct 2026 is a Saturday
    assert _kinds(reminders("b", d, Period(2026, 10), RULES)) == [("metering_opens", date(2026, 10, 23))]


def test_a_window_ending_before_it_starts_gives_no_metering_reminder() -> None:
    # M3: 25th to the 20th of the same month.
    d = Deadlines(metering_start=MonthDay(25), metering_end=MonthDay(20), payment=MonthDay(10, next_month=True))
    assert [r.kind for r in reminders("b", d, Period(2026, 11), RULES)] == [NoticeKind.PAYMENT_DUE]


def test_a_window_into_the_next_month() -> None:
    # M1: 25th of the billing month to the 3rd of the next.
    d = Deadlines(metering_start=MonthDay(25), metering_end=MonthDay(3, next_month=True))
    assert _kinds(reminders("b", d, Period(2026, 12), RULES)) == [
        ("metering_opens", date(2026, 12, 25)),
        ("metering_closes", date(2027, 1, 1)),
    ]


def test_last_day_windows_in_february() -> None:
    d = Deadlines(metering_start=MonthDay(26), metering_end=MonthDay(None))
    # 28 Feb 2027 is a Sunday: warning on the 26th (Friday) is the opening day → dropped.
    assert _kinds(reminders("b", d, Period(2027, 2), RULES)) == [("metering_opens", date(2027, 2, 26))]
    # 2028: the 29th (Tuesday) − 2 = the 27th, a Sunday → Friday 25th, before the opening: dropped.
    assert _kinds(reminders("b", d, Period(2028, 2), RULES)) == [("metering_opens", date(2028, 2, 26))]
    # March 2027: 31st (Wednesday) − 2 = Monday 29th.
    assert _kinds(reminders("b", d, Period(2027, 3), RULES)) == [
        ("metering_opens", date(2027, 3, 26)),
        ("metering_closes", date(2027, 3, 29)),
    ]


def test_no_payment_warning_before_the_bills_are_out() -> None:
    # P2: bills on the 9th, payment by the 10th of the next month → no warning at all.
    d = Deadlines(payment_documents=MonthDay(9, next_month=True), payment=MonthDay(10, next_month=True))
    assert reminders("b", d, Period(2026, 11), RULES) == ()
    # Bills on the 7th: the warning on the 7th itself comes (the day they are out).
    d = Deadlines(payment_documents=MonthDay(7, next_month=True), payment=MonthDay(10, next_month=True))
    assert _kinds(reminders("b", d, Period(2026, 11), RULES)) == [("payment_due", date(2026, 12, 7))]


def test_a_payment_due_in_the_billing_month_itself() -> None:
    # P1: CurrentMounth, the last day: warned three days before.
    d = Deadlines(payment=MonthDay(None))
    assert _kinds(reminders("b", d, Period(2026, 12), RULES)) == [("payment_due", date(2026, 12, 28))]


# --- Reminders on one day --------------------------------------------------------------------


def test_reminders_on_a_day_come_from_the_billing_month_they_belong_to() -> None:
    assert _kinds(reminders_on("b", TYPICAL, date(2026, 12, 7), RULES)) == [("payment_due", date(2026, 12, 7))]
    assert reminders_on("b", TYPICAL, date(2026, 12, 7), RULES)[0].period == Period(2026, 11)
    assert reminders_on("b", TYPICAL, date(2026, 12, 8), RULES) == ()


@given(
    start=st.one_of(st.none(), st.integers(1, 31)),
    end=st.one_of(st.none(), st.integers(1, 31)),
    end_next=st.booleans(),
    pay=st.one_of(st.none(), st.integers(1, 31)),
    pay_next=st.booleans(),
    bills=st.one_of(st.none(), st.integers(1, 31)),
    days=st.integers(1, 28),
    off_weekends=st.booleans(),
    first=st.dates(date(2024, 1, 1), date(2030, 12, 31)),
)
def test_every_reminder_is_found_on_its_day_once_and_only_then(
    start: int | None,
    end: int | None,
    end_next: bool,
    pay: int | None,
    pay_next: bool,
    bills: int | None,
    days: int,
    off_weekends: bool,
    first: date,
) -> None:
    rules = NoticeRules(metering_days_before_end=days, payment_days_before=days, off_weekends=off_weekends)
    d = Deadlines(
        metering_start=MonthDay(start),
        metering_end=MonthDay(end, end_next),
        payment_documents=MonthDay(bills, pay_next) if bills else None,
        payment=MonthDay(pay, pay_next),
    )
    period = Period.of(first)
    for r in reminders("b", d, period, rules):
        # Each is found on its day, once, and on no neighbouring day.
        assert reminders_on("b", d, r.day, rules).count(r) == 1
        assert r not in reminders_on("b", d, r.day - timedelta(days=1), rules)
        assert r not in reminders_on("b", d, r.day + timedelta(days=1), rules)
        assert r.day <= r.deadline <= r.until
        if r.kind is not NoticeKind.METERING_OPENS:
            assert r.day < r.deadline
            assert r.day >= r.deadline - timedelta(days=days + 2)
            if off_weekends:
                assert r.day.weekday() < 5
        else:
            assert r.day == MonthDay(start).on(period)


# --- Local instants, quiet hours, the spread --------------------------------------------------


@pytest.mark.parametrize("zone", ZONES)
def test_a_reminder_falls_due_within_the_local_window(zone: str) -> None:
    b = Building("b", "addr", zone)
    for n in range(200):
        at = due_at(b, date(2026, 11, 20), f"metering_opens:b{n}:2026-11", RULES)
        local = at.astimezone(b.zone())
        assert local.date() == date(2026, 11, 20)
        assert time(10) <= local.time() < time(12)
        opens = datetime(2026, 11, 20, 10, tzinfo=UTC) - timedelta(hours=OFFSETS[zone])
        assert timedelta(0) <= at - opens < timedelta(hours=2)


def test_the_spread_is_fixed_by_the_key_and_fills_the_window() -> None:
    keys = [f"payment_due:{n}:2026-11" for n in range(10_000)]
    offsets = [spread(k, RULES) for k in keys]
    assert offsets == [spread(k, RULES) for k in keys]
    assert min(offsets) < timedelta(minutes=1)
    assert max(offsets) > timedelta(minutes=119)
    # Even: each quarter of the window holds about a quarter of them.
    quarters = [sum(1 for o in offsets if q * 1800 <= o.total_seconds() < (q + 1) * 1800) for q in range(4)]
    assert all(2300 < n < 2700 for n in quarters), quarters


@pytest.mark.parametrize("zone", ZONES)
def test_nothing_is_sent_in_quiet_hours(zone: str) -> None:
    b = Building("b", "addr", zone)
    tz = b.zone()
    due = datetime(2026, 11, 20, 10, 30, tzinfo=tz).astimezone(UTC)
    until = date(2026, 11, 25)
    # Before due: waits for due. After due, in the day: now.
    assert next_send(b, due, until, due - timedelta(hours=3), RULES) == due
    noon = datetime(2026, 11, 20, 12, tzinfo=tz).astimezone(UTC)
    assert next_send(b, due, until, noon, RULES) == noon
    # At 21:00 and after midnight: the next morning at 09:00.
    for late in (datetime(2026, 11, 20, 21, tzinfo=tz), datetime(2026, 11, 21, 3, tzinfo=tz)):
        assert next_send(b, due, until, late.astimezone(UTC), RULES) == datetime(2026, 11, 21, 9, tzinfo=tz).astimezone(UTC)
    # Past the last useful day: never.
    assert next_send(b, due, until, datetime(2026, 11, 25, 22, tzinfo=tz).astimezone(UTC), RULES) is None
    assert next_send(b, due, until, datetime(2026, 11, 26, 10, tzinfo=tz).astimezone(UTC), RULES) is None


@given(zone=st.sampled_from(ZONES), minutes=st.integers(0, 60 * 24 * 40))
def test_a_send_instant_is_never_in_quiet_hours(zone: str, minutes: int) -> None:
    b = Building("b", "addr", zone)
    due = due_at(b, date(2026, 11, 20), "k", RULES)
    at = datetime(2026, 11, 18, tzinfo=UTC) + timedelta(minutes=minutes)
    send = next_send(b, due, date(2026, 12, 10), at, RULES)
    if send is None:
        assert b.local_date(at) >= date(2026, 12, 10)
        return
    assert send >= at and send >= due
    local = send.astimezone(b.zone())
    assert time(9) <= local.time() < time(21)
    assert local.date() <= date(2026, 12, 10)


@pytest.mark.parametrize(
    ("rules", "problem"),
    [
        (NoticeRules(window_start=time(20)), "between the end and the start of quiet hours"),
        (NoticeRules(window_start=time(8)), "between the end and the start of quiet hours"),
        (NoticeRules(window=timedelta(0)), "longer than 0"),
        (NoticeRules(payment_days_before=0), "payment_days_before must be between 1 and 28"),
        (NoticeRules(metering_days_before_end=29), "metering_days_before_end must be between 1 and 28"),
    ],
)
def test_bad_rules_are_named(rules: NoticeRules, problem: str) -> None:
    assert any(problem in p for p in rules.problems())


def test_the_default_rules_are_usable() -> None:
    assert RULES.problems() == []


# --- Which buildings get reminders -----------------------------------------------------------


def _period(org: str, start: date, until: date | None = None) -> ManagementPeriod:
    return ManagementPeriod("b", org, start, until, Basis.CONTRACT)


def test_only_the_current_managers_dates_count() -> None:
    theirs = Deadlines(payment=MonthDay(15, next_month=True))
    periods = (_period(ORG, date(2025, 1, 1), date(2026, 12, 1)), _period(OTHER, date(2026, 12, 1)))
    by_org = {ORG: TYPICAL, OTHER: theirs}
    assert deadlines_for(periods, by_org, date(2026, 11, 30)) == TYPICAL
    assert deadlines_for(periods, by_org, date(2026, 12, 1)) == theirs


def test_no_reminders_without_manager_in_conflict_or_without_dates() -> None:
    assert deadlines_for((), {ORG: TYPICAL}, date(2026, 11, 20)) is NoReminders.NO_MANAGER
    both = (_period(ORG, date(2025, 1, 1)), _period(OTHER, date(2026, 1, 1)))
    assert deadlines_for(both, {ORG: TYPICAL, OTHER: TYPICAL}, date(2026, 11, 20)) is NoReminders.CONFLICT
    one = (_period(ORG, date(2025, 1, 1)),)
    assert deadlines_for(one, {}, date(2026, 11, 20)) is NoReminders.NO_DATE_DETAILS
    only_bills = Deadlines(payment_documents=MonthDay(1), metering_start=MonthDay(20))
    assert deadlines_for(one, {ORG: only_bills}, date(2026, 11, 20)) is NoReminders.NO_DATE_DETAILS


@pytest.mark.parametrize("zone", ZONES)
def test_due_reminders_across_buildings_at_one_instant(zone: str) -> None:
    # At 23:30 UTC on 19 November it is already the 20th in Novosibirsk and Kamchatka.
    at = datetime(2026, 11, 19, 23, 30, tzinfo=UTC)
    good = Building("good", "a", zone)
    lone = Building("lone", "a", zone)
    periods = {"good": (ManagementPeriod("good", ORG, date(2025, 1, 1), None, Basis.CONTRACT),)}
    found, without = due_reminders(
        [good, lone], periods, {"good": {ORG: TYPICAL}}, {b.fias_guid: b.local_date(at) for b in (good, lone)}, RULES
    )
    assert without == {"lone": NoReminders.NO_MANAGER}
    assert [(r.building, r.kind) for r in found] == [("good", NoticeKind.METERING_OPENS)]
