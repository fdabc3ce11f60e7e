"""Queries of the store's own consistency, across tenants: what ``fsck``, the sweep and the
scrub ask of the database. Administrative by nature (no tenant filter); no API route reaches
them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa

from kycvault.adapters.db.repositories._base import Repo, deferrable
from kycvault.adapters.db.repositories.document_rows import stored_file
from kycvault.adapters.db.tables import documents, files, tenants
from kycvault.domain.models import StoredFile
from kycvault.ports.persistence.records import CountMismatch


class SqlIntegrity(Repo):
    def tenant_ids(self) -> set[UUID]:
        return set(self._conn.execute(sa.select(tenants.c.id)).scalars())

    def referenced(self, keys: Sequence[str]) -> set[str]:
        if not keys:
            return set()
        stmt = sa.select(files.c.blob_key).where(files.c.blob_key.in_(list(keys)))
        return set(self._conn.execute(stmt).scalars())

    def files_after(self, after: UUID | None, limit: int) -> list[StoredFile]:
        stmt = sa.select(files).order_by(files.c.id).limit(limit)
        if after is not None:
            stmt = stmt.where(files.c.id > after)
        return [stored_file(row, row["tenant_id"], self._sealed) for row in self._all(stmt)]

    def file_count_mismatches(self, limit: int) -> list[CountMismatch]:
        actual = (
            sa.select(sa.func.count())
            .where(files.c.document_id == documents.c.id)
            .scalar_subquery()
        )
        stmt = (
            sa.select(documents.c.tenant_id, documents.c.id, documents.c.file_count, actual)
            .where(documents.c.file_count != actual)
            .limit(limit)
        )
        return [CountMismatch(r[0], r[1], int(r[2]), int(r[3])) for r in self._conn.execute(stmt)]

    def document_count_mismatches(self) -> list[CountMismatch]:
        actual = (
            sa.select(sa.func.count())
            .where(documents.c.tenant_id == tenants.c.id)
            .scalar_subquery()
        )
        stmt = sa.select(tenants.c.id, tenants.c.document_count, actual).where(
            tenants.c.document_count != actual
        )
        return [CountMismatch(r[0], None, int(r[1]), int(r[2])) for r in self._conn.execute(stmt)]

    def due_for_scrub(self, before: datetime, limit: int) -> list[StoredFile]:
        """Up to ``limit`` files last verified before ``before``, never-verified ones first."""
        due: list[StoredFile] = []
        for condition, order in (
            (files.c.verified_at.is_(None), files.c.id),
            (files.c.verified_at < before, files.c.verified_at),
        ):
            if len(due) >= limit:
                break
            stmt = sa.select(files).where(condition).order_by(order).limit(limit - len(due))
            due += [stored_file(row, row["tenant_id"], self._sealed) for row in self._all(stmt)]
        return due

    def claim_for_scrub(self, file_id: UUID, before: datetime, now: datetime) -> bool:
        """Mark a due file verified at ``now``, unless another worker did first."""
        updated = self._conn.execute(
            files.update()
            .where(
                files.c.id == file_id,
                sa.or_(files.c.verified_at.is_(None), files.c.verified_at < before),
            )
            .values(verified_at=now)
            .returning(files.c.id)
        )
        return updated.first() is not None

    @deferrable
    def mark_verified(self, tenant_id: UUID, file_id: UUID, at: datetime | None) -> None:
        self._conn.execute(
            files.update()
            .where(files.c.tenant_id == tenant_id, files.c.id == file_id)
            .values(verified_at=at)
        )
