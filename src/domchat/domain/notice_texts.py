"""The Russian texts of notices, from the authority's templates. Pure.

Each function fills one template (`templates/ru/<name>.txt`) with the values listed for it in
`domain.templates.PLACEHOLDERS`; words that vary (the meeting's kind, a decision's result) come
from `reasons.txt`, so an authority can reword them too. docs/notices.md shows every text.
"""

from __future__ import annotations

from datetime import date, datetime

from domchat.domain.model import Organisation
from domchat.domain.notices import Meeting, MeetingForm, MeetingOutcome, NoticeKind, Period, Reminder
from domchat.domain.templates import Templates

_GENITIVE = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря")
_NOMINATIVE = ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь")


def ru_date(day: date) -> str:
    """``20 ноября 2026 года``"""
    return f"{day.day} {_GENITIVE[day.month - 1]} {day.year} года"


def ru_month(period: Period) -> str:
    """``ноябрь 2026 года``"""
    return f"{_NOMINATIVE[period.month - 1]} {period.year} года"


def ru_moment(at: datetime) -> str:
    """``7 декабря 2026 года в 18:30`` (building-local)."""
    return f"{ru_date(at.date())} в {at:%H:%M}"


def reminder_text(t: Templates, r: Reminder) -> str:
    """The text of a deadline reminder."""
    month = ru_month(r.period)
    match r.kind:
        case NoticeKind.METERING_OPENS:
            return t.render("metering_opens", first=ru_date(r.day), last=ru_date(r.until), month=month)
        case NoticeKind.METERING_CLOSES:
            return t.render("metering_closes", last=ru_date(r.deadline), month=month)
        case NoticeKind.PAYMENT_DUE:
            return t.render("payment_due", deadline=ru_date(r.deadline), month=month)
        case _:
            raise ValueError(f"{r.kind} is not a deadline reminder")


def _agenda(m: Meeting) -> str:
    return "\n".join(f"{n}. {q}" for n, q in enumerate(m.agenda, 1))


def _not_given(t: Templates, value: str | None) -> str:
    return value or t.reason("not_given")


def meeting_text(t: Templates, m: Meeting) -> str:
    """The announcement of an owners' meeting, in the words of its form."""
    kind = t.reason("meeting_annual" if m.annual else "meeting_extra")
    meeting_at = ru_moment(m.meeting_at) if m.meeting_at else t.reason("not_given")
    match m.form:
        case MeetingForm.ABSENTEE:
            return t.render(
                "meeting_absentee",
                kind=kind,
                decisions_from=ru_date(m.decisions_from or m.decisions_until),
                decisions_until=ru_date(m.decisions_until),
                resolution_place=_not_given(t, m.resolution_place),
                agenda=_agenda(m),
            )
        case MeetingForm.IN_PERSON:
            return t.render("meeting_in_person", kind=kind, meeting_at=meeting_at, place=_not_given(t, m.meeting_place), agenda=_agenda(m))
        case MeetingForm.MIXED:
            return t.render(
                "meeting_mixed",
                kind=kind,
                meeting_at=meeting_at,
                place=_not_given(t, m.meeting_place),
                decisions_from=ru_date(m.decisions_from or m.decisions_until),
                decisions_until=ru_date(m.decisions_until),
                resolution_place=_not_given(t, m.resolution_place),
                agenda=_agenda(m),
            )


def meeting_reminder_text(t: Templates, m: Meeting) -> str:
    """The reminder before decisions end (before the meeting itself, for an in-person one)."""
    if m.form is MeetingForm.IN_PERSON:
        at = ru_moment(m.meeting_at) if m.meeting_at else ru_date(m.decisions_until)
        return t.render("meeting_reminder_in_person", meeting_at=at, place=_not_given(t, m.meeting_place))
    return t.render("meeting_reminder", decisions_until=ru_date(m.decisions_until), resolution_place=_not_given(t, m.resolution_place))


def outcome_text(t: Templates, o: MeetingOutcome) -> str:
    """The outcome of a meeting, question by question."""
    words = {True: t.reason("decision_made"), False: t.reason("decision_not_made"), None: t.reason("decision_unknown")}
    decisions = "\n".join(f"{n}. {q} — {words[made]}" for n, (q, made) in enumerate(o.decisions, 1))
    return t.render(
        "meeting_outcome",
        protocol=o.number or t.reason("no_number"),
        protocol_date=ru_date(o.protocol_date),
        quorum=t.reason("quorum" if o.eligible else "no_quorum"),
        decisions=decisions,
    )


def handover_text(t: Templates, address: str, org: Organisation, since: date) -> str:
    """The announcement of a new manager."""
    return t.render(
        "handover",
        address=address,
        org_name=org.name,
        since=ru_date(since),
        org_phone=_not_given(t, org.phone),
        dispatch_phone=_not_given(t, org.dispatch_phone),
    )
