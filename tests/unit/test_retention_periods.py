"""Retention periods: parsing and the calendar arithmetic of a document's retain_until."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from kycvault.domain.retention import (
    Period,
    add_period,
    is_due,
    latest_basis,
    parse_period,
    retain_until,
)
from kycvault.errors import InvalidInput


@pytest.mark.parametrize(
    ("raw", "period", "text"),
    [
        ("P5Y", Period(5, 0, 0), "P5Y"),
        ("P10Y", Period(10, 0, 0), "P10Y"),
        ("P6M", Period(0, 6, 0), "P6M"),
        ("P30D", Period(0, 0, 30), "P30D"),
        ("P0D", Period(0, 0, 0), "P0D"),
        ("p1y6m2d", Period(1, 6, 2), "P1Y6M2D"),
        ("P0Y", Period(0, 0, 0), "P0D"),
    ],
)
def test_periods_parse(raw: str, period: Period, text: str) -> None:
    assert parse_period(raw) == period
    assert str(parse_period(raw)) == text


@pytest.mark.parametrize(
    "raw", ["", "P", "5Y", "PT5H", "P1W", "P1.5Y", "P-1Y", "P1D1Y", "P5Y ", "P101Y", "P1YT1M"]
)
def test_other_durations_are_refused(raw: str) -> None:
    if raw == "P5Y ":
        assert parse_period(raw) == Period(5)  # surrounding blanks are trimmed
        return
    with pytest.raises(InvalidInput):
        parse_period(raw)


@pytest.mark.parametrize(
    ("start", "period", "until"),
    [
        (date(2020, 1, 31), "P1M", date(2020, 2, 29)),  # leap year month end
        (date(2021, 1, 31), "P1M", date(2021, 2, 28)),
        (date(2021, 3, 31), "P1M", date(2021, 4, 30)),
        (date(2020, 2, 29), "P1Y", date(2021, 2, 28)),  # leap day, common year after
        (date(2020, 2, 29), "P4Y", date(2024, 2, 29)),
        (date(2020, 2, 29), "P5Y", date(2025, 2, 28)),
        (date(2021, 12, 15), "P1M", date(2022, 1, 15)),
        (date(2021, 8, 31), "P6M", date(2022, 2, 28)),
        (date(2021, 1, 31), "P1M1D", date(2021, 3, 1)),  # months first, then days
        (date(2024, 12, 31), "P30D", date(2025, 1, 30)),
        (date(2024, 5, 6), "P0D", date(2024, 5, 6)),
    ],
)
def test_retain_until(start: date, period: str, until: date) -> None:
    assert add_period(start, parse_period(period)) == until
    assert retain_until(start, parse_period(period)) == until


def test_unknown_basis_date_is_never_due() -> None:
    assert retain_until(None, Period(5)) is None
    assert not is_due(None, Period(), date(2999, 1, 1))


def test_due_on_retain_until_and_after() -> None:
    p = parse_period("P5Y")
    assert not is_due(date(2020, 6, 1), p, date(2025, 5, 31))
    assert is_due(date(2020, 6, 1), p, date(2025, 6, 1))
    assert is_due(date(2020, 6, 1), p, date(2026, 1, 1))
    assert is_due(date(2024, 5, 6), Period(), date(2024, 5, 6))


@pytest.mark.parametrize("period", ["P0D", "P1M", "P6M", "P1Y", "P5Y", "P1Y1M3D", "P30D"])
def test_the_database_bound_never_misses_a_due_document(period: str) -> None:
    p = parse_period(period)
    today = date(2025, 1, 1)
    for offset in range(0, 3 * 366, 5):
        on = today + timedelta(days=offset)
        bound = latest_basis(p, on)
        for back in range(p.days + 30 * p.total_months - 40, p.days + 31 * p.total_months + 40):
            basis = on - timedelta(days=back)
            if is_due(basis, p, on):
                assert basis <= bound, (basis, on)
