"""Database engines behind the store: how a transaction is opened and a statement is run.

PostgreSQL uses SQLAlchemy's native async engine (psycopg 3), which is efficient.

SQLite (``sqlite.py``) uses SQLAlchemy's *sync* engine (the standard library's sqlite3
driver), and every step of a transaction runs in a small thread pool of its own. The async
SQLite bridge (aiosqlite, driven through SQLAlchemy's greenlet adapter) costs about 0.6 ms
per statement in thread hops and switches, 20 times what SQLite needs to answer an indexed
page of 50 rows; here a statement is one hop, and its rows are fetched and converted in the
same hop. Reads run concurrently on up to ``pool_size`` connections; writes are serialised
by the store.

SQLite connections get WAL, ``synchronous=FULL`` (an acknowledged upload survives power
loss), ``foreign_keys`` and a busy timeout. Write transactions start with
``BEGIN IMMEDIATE``, so they never fail half-way with SQLITE_BUSY when they upgrade from
reading to writing, and take a lock file beside the database first, so that writers of
several processes queue in the kernel rather than poll in SQLite's busy handler
(``WriterLock``). The database file is created 0600 before SQLite opens it (SQLite gives
its WAL and shared-memory files the database file's mode), and an existing one, with its
WAL and SHM, is brought to 0600: its rows hold names and document numbers in plain text.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext import asyncio as sa_async
from sqlalchemy.ext.asyncio import create_async_engine

from kycvault.adapters.db.connection import Connection, Database, Savepoint, T
from kycvault.adapters.db.sqlite import (
    ThreadedDatabase,
    WriterLock,
    configure_sqlite,
    private_sqlite_files,
    sqlite_file,
)


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


def create_database(url: str, *, sqlite_pool_size: int = 8) -> Database:
    if url.startswith("sqlite"):
        path = sqlite_file(url)
        if path is not None:
            private_sqlite_files(path)
        sync_url = url.replace("sqlite+aiosqlite:", "sqlite:")
        engine = sa.create_engine(
            sync_url,
            pool_size=sqlite_pool_size,
            max_overflow=0,
            connect_args={"check_same_thread": False},
        )
        configure_sqlite(engine)
        writers = WriterLock(Path(f"{path}.writer-lock")) if path is not None else None
        return ThreadedDatabase(engine, connections=sqlite_pool_size, writer_lock=writers)
    return AsyncDatabase(
        create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    )
