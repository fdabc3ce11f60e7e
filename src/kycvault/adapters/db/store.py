"""The ``Store`` port over a ``Database`` (see ``database.py``): units of work, the single
SQLite writer, and the translation of database errors into kycvault's.

Write transactions on SQLite are serialised inside the process by one lock: many concurrent
writers otherwise pile up in SQLite's busy-handler back-off (p99 of 180-230 ms measured at 16
concurrent uploads), while one writer at a time keeps p99 near 35 ms. Reads run concurrently.

``atomic()`` makes every write unit opened inside it (in the same task) part of one
transaction, committed when the ``atomic`` block ends: an idempotent request records its
change and its stored response together, so a crash between the two cannot happen. The
first write unit opens the transaction; later ones run in savepoints, so a unit that fails
and is handled (a lost race, retried) undoes only its own statements. Read units inside the
block see the transaction's writes.

Units carry hooks: ``on_commit`` actions run once the change is certainly committed (removing
the blobs of deleted files), ``on_rollback`` actions once it certainly is not (removing
blobs published for rows that never committed). When the outcome is unknown — the
connection failed during COMMIT — neither runs and ``CommitUncertain`` is raised: a blob
whose row may have committed is never removed (an unreferenced one is swept later).

``append_audit`` and ``audited_read`` record reads through the store's ``ReadRecords``
(``read_records.py``): concurrent reads share one write transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, NoReturn

import sqlalchemy as sa
import structlog
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from kycvault.adapters.db import transfer
from kycvault.adapters.db.connection import Connection, Database
from kycvault.adapters.db.database import create_database
from kycvault.adapters.db.field_codec import FieldCodec
from kycvault.adapters.db.read_records import ReadRecords
from kycvault.adapters.db.unit_of_work import Hook, SqlUnitOfWork
from kycvault.errors import CommitUncertain, Conflict, KycVaultError, Unavailable
from kycvault.ports.persistence.master_wraps import VaultKeyRecord
from kycvault.ports.persistence.records import AuditEvent
from kycvault.ports.persistence.store import Found, UnitOfWork

__all__ = ["SqlStore", "SqlUnitOfWork", "create_database"]

log = structlog.get_logger("kycvault.store")


async def _run_hooks(hooks: Sequence[Hook], when: str) -> None:
    """Run every hook; one that fails is logged and does not stop the others (what it left
    behind is unreferenced and swept later)."""
    for hook in hooks:
        try:
            await hook()
        except Exception as exc:
            log.warning("transaction_hook_failed", when=when, error=type(exc).__name__)


def _translated(exc: BaseException) -> BaseException:
    """A database error as kycvault's; anything else as it is."""
    if isinstance(exc, IntegrityError):
        return Conflict(
            "the change conflicts with stored data (a unique value is taken, or a "
            "referenced row is gone)",
            code="conflict",
        )
    if isinstance(exc, OperationalError | DBAPIError):
        return _translate(exc)
    return exc


def _raise_translated(exc: BaseException) -> NoReturn:
    translated = _translated(exc)
    if translated is exc:
        raise exc
    raise translated from None


def _commit_failed(conn: Connection | None, exc: BaseException) -> bool:
    """Whether ``exc`` left the commit's outcome unknown (it came from COMMIT itself and is
    not a refusal by the database, which means the transaction rolled back)."""
    return conn is not None and conn.commit_started and not isinstance(exc, IntegrityError)


def _uncertain() -> CommitUncertain:
    return CommitUncertain(
        "the database connection failed while committing; the change may or may not be "
        "stored: retry with the same Idempotency-Key",
        code="database_unavailable",
    )


