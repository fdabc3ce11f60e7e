"""Retention: how long a document is kept after its basis date (the end of the business
relationship, its upload, or its expiry), and the arithmetic of ISO 8601 periods.

A period has years, months and days only (``P5Y``, ``P6M``, ``P30D``, ``P1Y6M``, ``P0D``).
Years and months are added in the calendar: a day past the end of the month it lands in
becomes that month's last day (31 January + ``P1M`` is 28 or 29 February, 29 February +
``P1Y`` is 28 February). A document is due for deletion on its ``retain_until`` day and
after."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from kycvault.errors import InvalidInput

MAX_YEARS = 100
_PERIOD = re.compile(r"^P(?!$)(?:(\d{1,3})Y)?(?:(\d{1,4})M)?(?:(\d{1,5})D)?$")


class Basis(StrEnum):
    RELATIONSHIP_END = "relationship_end"
    UPLOAD = "upload"
    EXPIRY = "expiry"


@dataclass(frozen=True, slots=True)
class Period:
    years: int = 0
    months: int = 0
    days: int = 0

    def __str__(self) -> str:
        parts = [f"{n}{unit}" for n, unit in ((self.years, "Y"), (self.months, "M")) if n]
        if self.days or not parts:
            parts.append(f"{self.days}D")
        return "P" + "".join(parts)

    @property
    def total_months(self) -> int:
        return self.years * 12 + self.months


def parse_period(raw: str) -> Period:
    """An ISO 8601 duration of years, months and days; anything else is ``InvalidInput``."""
    match = _PERIOD.match(raw.strip().upper()) if isinstance(raw, str) else None
    if match is None:
        raise InvalidInput.field(
            "period", "invalid_period", 'an ISO 8601 duration of years, months, days: "P5Y"'
        )
    years, months, days = (int(g) if g else 0 for g in match.groups())
    period = Period(years, months, days)
    if period.total_months > MAX_YEARS * 12 or days > MAX_YEARS * 366:
        raise InvalidInput.field("period", "invalid_period", f"at most {MAX_YEARS} years")
    return period


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` (negative: back), clamped to the end of the month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def add_period(day: date, period: Period) -> date:
    """Years and months first (in the calendar), then days."""
    return add_months(day, period.total_months) + timedelta(days=period.days)


def retain_until(basis_date: date | None, period: Period) -> date | None:
    """The first day the document may be deleted; None while its basis date is unknown
    (no relationship end, no expiry date): it is kept."""
    return None if basis_date is None else add_period(basis_date, period)


def is_due(basis_date: date | None, period: Period, today: date) -> bool:
    until = retain_until(basis_date, period)
    return until is not None and until <= today


def latest_basis(period: Period, today: date) -> date:
    """A basis date no due document's is later than (a bound for the database to search
    under; ``is_due`` decides): the period taken back from ``today``, with slack for the
    month-end clamping."""
    back = add_months(today - timedelta(days=period.days), -period.total_months)
    return back + timedelta(days=4)
