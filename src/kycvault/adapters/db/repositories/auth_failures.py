"""Failed-authentication counters, one row per bucket, shared by every API process.

A failure is counted with one ``INSERT … ON CONFLICT DO UPDATE`` per bucket: the database
serialises concurrent counts of one bucket (a row lock on PostgreSQL, the single writer on
SQLite), so processes never lose each other's failures, and the window's reset and the block
are decided in the same statement from the row as it stands.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from kycvault.adapters.db.repositories._base import Repo
from kycvault.adapters.db.tables import UtcDateTime, auth_failures

_c = auth_failures.c
# The buckets of the console's failed logins (services/console_sessions.py).
CONSOLE_PREFIX = "console-"

_BLOCKED_UNTIL = sa.select(sa.func.max(_c.blocked_until)).where(
    _c.bucket.in_(sa.bindparam("buckets", expanding=True)),
    _c.blocked_until > sa.bindparam("now", type_=UtcDateTime),
)


def _count_statement(
    insert: Callable[[sa.Table], postgresql.Insert | sqlite.Insert],
) -> sa.Executable:
    now = sa.bindparam("now", type_=UtcDateTime)
    # The existing row's window is still open when it began after ``cutoff`` (now - window).
    live = _c.window_start > sa.bindparam("cutoff", type_=UtcDateTime)
    over = sa.and_(live, _c.failures + 1 > sa.bindparam("limit", type_=sa.Integer))
    stmt = insert(auth_failures).values(
        bucket=sa.bindparam("bucket"), window_start=now, failures=1, blocked_until=None
    )
    return stmt.on_conflict_do_update(
        index_elements=[_c.bucket],
        set_={
            # Every right-hand side reads the row as it was before this update.
            "failures": sa.case((live, _c.failures + 1), else_=1),
            "window_start": sa.case((over, now), (live, _c.window_start), else_=now),
            "blocked_until": sa.case(
                (over, sa.bindparam("until", type_=UtcDateTime)), else_=sa.null()
            ),
        },
    ).returning(_c.blocked_until)


_COUNT = {
    "postgresql": _count_statement(postgresql.insert),
    "sqlite": _count_statement(sqlite.insert),
}


class SqlAuthFailures(Repo):
    def blocked_until(self, buckets: Sequence[str], now: datetime) -> datetime | None:
        until: datetime | None = self._conn.execute(
            _BLOCKED_UNTIL, {"buckets": list(buckets), "now": now}
        ).scalar()
        return until

    def count(
        self, buckets: Sequence[str], now: datetime, window: timedelta, limit: int
    ) -> datetime | None:
        if self.dialect == "postgresql":
            # A count lost in a crash forgets a few failures, no more: this commit need not
            # wait for the WAL to reach the disk (the rest of the vault's commits still do).
            self._conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
        params = {"now": now, "cutoff": now - window, "limit": limit, "until": now + window}
        ends = []
        # One order for every caller, so two transactions never wait on each other's rows.
        for bucket in sorted(set(buckets)):
            end = self._conn.execute(_COUNT[self.dialect], {**params, "bucket": bucket}).scalar()
            if end is not None:
                ends.append(end)
        return max(ends, default=None)

    def purge_expired(self, before: datetime, *, console_before: datetime | None = None) -> int:
        console = _c.bucket.startswith(CONSOLE_PREFIX, autoescape=True)
        result = self._conn.execute(
            auth_failures.delete()
            .where(
                sa.or_(
                    sa.and_(~console, _c.window_start < before),
                    sa.and_(console, _c.window_start < (console_before or before)),
                )
            )
            .returning(_c.bucket)
        )
        return len(result.all())
