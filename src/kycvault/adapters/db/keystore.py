"""The subject-key store on a database of its own (``KYCVAULT_KEYSTORE_URL``).

By default an embedded vault keeps it in ``subject-keys.db`` beside the master key file (not
in the main database, so a copy of ``kycvault.db`` or a ``kycvault export`` holds no subject
key). The table is made on first use: the store has one table and no migrations of its own.
On SQLite, a destroyed key is overwritten in the file (``secure_delete``) and the WAL is
checkpointed and truncated at once, so its bytes do not linger in either.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from kycvault.adapters.db.columns import UtcDateTime
from kycvault.adapters.db.connection import Database, T
from kycvault.adapters.db.database import create_database
from kycvault.adapters.db.sqlite import ThreadedDatabase
from kycvault.ports.keystore import SubjectKeyRecord

_metadata = sa.MetaData()

subject_keys = sa.Table(
    "kycvault_subject_keys",
    _metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("subject_id", sa.Uuid, nullable=False),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
    sa.Column("tenant_key_id", sa.Uuid, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("retired", sa.Boolean, nullable=False, default=False),
    sa.UniqueConstraint("tenant_id", "subject_id", "generation"),
    sa.Index(None, "tenant_key_id"),
)


def _record(row: sa.RowMapping) -> SubjectKeyRecord:
    return SubjectKeyRecord(
        id=row["id"],
        tenant_id=row["tenant_id"],
        subject_id=row["subject_id"],
        generation=row["generation"],
        wrapped_key=bytes(row["wrapped_key"]),
        tenant_key_id=row["tenant_key_id"],
        created_at=row["created_at"],
        retired=bool(row["retired"]),
    )


def _checkpoint(engine: sa.Engine) -> None:
    raw = engine.raw_connection()
    try:
        raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()


class SqlSubjectKeyStore:
    def __init__(self, database: Database) -> None:
        self._db = database
        self._ready = False

    @classmethod
    def open(cls, url: str) -> SqlSubjectKeyStore:
        return cls(create_database(url, sqlite_pool_size=2))

    async def _run(self, work: Callable[[sa.Connection], T]) -> T:
        if not self._ready:
            await self._db.run_sync(lambda conn: _metadata.create_all(conn, checkfirst=True))
            self._ready = True
        return await self._db.run_sync(work)

    async def active(self, tenant_id: UUID, subject_id: UUID) -> SubjectKeyRecord | None:
        query = (
            subject_keys.select()
            .where(
                subject_keys.c.tenant_id == tenant_id,
                subject_keys.c.subject_id == subject_id,
                subject_keys.c.retired.is_(False),
            )
            .order_by(subject_keys.c.generation.desc())
            .limit(1)
        )
        row = await self._run(lambda conn: conn.execute(query).mappings().first())
        return _record(row) if row is not None else None

    async def get(self, tenant_id: UUID, key_id: UUID) -> SubjectKeyRecord | None:
        query = subject_keys.select().where(
            subject_keys.c.tenant_id == tenant_id, subject_keys.c.id == key_id
        )
        row = await self._run(lambda conn: conn.execute(query).mappings().first())
        return _record(row) if row is not None else None

    async def add(self, record: SubjectKeyRecord) -> SubjectKeyRecord:
        values = {
            "id": record.id,
            "tenant_id": record.tenant_id,
            "subject_id": record.subject_id,
            "generation": record.generation,
            "wrapped_key": record.wrapped_key,
            "tenant_key_id": record.tenant_key_id,
            "created_at": record.created_at,
            "retired": record.retired,
        }
        same = subject_keys.select().where(
            subject_keys.c.tenant_id == record.tenant_id,
            subject_keys.c.subject_id == record.subject_id,
            subject_keys.c.generation == record.generation,
        )

        def work(conn: sa.Connection) -> sa.RowMapping:
            # Insert-if-absent: the unique generation decides which of two concurrent first
            # keys wins, and both callers read the winner back.
            insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
            conn.execute(insert(subject_keys).values(values).on_conflict_do_nothing())
            return conn.execute(same).mappings().one()

        return _record(await self._run(work))

    async def retire(self, tenant_id: UUID, key_ids: Sequence[UUID]) -> None:
        statement = (
            subject_keys.update()
            .where(subject_keys.c.tenant_id == tenant_id, subject_keys.c.id.in_(list(key_ids)))
            .values(retired=True)
        )
        await self._run(lambda conn: conn.execute(statement))

    async def destroy(self, tenant_id: UUID, key_ids: Sequence[UUID]) -> int:
        statement = subject_keys.delete().where(
            subject_keys.c.tenant_id == tenant_id, subject_keys.c.id.in_(list(key_ids))
        )
        count: int = await self._run(lambda conn: conn.execute(statement).rowcount)
        if isinstance(self._db, ThreadedDatabase):
            # Out of the WAL too, not only out of the database file (outside a transaction,
            # which a checkpoint cannot run in).
            await asyncio.to_thread(_checkpoint, self._db.engine)
        return count

    async def of_subject(self, tenant_id: UUID, subject_id: UUID) -> list[SubjectKeyRecord]:
        query = (
            subject_keys.select()
            .where(subject_keys.c.tenant_id == tenant_id, subject_keys.c.subject_id == subject_id)
            .order_by(subject_keys.c.generation)
        )
        rows = await self._run(lambda conn: conn.execute(query).mappings().all())
        return [_record(row) for row in rows]

    async def under_tenant_key(self, tenant_key_id: UUID, limit: int) -> list[SubjectKeyRecord]:
        query = (
            subject_keys.select()
            .where(subject_keys.c.tenant_key_id == tenant_key_id)
            .order_by(subject_keys.c.id)
            .limit(limit)
        )
        rows = await self._run(lambda conn: conn.execute(query).mappings().all())
        return [_record(row) for row in rows]

    async def replace_wrap(self, key_id: UUID, wrapped_key: bytes, tenant_key_id: UUID) -> None:
        statement = (
            subject_keys.update()
            .where(subject_keys.c.id == key_id)
            .values(wrapped_key=wrapped_key, tenant_key_id=tenant_key_id)
        )
        await self._run(lambda conn: conn.execute(statement))

    async def page(self, after: UUID | None, limit: int) -> list[SubjectKeyRecord]:
        query = subject_keys.select().order_by(subject_keys.c.id).limit(limit)
        if after is not None:
            query = query.where(subject_keys.c.id > after)
        rows = await self._run(lambda conn: conn.execute(query).mappings().all())
        return [_record(row) for row in rows]

    async def close(self) -> None:
        await self._db.dispose()
