"""What the store sees of a database: a ``Connection`` in a transaction (synchronous
repository code run on it as units, deferred writes) and the ``Database`` that opens them.
The engines are in ``database.py`` (PostgreSQL, async) and ``sqlite.py`` (SQLite, threads).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Result

T = TypeVar("T")

Work = Callable[[sa.Connection], Any]


class Savepoint(Protocol):
    async def release(self) -> None: ...

    async def rollback(self) -> None: ...


class Connection:
    """A connection in a transaction, as the store uses it: synchronous repository code runs
    on it as one unit (``run_sync``), and writes whose result nobody waits for are
    *deferred*: they run, in order, at the start of the next unit or with the commit. A
    write transaction of five inserts then costs one round trip to the database thread
    instead of six; a failing deferred write still fails the transaction.

    ``commit_started`` turns true when the COMMIT itself is sent: an error after that point
    leaves the outcome unknown (the connection may have died after the server committed),
    whereas any error before it means the transaction certainly rolled back.

    Writes deferred ``last`` run only when the unit ends (``flush``, the commit), after every
    other statement of the unit: the event log's sequence row is locked by them, so holding
    that lock never waits for another row's lock (see ``repositories/events.py``)."""

    def __init__(self) -> None:
        self._deferred: list[Work] = []
        self._last: list[tuple[int, Work]] = []
        self.commit_started = False

    @property
    def dialect(self) -> sa.Dialect:
        raise NotImplementedError

    def defer(self, work: Work, *, last: bool = False, order: int = 0) -> None:
        """``last`` writes run at the unit's end, by ``order`` then in the order deferred:
        those that lock a per-tenant row (the event sequence, the audit chain head) take
        their locks in one fixed order in every transaction, so two cannot deadlock."""
        if last:
            self._last.append((order, work))
        else:
            self._deferred.append(work)

    def discard_deferred(self) -> None:
        """Forget deferred writes (their savepoint or transaction is being rolled back)."""
        self._deferred = []
        self._last = []

    def _ending(self) -> None:
        """The unit ends: the writes deferred ``last`` join the queue, at its end."""
        self._deferred += [work for _, work in sorted(self._last, key=lambda item: item[0])]
        self._last = []

    def _with_deferred(
        self, fn: Callable[..., T], args: tuple[Any, ...]
    ) -> Callable[[sa.Connection], T]:
        deferred, self._deferred = self._deferred, []

        def unit(conn: sa.Connection) -> T:
            for work in deferred:
                work(conn)
            return fn(conn, *args)

        return unit

    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        raise NotImplementedError

    async def flush(self) -> None:
        """Run the deferred writes now (those deferred ``last`` too, after the others), so
        that their errors surface here."""
        self._ending()
        if self._deferred:
            await self.run_sync(lambda conn: None)

    async def savepoint(self) -> Savepoint:
        """A nested transaction: its changes can be undone without ending this one."""
        raise NotImplementedError

    async def exec_driver_sql(self, statement: str, parameters: Any = None) -> Result[Any]:
        def _exec(conn: sa.Connection) -> Result[Any]:
            result = conn.exec_driver_sql(statement, parameters)
            frozen: Result[Any] = result.freeze()() if result.returns_rows else result
            return frozen

        return await self.run_sync(_exec)


class Database(Protocol):
    dialect_name: str

    def transaction(self, *, write: bool) -> Any:
        """An async context manager: a ``Connection`` in a transaction that commits (with
        its deferred writes) when the block ends normally and rolls back otherwise."""
        ...

    async def run_sync(self, work: Callable[[sa.Connection], T]) -> T:
        """Run ``work`` on a plain connection in a write transaction (migrations)."""
        ...

    async def dispose(self) -> None: ...
