"""Database engines behind the store: how a transaction is opened and a statement is run.

PostgreSQL uses SQLAlchemy's native async engine (psycopg 3), which is efficient.

SQLite uses SQLAlchemy's *sync* engine (the standard library's sqlite3 driver), and every
step of a transaction runs in a small thread pool of its own. The async SQLite bridge
(aiosqlite, driven through SQLAlchemy's greenlet adapter) costs about 0.6 ms per statement in
thread hops and switches, 20 times what SQLite needs to answer an indexed page of 50 rows;
here a statement is one hop, and its rows are fetched and converted in the same hop. Reads run
concurrently on up to ``pool_size`` connections; writes are serialised by the store.

SQLite connections get WAL, ``synchronous=FULL`` (an acknowledged upload survives power
loss), ``foreign_keys`` and a busy timeout. Write transactions start with
``BEGIN IMMEDIATE``, so they never fail half-way with SQLITE_BUSY when they upgrade from
reading to writing. The database file is created 0600 before SQLite opens it (SQLite gives
its WAL and shared-memory files the database file's mode), and an existing one, with its
WAL and SHM, is brought to 0600: its rows hold names and document numbers in plain text.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Result
from sqlalchemy.ext import asyncio as sa_async
from sqlalchemy.ext.asyncio import create_async_engine

T = TypeVar("T")

_SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    "synchronous=FULL",
    "foreign_keys=ON",
    "busy_timeout=10000",
    "temp_store=MEMORY",
)


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
        self._last: list[Work] = []
        self.commit_started = False

    @property
    def dialect(self) -> sa.Dialect:
        raise NotImplementedError

    def defer(self, work: Work, *, last: bool = False) -> None:
        (self._last if last else self._deferred).append(work)

    def discard_deferred(self) -> None:
        """Forget deferred writes (their savepoint or transaction is being rolled back)."""
        self._deferred = []
        self._last = []

    def _ending(self) -> None:
        """The unit ends: the writes deferred ``last`` join the queue, at its end."""
        self._deferred += self._last
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


class AsyncConnection(Connection):
    def __init__(self, conn: sa_async.AsyncConnection) -> None:
        super().__init__()
        self._conn = conn

    @property
    def dialect(self) -> sa.Dialect:
        return self._conn.dialect

    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._conn.run_sync(self._with_deferred(fn, args))

    async def savepoint(self) -> Savepoint:
        await self.flush()
        return _AsyncSavepoint(self, await self._conn.begin_nested())


class _AsyncSavepoint:
    def __init__(self, connection: AsyncConnection, transaction: sa_async.AsyncTransaction) -> None:
        self._connection = connection
        self._transaction = transaction

    async def release(self) -> None:
        await self._connection.flush()
        await self._transaction.commit()

    async def rollback(self) -> None:
        self._connection.discard_deferred()
        await self._transaction.rollback()


class AsyncDatabase:
    def __init__(self, engine: sa_async.AsyncEngine) -> None:
        self.engine = engine
        self.dialect_name = engine.dialect.name

    @asynccontextmanager
    async def transaction(self, *, write: bool) -> AsyncIterator[Connection]:
        async with self.engine.connect() as conn:
            transaction = await conn.begin()
            connection = AsyncConnection(conn)
            try:
                yield connection
                await connection.flush()
            except BaseException:
                await asyncio.shield(transaction.rollback())
                raise
            connection.commit_started = True
            await transaction.commit()

    async def run_sync(self, work: Callable[[sa.Connection], T]) -> T:
        async with self.engine.connect() as conn:
            result = await conn.run_sync(work)
            await conn.commit()
            return result

    async def dispose(self) -> None:
        await self.engine.dispose()


class ThreadedConnection(Connection):
    """A sync connection driven from the event loop: each ``run_sync`` call is one thread
    hop. The transaction opens lazily, inside the first call's hop, and commits with the
    deferred writes in the last one."""

    def __init__(self, database: ThreadedDatabase, write: bool) -> None:
        super().__init__()
        self._database = database
        self._write = write
        self._conn: sa.Connection | None = None

    @property
    def dialect(self) -> sa.Dialect:
        return self._database.engine.dialect

    def _connection(self) -> sa.Connection:
        if self._conn is None:
            self._conn = self._database.open(self._write)
        return self._conn

    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        unit = self._with_deferred(fn, args)
        return await self._database.run(lambda: unit(self._connection()))

    async def savepoint(self) -> Savepoint:
        nested = await self.run_sync(lambda conn: conn.begin_nested())
        return _ThreadedSavepoint(self, nested)

    async def finish(self, commit: bool) -> None:
        """End the transaction; on commit the deferred writes run first, in the same hop."""
        if not commit:
            self.discard_deferred()
        self._ending()
        if self._conn is None and not self._deferred:
            return
        unit = self._with_deferred(lambda conn: None, ())

        def _end() -> None:
            conn = self._connection()
            self._conn = None
            try:
                unit(conn)
            except BaseException:
                ThreadedDatabase.close(conn, commit=False)
                raise
            if commit:
                self.commit_started = True
            ThreadedDatabase.close(conn, commit=commit)

        if commit:
            # Once the hop has started, its outcome is the thread's: a cancelled caller must
            # not leave a commit half-known, so the hop is waited for even then.
            await asyncio.shield(self._database.run(_end))
        else:
            await self._database.run(_end)


class _ThreadedSavepoint:
    def __init__(self, connection: ThreadedConnection, nested: sa.NestedTransaction) -> None:
        self._connection = connection
        self._nested = nested

    async def release(self) -> None:
        await self._connection.run_sync(lambda conn: self._nested.commit())

    async def rollback(self) -> None:
        self._connection.discard_deferred()
        await self._connection.run_sync(lambda conn: self._nested.rollback())


class ThreadedDatabase:
    def __init__(self, engine: sa.Engine, connections: int) -> None:
        self.engine = engine
        self.dialect_name = engine.dialect.name
        self._executor = ThreadPoolExecutor(max_workers=connections, thread_name_prefix="kv-db")
        # A transaction waits for a free connection here, on the event loop, never in a
        # worker thread: threads blocked in the pool's checkout would starve the very
        # transactions that hold the connections (all threads waiting, none working).
        self._slots = asyncio.Semaphore(connections)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` in a database thread. A caller cancelled while the step runs waits for
        it to end before the cancellation goes on: a connection is used by one thread at a
        time, and the rollback that follows a cancellation runs on the same connection (from
        another thread, it would interleave with the step still running: sqlite3 then
        answers one statement with another's rows)."""
        step = asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        try:
            return await asyncio.shield(step)
        except asyncio.CancelledError:
            await _settled(step)
            raise

    def open(self, write: bool) -> sa.Connection:
        conn = self.engine.connect()
        try:
            if write:
                conn.execution_options(kycvault_write=True)
            conn.begin()
        except BaseException:
            conn.close()
            raise
        return conn

    @staticmethod
    def close(conn: sa.Connection, commit: bool) -> None:
        try:
            if commit:
                conn.commit()
            else:
                conn.rollback()
        finally:
            conn.close()

    @asynccontextmanager
    async def transaction(self, *, write: bool) -> AsyncIterator[Connection]:
        async with self._slots:
            connection = ThreadedConnection(self, write)
            try:
                yield connection
            except BaseException:
                await asyncio.shield(connection.finish(commit=False))
                raise
            await connection.finish(commit=True)

    async def run_sync(self, work: Callable[[sa.Connection], T]) -> T:
        def _work() -> T:
            with self.engine.connect() as conn:
                conn.execution_options(kycvault_write=True)
                result = work(conn)
                conn.commit()
                return result

        async with self._slots:
            return await self.run(_work)

    async def dispose(self) -> None:
        await self.run(self.engine.dispose)
        self._executor.shutdown(wait=False)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL (None for other databases and in-memory ones)."""
    if not url.startswith("sqlite"):
        return None
    database = sa.make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _private_sqlite_files(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600))
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        try:
            if name.stat().st_mode & 0o077:
                name.chmod(0o600)
        except FileNotFoundError:
            pass


def create_database(url: str, *, sqlite_pool_size: int = 8) -> Database:
    if url.startswith("sqlite"):
        path = sqlite_file(url)
        if path is not None:
            _private_sqlite_files(path)
        sync_url = url.replace("sqlite+aiosqlite:", "sqlite:")
        engine = sa.create_engine(
            sync_url,
            pool_size=sqlite_pool_size,
            max_overflow=0,
            connect_args={"check_same_thread": False},
        )
        _configure_sqlite(engine)
        return ThreadedDatabase(engine, connections=sqlite_pool_size)
    return AsyncDatabase(
        create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    )


def _configure_sqlite(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event decide how transactions start (see below).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        immediate = conn.get_execution_options().get("kycvault_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


async def _settled(step: asyncio.Future[Any]) -> None:
    """Wait until ``step`` has ended, through any number of further cancellations."""
    while not step.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait({step})
    if not step.cancelled():
        step.exception()  # retrieved: the cancellation is what the caller sees
