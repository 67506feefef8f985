"""GIS records → what notices are computed from: `DateDetails` of contracts and charters, and
owners' meetings (`exportVotingMessage`, `exportVotingProtocol`). Pure.

Rules (docs/notices.md, "From GIS"): a day outside 1–31 is not a day (the export schema types
it as any byte); a meter-reading window needs both ends; a window whose end comes before its
start in every month says nothing usable. What cannot be used is reported, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from domchat.domain.model import Basis, ManagementPeriod
from domchat.domain.notices import Deadlines, Meeting, MeetingForm, MeetingOutcome, MonthDay, Period
from domchat.gis_client.types import CAChDocument, DateDetails, DayOfMonth, VotingMessage, VotingProtocol

__all__ = ["DatesSkipped", "deadlines", "deadlines_by_building", "deadlines_by_version", "meeting", "outcome"]

_LONGEST = Period(2026, 1)
"""A 31-day month followed by a 28-day one: the month a consistent window fits in best."""


@dataclass(frozen=True, slots=True)
class DatesSkipped:
    """A part of a document's `DateDetails` that cannot be used, and why."""

    document: str
    part: str
    why: str


def _day(raw: DayOfMonth | None, document: str, part: str, skipped: list[DatesSkipped]) -> MonthDay | None:
    if raw is None:
        return None
    if raw.day is not None and not 1 <= raw.day <= 31:
        skipped.append(DatesSkipped(document, part, f"day {raw.day} is not a day of a month"))
        return None
    return MonthDay(raw.day, raw.next_month)


def deadlines(document: str, raw: DateDetails) -> tuple[Deadlines, list[DatesSkipped]]:
    """The usable parts of one document's `DateDetails`, and what was left out."""
    skipped: list[DatesSkipped] = []
    start = _day(raw.metering_start, document, "PeriodMetering/StartDate", skipped)
    end = _day(raw.metering_end, document, "PeriodMetering/EndDate", skipped)
    if (start is None) != (end is None):
        skipped.append(DatesSkipped(document, "PeriodMetering", "the window has only one end"))
        start = end = None
    elif start is not None and end is not None and start.on(_LONGEST) > end.on(_LONGEST):
        skipped.append(DatesSkipped(document, "PeriodMetering", "the window ends before it starts"))
        start = end = None
    found = Deadlines(
        metering_start=start,
        metering_end=end,
        payment_documents=_day(raw.payment_document, document, "PaymentDocumentInterval", skipped),
        payment=_day(raw.payment, document, "PaymentInterval", skipped),
    )
    return found, skipped


def deadlines_by_version(docs: Iterable[CAChDocument]) -> tuple[dict[str, Deadlines], list[DatesSkipped]]:
    """Usable deadlines by document version GUID (lower case), as management periods cite them."""
    found: dict[str, Deadlines] = {}
    skipped: list[DatesSkipped] = []
    for doc in docs:
        if doc.date_details is None:
            continue
        ident = f"{doc.kind} {doc.guid}/{doc.version_guid}"
        dates, problems = deadlines(ident, doc.date_details)
        skipped.extend(problems)
        if dates.usable:
            found[doc.version_guid.lower()] = dates
    return found, skipped


def deadlines_by_building(claims: Iterable[ManagementPeriod], by_version: Mapping[str, Deadlines]) -> dict[str, dict[str, Deadlines]]:
    """Each organisation's deadlines in each building, from its contract and charter claims.

    `claims` are the stored claims (before precedence); a claim cites its document version
    first among its sources. Where an organisation has several documents for one house, the
    one starting last holds: a renewal replaces the dates of the contract before it.
    """
    latest: dict[tuple[str, str], ManagementPeriod] = {}
    for p in claims:
        if p.basis is Basis.LICENCE or not p.source_ids or p.source_ids[0].lower() not in by_version:
            continue
        held = latest.get((p.building, p.org))
        if held is None or p.start > held.start:
            latest[(p.building, p.org)] = p
    out: dict[str, dict[str, Deadlines]] = {}
    for (building, org), p in sorted(latest.items()):
        out.setdefault(building, {})[org] = by_version[p.source_ids[0].lower()]
    return out


# --- Owners' meetings ------------------------------------------------------------------------

_FORMS = {
    "AVoting": MeetingForm.ABSENTEE,
    "EVoting": MeetingForm.ABSENTEE,
    "Meeting": MeetingForm.IN_PERSON,
    "MeetingAVoting": MeetingForm.MIXED,
}
_CANCELLED = frozenset({"MeetingCancelled", "Cancelled"})


def meeting(building: str, msg: VotingMessage) -> Meeting | DatesSkipped:
    """The meeting a `VotingMessage` announces for `building`, or why it cannot be announced."""
    ident = f"voting message {msg.message_guid}"
    form = _FORMS.get(msg.form)
    if form is None:
        return DatesSkipped(ident, msg.form, "unknown form of the meeting")
    until = msg.decisions_until if form is not MeetingForm.IN_PERSON else (msg.meeting_at.date() if msg.meeting_at else None)
    if until is None:
        return DatesSkipped(ident, msg.form, "no day on which decisions end")
    if msg.decisions_from is not None and msg.decisions_from > until:
        return DatesSkipped(ident, msg.form, f"decisions end ({until}) before they start ({msg.decisions_from})")
    return Meeting(
        guid=msg.message_guid,
        building=building,
        annual=msg.annual,
        form=form,
        decisions_from=msg.decisions_from,
        decisions_until=until,
        meeting_at=msg.meeting_at.replace(tzinfo=None) if msg.meeting_at else None,
        meeting_place=msg.meeting_place,
        resolution_place=msg.resolution_place,
        agenda=msg.agenda,
        cancelled=msg.status in _CANCELLED,
    )


def outcome(building: str, protocol: VotingProtocol) -> MeetingOutcome | None:
    """The outcome a protocol records; None while it is not posted (or once annulled)."""
    if protocol.status != "Posted":
        return None
    return MeetingOutcome(
        guid=protocol.protocol_guid,
        building=building,
        number=protocol.number,
        protocol_date=protocol.protocol_date,
        eligible=protocol.eligible,
        decisions=protocol.decisions,
    )
