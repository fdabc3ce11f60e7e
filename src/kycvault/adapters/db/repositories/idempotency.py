"""Idempotency records, unique per (tenant, key) by the primary key."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import RowMapping
from sqlalchemy.dialects import postgresql, sqlite

from kycvault.adapters.db.prepared import Prepared
from kycvault.adapters.db.repositories._base import Repo, deferrable
from kycvault.adapters.db.tables import idempotency_records
from kycvault.ports.persistence.records import IdempotencyRecord

_COLUMNS = (
    "tenant_id", "key", "fingerprint", "state", "created_at", "expires_at", "lease_until",
    "status_code", "content_type", "location", "body", "target_id", "scopes",
)  # fmt: skip
_IN_PROGRESS = "in_progress"
C = idempotency_records.c


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


def _claim_statement(dialect_insert: Any) -> sa.ClauseElement:
    # RETURNING, not rowcount: the async PostgreSQL driver reports -1 for this INSERT.
    statement: sa.ClauseElement = (
        dialect_insert(idempotency_records)
        .on_conflict_do_nothing(index_elements=["tenant_id", "key"])
        .returning(idempotency_records.c.key)
    )
    return statement


# Every request with an Idempotency-Key claims it (a row of every column: the insert's binds
# are the columns'), then completes it in the change's transaction: both on the driver's
# cursor (prepared.py), built once.
_CLAIM = {
    "postgresql": Prepared(_claim_statement(postgresql.insert)),
    "sqlite": Prepared(_claim_statement(sqlite.insert)),
}
_COMPLETE = Prepared(
    idempotency_records.update()
    .where(
        C.tenant_id == sa.bindparam("held_tenant", type_=C.tenant_id.type),
        C.key == sa.bindparam("held_key", type_=C.key.type),
        C.state == _IN_PROGRESS,
        C.created_at == sa.bindparam("held_since", type_=C.created_at.type),
    )
    .values({name: sa.bindparam(f"new_{name}", type_=C[name].type) for name in _COLUMNS})
    .returning(C.key)
)


class SqlIdempotency(Repo):
    def _where(self, tenant_id: UUID, key: str) -> Any:
        c = idempotency_records.c
        return (c.tenant_id == tenant_id) & (c.key == key)

    def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        try:
            _CLAIM[self.dialect].one(self._conn, _values(record))
            return None
        except sa.exc.NoResultFound:
            pass  # the key is held already: the conflict inserted nothing
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
        values = {f"new_{name}": value for name, value in _values(record).items()}
        held = {"held_tenant": record.tenant_id, "held_key": record.key, "held_since": claimed_at}
        try:
            _COMPLETE.one(self._conn, {**values, **held})
        except sa.exc.NoResultFound:
            return False  # no longer held by this claim
        return True

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
