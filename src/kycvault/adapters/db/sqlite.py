"""SQLite behind the store: SQLAlchemy's *sync* engine (the standard library's sqlite3
driver), every step of a transaction run in a small thread pool of its own (see
``database.py`` for why), the pragmas every connection gets, and the database file kept
private."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from kycvault.adapters.db.connection import Connection, Savepoint, T
from kycvault.adapters.db.prepared import driver_cursor

_SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    "synchronous=FULL",
    "foreign_keys=ON",
    "busy_timeout=10000",
    "temp_store=MEMORY",
    # Deleted rows are overwritten, not left in free pages: a destroyed key or an erased
    # subject's sealed fields do not survive in the file (this SQLite build may default to it;
    # nothing should depend on that).
    "secure_delete=ON",
)


class ThreadedConnection(Connection):
    """A sync connection driven from the event loop: each ``run_sync`` call is one thread
    hop. The transaction opens lazily, inside the first call's hop, and commits with the
    deferred writes in the last one."""

    def __init__(self, database: ThreadedDatabase, write: bool) -> None:
        super().__init__()
        self._database = database
        self._write = write
        self._conn: sa.Connection | None = None
        self._savepoints = 0

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
        self._savepoints += 1
        name = f"kv_sp_{self._savepoints}"
        # In the hop that runs what was deferred before it, so that rolling back to it keeps
        # those writes.
        await self.run_sync(lambda conn: _raw(conn, f"SAVEPOINT {name}"))
        return _ThreadedSavepoint(self, name)

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
                self._database.close(conn, commit=False)
                raise
            if commit:
                self.commit_started = True
            self._database.close(conn, commit=commit)

        if commit:
            # Once the hop has started, its outcome is the thread's: a cancelled caller must
            # not leave a commit half-known, so the hop is waited for even then.
            await asyncio.shield(self._database.run(_end))
        else:
            await self._database.run(_end)


class _ThreadedSavepoint:
    """A savepoint by SQL on the driver's cursor: SQLAlchemy's nested transaction compiled its
    SAVEPOINT and RELEASE statements anew each time (a fifth of an idempotent upload's CPU).
    The root transaction's COMMIT or ROLLBACK ends every savepoint still open."""

    def __init__(self, connection: ThreadedConnection, name: str) -> None:
        self._connection = connection
        self._name = name

    async def release(self) -> None:
        # Deferred: it runs first in the unit's next hop or with the commit, and a savepoint
        # left open (its RELEASE discarded with a later rollback) ends with the transaction.
        self._connection.defer(lambda conn: _raw(conn, f"RELEASE {self._name}"))

    async def rollback(self) -> None:
        self._connection.discard_deferred()
        await self._connection.run_sync(lambda conn: _raw(conn, f"ROLLBACK TO {self._name}"))


def _raw(conn: sa.Connection, sql: str) -> None:
    with driver_cursor(conn, sql, ()) as cursor:
        cursor.execute(sql)


class WriterLock:
    """One writer at a time across every process of a database file: an exclusive ``flock`` on
    a file beside it, taken in the database thread before ``BEGIN IMMEDIATE`` and released
    after the commit or rollback (a thread lock first, so two threads of one process queue
    too: a ``flock`` is its open file's, shared by the process's threads).

    SQLite serialises writers itself, but a writer that finds the database locked sleeps in
    its busy handler (1, 2, 5, 10... up to 100 ms at a time) and checks again: with several
    API processes writing, a lost race costs tens of milliseconds. A writer waiting here is
    woken by the kernel the moment the lock is free, in the order of arrival. Measured with 16
    concurrent 200 KiB uploads on two processes, three runs each: p99 264-507 ms and 194-230
    uploads/s without the lock, 96-140 ms and 221-295 uploads/s with it."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None
        self._threads = threading.Lock()

    def acquire(self) -> None:
        self._threads.acquire()
        try:
            if self._fd is None:
                flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
                self._fd = os.open(self._path, flags, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def release(self) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


class ThreadedDatabase:
    def __init__(
        self, engine: sa.Engine, connections: int, writer_lock: WriterLock | None = None
    ) -> None:
        self.engine = engine
        self.dialect_name = engine.dialect.name
        self._writer_lock = writer_lock
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
        locked = write and self._writer_lock is not None
        if locked:
            assert self._writer_lock is not None
            self._writer_lock.acquire()
        try:
            conn = self.engine.connect()
            try:
                if write:
                    conn.execution_options(kycvault_write=True)
                conn.begin()
            except BaseException:
                conn.close()
                raise
        except BaseException:
            if locked:
                assert self._writer_lock is not None
                self._writer_lock.release()
            raise
        return conn

    def close(self, conn: sa.Connection, commit: bool) -> None:
        locked = self._writer_lock is not None and conn.get_execution_options().get(
            "kycvault_write", False
        )
        try:
            if commit:
                conn.commit()
            else:
                conn.rollback()
        finally:
            conn.close()
            if locked:
                assert self._writer_lock is not None
                self._writer_lock.release()

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
            lock = self._writer_lock or contextlib.nullcontext()
            with lock, self.engine.connect() as conn:
                conn.execution_options(kycvault_write=True)
                result = work(conn)
                conn.commit()
                return result

        async with self._slots:
            return await self.run(_work)

    async def dispose(self) -> None:
        await self.run(self.engine.dispose)
        self._executor.shutdown(wait=False)
        if self._writer_lock is not None:
            self._writer_lock.close()


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL (None for other databases and in-memory ones)."""
    if not url.startswith("sqlite"):
        return None
    database = sa.make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def private_sqlite_files(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600))
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        try:
            if name.stat().st_mode & 0o077:
                name.chmod(0o600)
        except FileNotFoundError:
            pass


def configure_sqlite(engine: sa.Engine) -> None:
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
