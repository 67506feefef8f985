"""What the bot tells a house, and when: deadline reminders and owners' meetings. Pure.

Deadlines come from the `DateDetails` of the current manager's contract or charter: the
meter-reading window (`PeriodMetering`), the day bills are issued (`PaymentDocumentInterval`)
and the day payment is due (`PaymentInterval`), each a day of the month with a "last day" and a
"next month" choice. For each billing month (`Period`) they name calendar dates; reminders are
posted on building-local days at building-local hours, never in quiet hours, spread over a
window so that a region's buildings do not all fall due at the same second. docs/notices.md
states every rule below with an example; tests/notices/test_schedule.py checks each.
"""

from __future__ import annotations

import calendar
import enum
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from domchat.domain.model import Building, Conflict, ManagementPeriod, manager_on


class NoticeKind(enum.StrEnum):
    """What a notice is about; also its name in `notices off --kind` and in the audit."""

    METERING_OPENS = "metering_opens"
    """The meter-reading window opens today."""
    METERING_CLOSES = "metering_closes"
    """The meter-reading window closes in a few days."""
    PAYMENT_DUE = "payment_due"
    """Payment is due in a few days."""
    MEETING = "meeting"
    """An owners' general meeting (ОСС) was announced."""
    MEETING_REMINDER = "meeting_reminder"
    """Decision taking of an owners' meeting ends soon."""
    MEETING_OUTCOME = "meeting_outcome"
    """An owners' meeting has a protocol."""
    HANDOVER = "handover"
    """A new organisation manages the building."""


MAX_DAYS_BEFORE = 28
"""A warning comes at most four weeks early, so it falls within two months of its deadline."""

