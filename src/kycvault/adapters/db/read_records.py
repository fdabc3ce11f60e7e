"""The records of reads, written through a group commit (``group_commit.py``).

A read changed nothing, so nothing else goes in its record's transaction: concurrent reads'
events share one write transaction and one commit, and each read returns only once its event
is committed. ``audited`` puts a point read's lookup in that transaction too (a download's
file), so that it costs one transaction rather than a read one and then a write one; a
lookup that finds nothing fails its own read, records nothing and leaves the rest of the
batch alone. Inside an ``atomic`` block, which holds the SQLite writer, a read is recorded
in the block's transaction instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DBAPIError

from kycvault.adapters.db.group_commit import Failed, GroupCommit
from kycvault.adapters.db.repositories import SqlAudit
from kycvault.adapters.db.unit_of_work import SqlUnitOfWork
from kycvault.ports.persistence.records import AuditEvent
from kycvault.ports.persistence.store import Found, UnitOfWork


@dataclass(frozen=True, slots=True)
class _Read:
    lookup: Callable[[UnitOfWork], Awaitable[Any]] | None
    record: Callable[[Any], AuditEvent | None]
    key: bytes  # the chains' MAC key


class ReadRecords:
    def __init__(
        self,
        write: Callable[[], AbstractAsyncContextManager[SqlUnitOfWork]],
        in_atomic_block: Callable[[], bool],
    ) -> None:
        self._write = write
        self._in_atomic_block = in_atomic_block
        self._batches: GroupCommit[_Read, Any] = GroupCommit(self._write_batch)

    async def append(self, event: AuditEvent, key: bytes) -> None:
        await self._submit(_Read(None, lambda _: event, key))

    async def audited(
        self,
        lookup: Callable[[UnitOfWork], Awaitable[Found]],
        record: Callable[[Found], AuditEvent | None],
        key: bytes,
    ) -> Found:
        found: Found = await self._submit(_Read(lookup, record, key))
        return found

    async def close(self) -> None:
        await self._batches.close()

    async def _submit(self, read: _Read) -> Any:
        if not self._in_atomic_block():
            return await self._batches.submit(read)
        async with self._write() as uow:
            found = await read.lookup(uow) if read.lookup is not None else None
            event = read.record(found)
            if event is not None:
                await uow.audit.add(event, read.key)
        return found

    async def _write_batch(self, reads: Sequence[_Read]) -> list[Any]:
        outcomes: list[Any] = []
        events: list[tuple[AuditEvent, bytes]] = []
        async with self._write() as uow:
            for read in reads:
                try:
                    found = await read.lookup(uow) if read.lookup is not None else None
                except DBAPIError:
                    raise  # the transaction is in doubt: the whole batch fails
                except Exception as exc:  # nothing found, or a row that does not open
                    outcomes.append(Failed(exc))
                    continue
                event = read.record(found)
                if event is not None:
                    events.append((event, read.key))
                outcomes.append(found)
            # Deferred: on SQLite the inserts and the commit take one thread hop together.
            uow.connection.defer(lambda conn: SqlAudit(conn).add_batch(events))
        return outcomes
