"""Legal holds on subjects and documents; a lifted hold keeps its row."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import RowMapping

from kycvault.adapters.db.hold_tables import legal_holds
from kycvault.adapters.db.repositories._base import Repo, seek_rows
from kycvault.adapters.db.tables import documents
from kycvault.ports.persistence.holds import LegalHold
from kycvault.ports.persistence.records import Seek

H = legal_holds.c


def _hold(row: RowMapping) -> LegalHold:
    return LegalHold(
        id=row["id"],
        tenant_id=row["tenant_id"],
        subject_id=row["subject_id"],
        document_id=row["document_id"],
        reason=row["reason"],
        placed_at=row["placed_at"],
        placed_by=row["placed_by"],
        lifted_at=row["lifted_at"],
        lifted_by=row["lifted_by"],
    )


class SqlLegalHolds(Repo):
    def add(self, hold: LegalHold) -> None:
        self._conn.execute(
            legal_holds.insert().values(
                id=hold.id,
                tenant_id=hold.tenant_id,
                subject_id=hold.subject_id,
                document_id=hold.document_id,
                reason=hold.reason,
                placed_at=hold.placed_at,
                placed_by=hold.placed_by,
                lifted_at=hold.lifted_at,
                lifted_by=hold.lifted_by,
            )
        )

    def get(self, tenant_id: UUID, hold_id: UUID) -> LegalHold | None:
        row = self._one(legal_holds.select().where(H.tenant_id == tenant_id, H.id == hold_id))
        return _hold(row) if row is not None else None

    def lift(self, tenant_id: UUID, hold_id: UUID, at: datetime, by: str | None) -> bool:
        # RETURNING, not rowcount: the async PostgreSQL driver reports -1.
        result = self._conn.execute(
            legal_holds.update()
            .where(H.tenant_id == tenant_id, H.id == hold_id, H.lifted_at.is_(None))
            .values(lifted_at=at, lifted_by=by)
            .returning(H.id)
        )
        return result.first() is not None

    def page(self, tenant_id: UUID, include_lifted: bool, seek: Seek) -> list[LegalHold]:
        stmt: sa.Select[Any] = legal_holds.select().where(H.tenant_id == tenant_id)
        if not include_lifted:
            stmt = stmt.where(H.lifted_at.is_(None))
        return [_hold(row) for row in self._all(seek_rows(stmt, legal_holds, seek))]

    def active(
        self,
        tenant_id: UUID,
        *,
        subject_ids: Sequence[UUID],
        document_ids: Sequence[UUID],
        documents_of: Sequence[UUID] = (),
    ) -> list[LegalHold]:
        targets = [
            *([H.subject_id.in_(list(subject_ids))] if subject_ids else []),
            *([H.document_id.in_(list(document_ids))] if document_ids else []),
        ]
        if documents_of:
            D = documents.c
            of_subjects = sa.select(D.id).where(
                D.tenant_id == tenant_id, D.subject_id.in_(list(documents_of))
            )
            targets.append(H.document_id.in_(of_subjects))
        if not targets:
            return []
        stmt = legal_holds.select().where(
            H.tenant_id == tenant_id, H.lifted_at.is_(None), sa.or_(*targets)
        )
        return [_hold(row) for row in self._all(stmt.order_by(H.placed_at, H.id))]
