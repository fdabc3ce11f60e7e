"""Signed requests already accepted, unique per (tenant, digest) by the primary key."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy.dialects import postgresql, sqlite

from kycvault.adapters.db.repositories._base import Repo
from kycvault.adapters.db.tables import signature_uses


class SqlSignatureUses(Repo):
    def add(self, tenant_id: UUID, digest: bytes, expires_at: datetime) -> bool:
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        # ON CONFLICT DO NOTHING, not a caught IntegrityError: on PostgreSQL a clash aborts
        # the whole transaction, and a concurrent insert of the same key waits for the other
        # transaction's outcome (recorded if it rolls back, refused if it commits). RETURNING,
        # not rowcount: the async PostgreSQL driver reports -1 for this INSERT.
        inserted = self._conn.execute(
            dialect_insert(signature_uses)
            .values(tenant_id=tenant_id, digest=digest, expires_at=expires_at)
            .on_conflict_do_nothing(index_elements=["tenant_id", "digest"])
            .returning(signature_uses.c.digest)
        )
        return inserted.first() is not None

    def used(self, tenant_id: UUID, digest: bytes) -> bool:
        c = signature_uses.c
        return self._exists(signature_uses, c.tenant_id == tenant_id, c.digest == digest)

    def purge_expired(self, before: datetime) -> int:
        result = self._conn.execute(
            signature_uses.delete()
            .where(signature_uses.c.expires_at < before)
            .returning(signature_uses.c.digest)
        )
        return len(result.all())
