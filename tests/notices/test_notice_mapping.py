"""`DateDetails` of GIS documents → `Deadlines` (mapping/notices.py)."""

from __future__ import annotations

from datetime import date

from domchat.domain.model import Basis, ManagementPeriod
from domchat.domain.notices import Deadlines, MonthDay
from domchat.gis_client.types import CAChDocument, DateDetails, DayOfMonth
from domchat.mapping.notices import deadlines, deadlines_by_building, deadlines_by_version

ORG, OTHER = "1028600000011", "1028600000022"


def _dd(start: DayOfMonth | None, end: DayOfMonth | None, pay: DayOfMonth | None = None) -> DateDetails:
    return DateDetails(metering_start=start, metering_end=end, payment_document=None, payment=pay)


def _doc(version: str, dd: DateDetails | None) -> CAChDocument:
    return CAChDocument("contract", "g-" + version, version, "Approved", None, None, None, None, None, (), dd)


def test_every_flag_is_carried_over() -> None:
    raw = DateDetails(
        metering_start=DayOfMonth(25, next_month=False),
        metering_end=DayOfMonth(None, next_month=True),
        payment_document=DayOfMonth(None, next_month=False),
        payment=DayOfMonth(10, next_month=True),
    )
    found, skipped = deadlines("doc", raw)
    assert skipped == []
    assert found == Deadlines(MonthDay(25), MonthDay(None, True), MonthDay(None), MonthDay(10, True))


def test_days_that_are_no_days_are_left_out_and_named() -> None:
    found, skipped = deadlines("doc", _dd(DayOfMonth(0, False), DayOfMonth(25, False), DayOfMonth(40, True)))
    assert found == Deadlines()
    assert [(s.part, s.why) for s in skipped] == [
        ("PeriodMetering/StartDate", "day 0 is not a day of a month"),
        ("PeriodMetering", "the window has only one end"),
        ("PaymentInterval", "day 40 is not a day of a month"),
    ]
    assert not found.usable


def test_a_window_ending_before_it_starts_is_left_out() -> None:
    found, skipped = deadlines("doc", _dd(DayOfMonth(25, False), DayOfMonth(20, False), DayOfMonth(10, True)))
    assert (found.metering_start, found.metering_end) == (None, None)
    assert found.payment == MonthDay(10, True)
    assert [s.why for s in skipped] == ["the window ends before it starts"]
    # The same days with the end in the next month are a window.
    found, skipped = deadlines("doc", _dd(DayOfMonth(25, False), DayOfMonth(20, True)))
    assert (found.metering_start, found.metering_end, skipped) == (MonthDay(25), MonthDay(20, True), [])


def test_deadlines_follow_the_document_version_each_claim_cites() -> None:
    good = _dd(DayOfMonth(20, False), DayOfMonth(25, False), DayOfMonth(10, True))
    renewed = _dd(None, None, DayOfMonth(15, True))
    by_version, _ = deadlines_by_version([_doc("V1", good), _doc("V2", renewed), _doc("V3", None)])
    assert set(by_version) == {"v1", "v2"}
    claims = [
        ManagementPeriod("b1", ORG, date(2020, 1, 1), date(2025, 1, 1), Basis.CONTRACT, ("V1", "o1")),
        ManagementPeriod("b1", ORG, date(2025, 1, 1), None, Basis.CONTRACT, ("V2", "o2")),
        ManagementPeriod("b1", OTHER, date(2025, 1, 1), None, Basis.LICENCE, ("V1",)),
        ManagementPeriod("b2", OTHER, date(2021, 1, 1), None, Basis.CHARTER, ("V1", "o3")),
        ManagementPeriod("b3", ORG, date(2021, 1, 1), None, Basis.CONTRACT, ("V3", "o4")),
    ]
    assert deadlines_by_building(claims, by_version) == {
        "b1": {ORG: by_version["v2"]},  # the renewal's dates; a licence claim cites no dates
        "b2": {OTHER: by_version["v1"]},
    }