class _Scope:
    """The one write transaction of an ``atomic`` block (see the module docstring)."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.conn: Connection | None = None
        self._stack: AsyncExitStack | None = None
        self.commit_hooks: list[Hook] = []
        self.rollback_hooks: list[Hook] = []

    async def _open(self) -> Connection:
        stack = AsyncExitStack()
        try:
            if self.store._write_lock is not None:
                await stack.enter_async_context(self.store._write_lock)
            conn: Connection = await stack.enter_async_context(
                self.store.database.transaction(write=True)
            )
        except BaseException:
            await stack.aclose()
            raise
        self.conn, self._stack = conn, stack
        return conn

    async def _end(self, exc: BaseException | None) -> None:
        """Commit (``exc`` None) or roll back the transaction, if one is open."""
        stack, self._stack, self.conn = self._stack, None, None
        if stack is None:
            return
        if exc is None:
            await stack.aclose()
        else:
            # The transaction's context rolls back on any exception it is given.
            await stack.__aexit__(type(exc), exc, exc.__traceback__)

    @asynccontextmanager
    async def unit(self, on_rollback: Hook | None) -> AsyncIterator[SqlUnitOfWork]:
        root = self.conn is None
        savepoint = None
        try:
            conn = await self._open() if root else self.conn
            assert conn is not None
            if not root:
                savepoint = await conn.savepoint()
        except BaseException as exc:
            if on_rollback is not None:
                await _run_hooks([on_rollback], "rollback")
            _raise_translated(exc)
        uow = SqlUnitOfWork(conn, self.store.fields)
        if on_rollback is not None:
            uow.on_rollback(on_rollback)
        try:
            yield uow
            # Deferred writes run now, so that their errors belong to this unit.
            await conn.flush()
        except BaseException as exc:
            with contextlib.suppress(Exception):
                if savepoint is not None:
                    await savepoint.rollback()
                else:
                    await self._end(exc)
            await _run_hooks(uow.rollback_hooks, "rollback")
            _raise_translated(exc)
        if savepoint is not None:
            try:
                await savepoint.release()
            except BaseException as exc:
                await _run_hooks(uow.rollback_hooks, "rollback")
                _raise_translated(exc)
                raise
        self.commit_hooks += uow.commit_hooks
        self.rollback_hooks += uow.rollback_hooks

    async def finish(self, exc: BaseException | None) -> None:
        conn = self.conn
        if exc is not None:
            with contextlib.suppress(Exception):
                await self._end(exc)
            await _run_hooks(self.rollback_hooks, "rollback")
            return
        try:
            await self._end(None)
        except BaseException as failure:
            if _commit_failed(conn, failure):
                log.error("commit_outcome_unknown", error=type(failure).__name__)
                if isinstance(failure, Exception):
                    raise _uncertain() from None
                raise
            await _run_hooks(self.rollback_hooks, "rollback")
            _raise_translated(failure)
        await _run_hooks(self.commit_hooks, "commit")


_SCOPE: ContextVar[_Scope | None] = ContextVar("kycvault_store_scope", default=None)


class SqlStore:
    def __init__(self, database: Database, fields: FieldCodec | None = None) -> None:
        self.database = database
        self.fields = fields
        self._sqlite = database.dialect_name == "sqlite"
        self._write_lock = asyncio.Lock() if self._sqlite else None
        self._reads = ReadRecords(self.write, lambda: self._scope() is not None)

    def _scope(self) -> _Scope | None:
        scope = _SCOPE.get()
        return scope if scope is not None and scope.store is self else None

    @asynccontextmanager
    async def atomic(self) -> AsyncIterator[None]:
        """Every write unit inside the block (in this task) commits together at its end."""
        if self._scope() is not None:
            yield
            return
        scope = _Scope(self)
        token = _SCOPE.set(scope)
        try:
            yield
        except BaseException as exc:
            _SCOPE.reset(token)
            await scope.finish(exc)
            raise
        _SCOPE.reset(token)
        await scope.finish(None)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[SqlUnitOfWork]:
        scope = self._scope()
        if scope is not None and scope.conn is not None:
            # Inside an atomic block that has written: read what it wrote.
            yield SqlUnitOfWork(scope.conn, self.fields)
            return
        try:
            async with self.database.transaction(write=False) as conn:
                yield SqlUnitOfWork(conn, self.fields)
        except (OperationalError, DBAPIError) as exc:
            raise _translate(exc) from None

    @asynccontextmanager
    async def write(self, *, on_rollback: Hook | None = None) -> AsyncIterator[SqlUnitOfWork]:
        scope = self._scope()
        if scope is not None:
            async with scope.unit(on_rollback) as joined:
                yield joined
            return
        uow: SqlUnitOfWork | None = None
        conn: Connection | None = None
        try:
            async with AsyncExitStack() as stack:
                if self._write_lock is not None:
                    await stack.enter_async_context(self._write_lock)
                opened: Connection = await stack.enter_async_context(
                    self.database.transaction(write=True)
                )
                conn = opened
                uow = SqlUnitOfWork(opened, self.fields)
                yield uow
        except BaseException as exc:
            if _commit_failed(conn, exc):
                log.error("commit_outcome_unknown", error=type(exc).__name__)
                if isinstance(exc, Exception):
                    raise _uncertain() from None
                raise
            hooks = [on_rollback] if on_rollback is not None else []
            await _run_hooks(hooks + (uow.rollback_hooks if uow else []), "rollback")
            _raise_translated(exc)
        if uow is not None:
            await _run_hooks(uow.commit_hooks, "commit")

    async def append_audit(self, event: AuditEvent, key: bytes) -> None:
        await self._reads.append(event, key)

    async def audited_read(
        self,
        lookup: Callable[[UnitOfWork], Awaitable[Found]],
        record: Callable[[Found], AuditEvent | None],
        key: bytes,
    ) -> Found:
        return await self._reads.audited(lookup, record, key)

    async def ping(self) -> None:
        async with self.read() as uow:
            await uow.connection.exec_driver_sql("SELECT 1")

    async def optimize(self) -> None:
        # SQLite only analyses on request; the listing and search plans depend on it (with
        # statistics, a rare search is driven from the trigram index). analysis_limit keeps it
        # to a sample, a few milliseconds even at millions of rows. PostgreSQL autovacuum
        # analyses by itself.
        if not self._sqlite:
            return
        async with self.write() as uow:
            await uow.connection.exec_driver_sql("PRAGMA analysis_limit=1000")
            await uow.connection.exec_driver_sql("ANALYZE")

    async def export_rows(self, directory: Path) -> dict[str, dict[str, Any]]:
        """Every row into ``directory`` (see ``transfer.py``), from one consistent snapshot:
        a repeatable-read transaction on PostgreSQL; on SQLite a write transaction, which
        holds other writers off until the rows are out."""

        def work(conn: sa.Connection) -> dict[str, dict[str, Any]]:
            if not self._sqlite:
                conn.execution_options(isolation_level="REPEATABLE READ")
            return transfer.dump(conn, directory)

        return await self.database.run_sync(work)

    async def import_rows(self, directory: Path, summary: dict[str, dict[str, Any]]) -> None:
        """Every exported row, in one transaction, into this empty vault."""

        loaded = False

        def work(conn: sa.Connection) -> None:
            nonlocal loaded
            if not transfer.is_empty(conn):
                raise Conflict("the target vault is not empty", code="vault_not_empty")
            transfer.load(conn, directory, summary)
            loaded = True

        try:
            await self.database.run_sync(work)
        except IntegrityError:
            raise Conflict("the export's rows conflict with each other", code="conflict") from None
        except Exception as exc:
            if loaded and not isinstance(exc, KycVaultError):
                # The rows were in and the COMMIT failed: they may be stored.
                log.error("commit_outcome_unknown", error=type(exc).__name__)
                raise _uncertain() from None
            raise

    def exported_blob_keys(self, directory: Path) -> Iterator[str]:
        return transfer.blob_keys(directory)

    def exported_vault_keys(self, directory: Path) -> list[VaultKeyRecord]:
        return [VaultKeyRecord(**row) for row in transfer.exported_rows(directory, "vault_keys")]

    async def durability_problems(self) -> list[str]:
        """Settings under which PostgreSQL may acknowledge a commit it then loses."""
        if self._sqlite:
            return []  # the connections set synchronous=FULL themselves
        problems = []
        async with self.read() as uow:
            for setting in ("fsync", "synchronous_commit"):
                value = (await uow.connection.exec_driver_sql(f"SHOW {setting}")).scalar_one()
                if str(value).lower() == "off":
                    problems.append(f"{setting} is {value}")
        return problems

    async def master_key_ids(self) -> dict[str, int]:
        """How many tenant keys each master key (by its public id) wraps."""
        return {
            k: n for (table, k), n in (await self.wrap_counts()).items() if table == "tenant_keys"
        }

    async def wrap_counts(self) -> dict[tuple[str, str], int]:
        """How many rows of each table wrapped by a master key (tenant keys, and the vault's
        own keys once that table exists) each master key wraps; on a schema of any revision."""

        def count(conn: sa.Connection) -> dict[tuple[str, str], int]:
            tables = ["tenant_keys"]
            if sa.inspect(conn).has_table("vault_keys"):
                tables.append("vault_keys")
            found: dict[tuple[str, str], int] = {}
            for table in tables:
                rows = conn.exec_driver_sql(
                    f"SELECT master_key_id, count(*) FROM {table} GROUP BY master_key_id"  # noqa: S608 (fixed names)
                ).all()
                found.update({(table, str(key_id)): int(n) for key_id, n in rows})
            return found

        return await self.database.run_sync(count)

    async def holds_nothing(self) -> bool:
        """Whether no table but the vault's own keys has a row (a vault at the newest schema
        that nothing was stored in yet)."""
        return await self.database.run_sync(transfer.is_empty)

    async def dispose(self) -> None:
        await self._reads.close()
        await self.database.dispose()


def _translate(exc: DBAPIError) -> Unavailable:
    # The driver's own words ("database is locked", "connection refused"), never the
    # statement or its parameters, which may hold personal data.
    log.warning("database_error", error=type(exc.orig).__name__, detail=str(exc.orig)[:200])
    return Unavailable("the database is not available", code="database_unavailable")