DEADLINE_KINDS = (NoticeKind.METERING_OPENS, NoticeKind.METERING_CLOSES, NoticeKind.PAYMENT_DUE)


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A billing month: the month whose readings are given and whose charges are paid."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month {self.month} out of 1..12")

    @classmethod
    def of(cls, day: date) -> Period:
        return cls(day.year, day.month)

    @classmethod
    def parse(cls, text: str) -> Period:
        year, month = text.split("-")
        return cls(int(year), int(month))

    def shift(self, months: int) -> Period:
        n = self.year * 12 + self.month - 1 + months
        return Period(n // 12, n % 12 + 1)

    def last_day(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True, slots=True)
class MonthDay:
    """A day of a billing month as `DateDetails` gives it."""

    day: int | None
    """1–31; None for the last day of the month (`LastDay`)."""
    next_month: bool = False
    """The day falls in the month after the billing month (`IsNextMonth`, `NextMounth`)."""

    def __post_init__(self) -> None:
        if self.day is not None and not 1 <= self.day <= 31:
            raise ValueError(f"day of month {self.day} out of 1..31")

    def on(self, period: Period) -> date:
        """The calendar date in `period`; a day the month lacks is its last day (31 → 30 April)."""
        month = period.shift(1) if self.next_month else period
        last = month.last_day()
        return date(month.year, month.month, last if self.day is None else min(self.day, last))


@dataclass(frozen=True, slots=True)
class Deadlines:
    """`DateDetails` of one contract or charter, as domain values (mapping/notices.py)."""

    metering_start: MonthDay | None = None
    metering_end: MonthDay | None = None
    payment_documents: MonthDay | None = None
    payment: MonthDay | None = None

    @property
    def usable(self) -> bool:
        """Whether any reminder can come of these dates."""
        return (self.metering_start is not None and self.metering_end is not None) or self.payment is not None

    def metering_window(self, period: Period) -> tuple[date, date] | None:
        """First and last day of the meter-reading window; None when either is unknown or the
        window would end before it starts (the contract's dates are then inconsistent)."""
        if self.metering_start is None or self.metering_end is None:
            return None
        first, last = self.metering_start.on(period), self.metering_end.on(period)
        return (first, last) if first <= last else None


@dataclass(frozen=True, slots=True)
class NoticeRules:
    """When notices go out; the defaults are those of the authority's letter (docs/notices.md)."""

    window_start: time = time(10)
    """Local hour at which a day's reminders start going out."""
    window: timedelta = timedelta(hours=2)
    """How long after `window_start` the last building's reminder falls due."""
    quiet_start: time = time(21)
    """Nothing is posted from this local hour…"""
    quiet_end: time = time(9)
    """…until this local hour of the next morning."""
    metering_days_before_end: int = 2
    """The second meter-reading reminder comes this many days before the window's last day."""
    payment_days_before: int = 3
    """The payment reminder comes this many days before the payment deadline."""
    meeting_days_before_end: int = 2
    """The meeting reminder comes this many days before decision taking ends."""
    off_weekends: bool = True
    """A warning that falls on a Saturday or Sunday comes on the Friday before instead."""

    def problems(self) -> list[str]:
        """What is wrong with these rules (empty when they can be used)."""
        found = []
        end = (datetime.combine(date.min, self.window_start) + self.window).time()
        if self.window <= timedelta(0) or self.window >= timedelta(hours=24):
            found.append("the spread window must be longer than 0 and shorter than a day")
        elif self.quiet(self.window_start) or self.quiet(end) or end < self.window_start:
            found.append("the spread window must lie between the end and the start of quiet hours")
        for name in ("metering_days_before_end", "payment_days_before", "meeting_days_before_end"):
            if not 1 <= getattr(self, name) <= MAX_DAYS_BEFORE:
                found.append(f"{name} must be between 1 and {MAX_DAYS_BEFORE}")
        return found

    def quiet(self, at: time) -> bool:
        """Whether the local time `at` falls in quiet hours."""
        if self.quiet_start > self.quiet_end:  # wraps midnight, as 21:00–09:00 does
            return at >= self.quiet_start or at < self.quiet_end
        return self.quiet_start <= at < self.quiet_end


@dataclass(frozen=True, slots=True)
class Reminder:
    """One deadline reminder for one building and billing month."""

    building: str
    kind: NoticeKind
    period: Period
    day: date
    """The local day it is posted."""
    deadline: date
    """The day it speaks of: the window's first day, its last day, or the payment day."""
    until: date
    """The last local day on which posting it still makes sense."""

    @property
    def key(self) -> str:
        return notice_key(self.building, self.kind, str(self.period))


def notice_key(building: str, kind: NoticeKind, ident: str) -> str:
    """The deterministic key of a notice: what it is, never when it was computed."""
    return f"{kind.value}:{building}:{ident}"


def _before(day: date, days: int, rules: NoticeRules, not_before: date | None = None) -> date | None:
    """`days` before `day`, off weekends when the rules say so; None if earlier than `not_before`."""
    at = day - timedelta(days=days)
    if rules.off_weekends and at.weekday() >= 5:
        at -= timedelta(days=at.weekday() - 4)
    if not_before is not None and at <= not_before:
        return None
    return at


def reminders(building: str, deadlines: Deadlines, period: Period, rules: NoticeRules) -> tuple[Reminder, ...]:
    """Every deadline reminder of one billing month, in the order they are posted."""
    found: list[Reminder] = []
    window = deadlines.metering_window(period)
    if window is not None:
        first, last = window
        found.append(Reminder(building, NoticeKind.METERING_OPENS, period, first, first, last))
        closes = _before(last, rules.metering_days_before_end, rules, not_before=first)
        if closes is not None:
            found.append(Reminder(building, NoticeKind.METERING_CLOSES, period, closes, last, last))
    if deadlines.payment is not None:
        due = deadlines.payment.on(period)
        # A reminder before the bills are out would ask for payment nobody can make yet.
        issued = deadlines.payment_documents.on(period) if deadlines.payment_documents else None
        at = _before(due, rules.payment_days_before, rules, not_before=issued - timedelta(days=1) if issued else None)
        if at is not None:
            found.append(Reminder(building, NoticeKind.PAYMENT_DUE, period, at, due, due))
    return tuple(sorted(found, key=lambda r: (r.day, r.kind)))


def reminders_on(building: str, deadlines: Deadlines, day: date, rules: NoticeRules) -> tuple[Reminder, ...]:
    """The reminders a building gets on local day `day`, from any billing month.

    A reminder of billing month P falls no later than the end of the month after P (a
    `next_month` day) and no earlier than 30 days before the first of P (a payment due on the
    1st, warned `MAX_DAYS_BEFORE` days early and moved off a weekend), so the months from one
    before `day` to two after cover every case.
    """
    here = Period.of(day)
    return tuple(r for n in (-1, 0, 1, 2) for r in reminders(building, deadlines, here.shift(n), rules) if r.day == day)


def spread(key: str, rules: NoticeRules) -> timedelta:
    """Where in the window a notice falls due: fixed by its key, even over the window."""
    share = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64
    return timedelta(seconds=int(share * rules.window.total_seconds()))


def due_at(building: Building, day: date, key: str, rules: NoticeRules) -> datetime:
    """The UTC instant a notice posted on local `day` falls due."""
    local = datetime.combine(day, rules.window_start, tzinfo=building.zone()) + spread(key, rules)
    return local.astimezone(UTC)


def next_send(building: Building, due: datetime, until: date, at: datetime, rules: NoticeRules) -> datetime | None:
    """The first instant at or after `at` (and `due`) outside quiet hours, or None once the
    building-local `until` day has passed or is over by the time quiet hours end."""
    zone = building.zone()
    local = max(at, due).astimezone(zone)
    if rules.quiet(local.time()):
        morning = datetime.combine(local.date(), rules.quiet_end, tzinfo=zone)
        local = morning if local.time() < rules.quiet_end else morning + timedelta(days=1)
    if local.date() > until:
        return None
    return local.astimezone(UTC)


class NoReminders(enum.StrEnum):
    """Why a bound building gets no deadline reminders (`domchat notices coverage`)."""

    NO_MANAGER = "no_manager"
    CONFLICT = "conflict"
    NO_DATE_DETAILS = "no_date_details"
    """The manager's contract or charter has no usable `DateDetails` (or none is in GIS)."""


def deadlines_for(periods: tuple[ManagementPeriod, ...], deadlines: Mapping[str, Deadlines], day: date) -> Deadlines | NoReminders:
    """The deadlines of the building's manager on `day` (by OGRN in `deadlines`), or why none."""
    manager = manager_on(periods, day)
    if manager is None:
        return NoReminders.NO_MANAGER
    if isinstance(manager, Conflict):
        return NoReminders.CONFLICT
    found = deadlines.get(manager.org)
    if found is None or not found.usable:
        return NoReminders.NO_DATE_DETAILS
    return found


def due_reminders(
    buildings: Iterable[Building],
    periods: Mapping[str, tuple[ManagementPeriod, ...]],
    deadlines: Mapping[str, Mapping[str, Deadlines]],
    day_of: Mapping[str, date],
    rules: NoticeRules,
) -> tuple[list[Reminder], dict[str, NoReminders]]:
    """The reminders each building gets on its local day (`day_of`), and why the others get none.

    `deadlines` holds, by building FIAS GUID, each organisation's (OGRN) `Deadlines` there.
    """
    found: list[Reminder] = []
    without: dict[str, NoReminders] = {}
    for b in buildings:
        day = day_of[b.fias_guid]
        own = deadlines_for(periods.get(b.fias_guid, ()), deadlines.get(b.fias_guid, {}), day)
        if isinstance(own, NoReminders):
            without[b.fias_guid] = own
        else:
            found.extend(reminders_on(b.fias_guid, own, day, rules))
    return found, without


# --- Owners' general meetings (ОСС) ---------------------------------------------------------


class MeetingForm(enum.StrEnum):
    ABSENTEE = "absentee"
    """Decisions are handed in over a period (`AVoting`, and `EVoting` through an information system)."""
    IN_PERSON = "in_person"
    """Owners meet (`Meeting`)."""
    MIXED = "mixed"
    """Owners meet, and decisions are handed in over a period too (`MeetingAVoting`)."""


OUTCOME_FOR = timedelta(days=30)
"""A protocol is announced only within this many days of its date: a first run over a region
does not announce every meeting of past years."""


@dataclass(frozen=True, slots=True)
class Meeting:
    """An owners' general meeting of one building, as its GIS message announces it."""

    guid: str
    """`MessageGUID`."""
    building: str
    annual: bool
    form: MeetingForm
    decisions_from: date | None
    decisions_until: date
    """The last local day decisions are taken; the meeting's own day for an in-person one."""
    meeting_at: datetime | None
    """Building-local (naive) date and time of the in-person part."""
    meeting_place: str | None
    resolution_place: str | None
    agenda: tuple[str, ...]
    cancelled: bool = False

    def open_on(self, day: date) -> bool:
        """Whether owners may still vote on local `day` (the card pins the announcement meanwhile)."""
        return not self.cancelled and day <= self.decisions_until


@dataclass(frozen=True, slots=True)
class MeetingOutcome:
    """The protocol of an owners' general meeting."""

    guid: str
    """`VotingProtocolGUID`."""
    building: str
    number: str | None
    protocol_date: date
    eligible: bool
    """The meeting had a quorum."""
    decisions: tuple[tuple[str, bool | None], ...]


@dataclass(frozen=True, slots=True)
class Notice:
    """A message about a meeting or a handover: posted from `day` on, no later than `until`."""

    building: str
    kind: NoticeKind
    ident: str
    """The meeting's message GUID, the protocol's GUID, or the new manager and start day."""
    day: date
    until: date

    @property
    def key(self) -> str:
        return notice_key(self.building, self.kind, self.ident)


def meeting_notices(meeting: Meeting, day: date, rules: NoticeRules) -> tuple[Notice, ...]:
    """What a house hears about a meeting on local `day`: the announcement from the first day the
    meeting is known until decisions end, and a reminder `meeting_days_before_end` before then."""
    if not meeting.open_on(day):
        return ()
    found = [Notice(meeting.building, NoticeKind.MEETING, meeting.guid, day, meeting.decisions_until)]
    first = meeting.decisions_from or meeting.decisions_until
    remind = _before(meeting.decisions_until, rules.meeting_days_before_end, rules, not_before=first - timedelta(days=1))
    if remind == day:
        found.append(Notice(meeting.building, NoticeKind.MEETING_REMINDER, meeting.guid, day, meeting.decisions_until))
    return tuple(found)


def outcome_notice(outcome: MeetingOutcome, day: date) -> Notice | None:
    """The announcement of a protocol, while it is recent."""
    until = outcome.protocol_date + OUTCOME_FOR
    if not outcome.protocol_date <= day <= until:
        return None
    return Notice(outcome.building, NoticeKind.MEETING_OUTCOME, outcome.guid, day, until)


def handover_notice(building: str, org: str, start: date) -> Notice:
    """The announcement of a new manager, on the day it takes over (and that day only)."""
    return Notice(building, NoticeKind.HANDOVER, f"{org}/{start.isoformat()}", start, start)
