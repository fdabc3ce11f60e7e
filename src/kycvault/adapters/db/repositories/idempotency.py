"""Idempotency records, unique per (tenant, key) by the primary key."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import RowMapping
from sqlalchemy.dialects import postgresql, sqlite

from kycvault.adapters.db.repositories._base import Repo, deferrable
from kycvault.adapters.db.tables import idempotency_records
from kycvault.ports.persistence.records import IdempotencyRecord

_COLUMNS = (
    "tenant_id", "key", "fingerprint", "state", "created_at", "expires_at", "lease_until",
    "status_code", "content_type", "location", "body", "target_id", "scopes",
)  # fmt: skip
_IN_PROGRESS = "in_progress"


def _record(row: RowMapping) -> IdempotencyRecord:
    values = {name: row[name] for name in _COLUMNS}
    if values["body"] is not None:
        values["body"] = bytes(values["body"])
    if values["scopes"] is not None:
        values["scopes"] = tuple(values["scopes"])
    return IdempotencyRecord(**values)


def _values(record: IdempotencyRecord) -> dict[str, Any]:
    values = {name: getattr(record, name) for name in _COLUMNS}
    if record.scopes is not None:
        values["scopes"] = list(record.scopes)
    return values


class SqlIdempotency(Repo):
    def _where(self, tenant_id: UUID, key: str) -> Any:
        c = idempotency_records.c
        return (c.tenant_id == tenant_id) & (c.key == key)

    def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        # RETURNING, not rowcount: the async PostgreSQL driver reports -1 for this INSERT.
        inserted = self._conn.execute(
            dialect_insert(idempotency_records)
            .values(**_values(record))
            .on_conflict_do_nothing(index_elements=["tenant_id", "key"])
            .returning(idempotency_records.c.key)
        )
        if inserted.first() is not None:
            return None
        row = self._one(
            idempotency_records.select().where(self._where(record.tenant_id, record.key))
        )
        return _record(row) if row else None

    def take_over(self, stale: IdempotencyRecord, record: IdempotencyRecord) -> bool:
        result = self._conn.execute(
            idempotency_records.update()
            .where(
                self._where(stale.tenant_id, stale.key),
                idempotency_records.c.created_at == stale.created_at,
                idempotency_records.c.state == stale.state,
            )
            .values(**_values(record))
            .returning(idempotency_records.c.key)
        )
        return result.first() is not None

    def _held(self, tenant_id: UUID, key: str, claimed_at: datetime) -> Any:
        c = idempotency_records.c
        held = (c.state == _IN_PROGRESS) & (c.created_at == claimed_at)
        return self._where(tenant_id, key) & held

    def renew(self, tenant_id: UUID, key: str, claimed_at: datetime, lease_until: datetime) -> bool:
        result = self._conn.execute(
            idempotency_records.update()
            .where(self._held(tenant_id, key, claimed_at))
            .values(lease_until=lease_until)
            .returning(idempotency_records.c.key)
        )
        return result.first() is not None

    def complete(self, record: IdempotencyRecord, claimed_at: datetime) -> bool:
        result = self._conn.execute(
            idempotency_records.update()
            .where(self._held(record.tenant_id, record.key, claimed_at))
            .values(**_values(record))
            .returning(idempotency_records.c.key)
        )
        return result.first() is not None

    @deferrable
    def release(self, tenant_id: UUID, key: str, claimed_at: datetime) -> None:
        self._conn.execute(
            idempotency_records.delete().where(self._held(tenant_id, key, claimed_at))
        )

    @deferrable
    def purge_target(self, tenant_id: UUID, target_id: UUID) -> None:
        c = idempotency_records.c
        self._conn.execute(
            idempotency_records.delete().where(c.tenant_id == tenant_id, c.target_id == target_id)
        )

    def purge_expired(self, before: datetime) -> int:
        result = self._conn.execute(
            idempotency_records.delete()
            .where(idempotency_records.c.expires_at < before)
            .returning(idempotency_records.c.key)
        )
        return len(result.all())
