"""A clock the test moves by hand, for services that take the time from ``AppContext.clock``."""

from __future__ import annotations

from datetime import UTC, datetime

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now
