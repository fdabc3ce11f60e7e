"""Expiry notifications: the thresholds a tenant is told at, and which one a document has
reached.

Days are calendar days in UTC: a document expiring on 2027-01-08 has 7 days left on
2027-01-01 (UTC), whatever the time of day. ``document.expiring`` is sent when a threshold is
reached (days left ≤ threshold) and ``document.expired`` on the expiry day itself (days left
≤ 0), which counts as the threshold 0. A document that has reached several thresholds at
once (created or re-dated close to its expiry, or after a long pause of the scan) is told
once, for the nearest one: the farther ones are past news.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from kycvault.errors import InvalidInput

# Where a tenant's settings (``Tenant.settings``) keep these.
SETTINGS_KEY = "notifications"
THRESHOLDS_FIELD = "expiry_thresholds_days"
DEFAULT_THRESHOLDS = (30, 7, 1)
# The threshold of ``document.expired``: the expiry day itself.
EXPIRED = 0
MAX_THRESHOLD = 365
MAX_THRESHOLDS = 10
# A document whose expiry day is further in the past than this when the scan first sees it
# (one created long expired, say) is not news: it gets no event. This also bounds what the
# scan reads, and how long the marks of notifications are kept.
EXPIRED_LOOKBACK_DAYS = 30


def check_thresholds(raw: Any, field: str = THRESHOLDS_FIELD) -> tuple[int, ...]:
    """``raw`` as thresholds, largest first: 1 to 10 distinct integers from 1 to 365."""
    if not isinstance(raw, list) or not raw:
        raise InvalidInput.field(field, "invalid_thresholds", "a list of 1 to 10 day counts")
    if len(raw) > MAX_THRESHOLDS:
        raise InvalidInput.field(field, "too_many_thresholds", "at most 10 thresholds")
    for value in raw:
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidInput.field(field, "invalid_type", "thresholds are whole days")
        if not 1 <= value <= MAX_THRESHOLD:
            raise InvalidInput.field(field, "out_of_range", "thresholds are 1 to 365 days")
    if len(set(raw)) != len(raw):
        raise InvalidInput.field(field, "duplicate_threshold", "thresholds must be distinct")
    return tuple(sorted(raw, reverse=True))


def thresholds_of_tenant(tenant_settings: Mapping[str, Any]) -> tuple[int, ...]:
    """The tenant's thresholds, largest first (the default until it sets its own)."""
    stored = tenant_settings.get(SETTINGS_KEY) or {}
    raw = stored.get(THRESHOLDS_FIELD)
    return check_thresholds(raw) if raw is not None else DEFAULT_THRESHOLDS


def days_left(expiry_date: date, today: date) -> int:
    return (expiry_date - today).days


def reached(thresholds: Iterable[int], left: int) -> tuple[int, ...]:
    """The thresholds (and ``EXPIRED``) a document with ``left`` days left has reached,
    nearest first: the first is the one to tell, the others are marked done silently."""
    passed = {t for t in thresholds if left <= t}
    if left <= EXPIRED:
        passed.add(EXPIRED)
    return tuple(sorted(passed))


@dataclass(frozen=True, slots=True)
class Window:
    """The documents whose nearest reached threshold is ``threshold``: those with from
    ``fewest`` to ``most`` days left."""

    threshold: int
    fewest: int
    most: int


def windows(thresholds: Sequence[int]) -> list[Window]:
    """One window per threshold, from the farthest to ``EXPIRED``; together they cover
    every day count from the largest threshold down to ``-EXPIRED_LOOKBACK_DAYS``."""
    ordered = [*sorted(set(thresholds), reverse=True), EXPIRED]
    found = []
    for i, threshold in enumerate(ordered):
        fewest = ordered[i + 1] + 1 if i + 1 < len(ordered) else -EXPIRED_LOOKBACK_DAYS
        found.append(Window(threshold, fewest, threshold))
    return found
