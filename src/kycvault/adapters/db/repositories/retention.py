"""Retention rules, subjects' relationship ends, the purge's candidates, deletion receipts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import RowMapping

from kycvault.adapters.db.repositories._base import Repo, seek_rows
from kycvault.adapters.db.retention_tables import blob_removals, deletion_receipts, retention_rules
from kycvault.adapters.db.tables import documents, subjects
from kycvault.ports.persistence.records import Seek
from kycvault.ports.persistence.retention import (
    Candidate,
    DeletionReceipt,
    ReceiptFile,
    RetentionRule,
)

R = retention_rules.c
DR = deletion_receipts.c
BR = blob_removals.c
D = documents.c
S = subjects.c


def _rule(row: RowMapping) -> RetentionRule:
    return RetentionRule(
        tenant_id=row["tenant_id"],
        document_type=row["document_type"],
        basis=row["basis"],
        period=row["period"],
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
    )


def _receipt(row: RowMapping) -> DeletionReceipt:
    return DeletionReceipt(
        id=row["id"],
        tenant_id=row["tenant_id"],
        document_id=row["document_id"],
        subject_id=row["subject_id"],
        document_type=row["document_type"],
        basis=row["basis"],
        period=row["period"],
        retain_until=row["retain_until"],
        purged_at=row["purged_at"],
        files=[ReceiptFile(UUID(f["file_id"]), f["sha256"]) for f in row["files"]],
    )


class SqlRetention(Repo):
    def set_rule(self, rule: RetentionRule) -> None:
        where = (R.tenant_id == rule.tenant_id, R.document_type == rule.document_type)
        self._conn.execute(retention_rules.delete().where(*where))
        self._conn.execute(
            retention_rules.insert().values(
                tenant_id=rule.tenant_id,
                document_type=rule.document_type,
                basis=rule.basis,
                period=rule.period,
                updated_at=rule.updated_at,
                updated_by=rule.updated_by,
            )
        )

    def remove_rule(self, tenant_id: UUID, document_type: str) -> bool:
        result = self._conn.execute(
            retention_rules.delete()
            .where(R.tenant_id == tenant_id, R.document_type == document_type)
            .returning(R.document_type)
        )
        return result.first() is not None

    def rules(self, tenant_id: UUID) -> list[RetentionRule]:
        stmt = retention_rules.select().where(R.tenant_id == tenant_id)
        return [_rule(row) for row in self._all(stmt.order_by(R.document_type))]

    def rule(self, tenant_id: UUID, document_type: str) -> RetentionRule | None:
        row = self._one(
            retention_rules.select().where(
                R.tenant_id == tenant_id, R.document_type == document_type
            )
        )
        return _rule(row) if row is not None else None

    def tenants_with_rules(self) -> list[UUID]:
        stmt = sa.select(R.tenant_id).distinct().order_by(R.tenant_id)
        return [row["tenant_id"] for row in self._all(stmt)]

    def set_relationship_end(
        self, tenant_id: UUID, subject_id: UUID, ended_on: date | None
    ) -> None:
        self._conn.execute(
            subjects.update()
            .where(S.tenant_id == tenant_id, S.id == subject_id)
            .values(relationship_ended_on=ended_on)
        )

    def relationship_end(self, tenant_id: UUID, subject_id: UUID) -> date | None:
        row = self._one(
            sa.select(S.relationship_ended_on).where(S.tenant_id == tenant_id, S.id == subject_id)
        )
        return row["relationship_ended_on"] if row is not None else None

    def candidates(
        self,
        tenant_id: UUID,
        document_type: str,
        basis: str,
        latest: date,
        after: UUID | None,
        limit: int,
    ) -> list[Candidate]:
        stmt: Any
        if basis == "relationship_end":
            stmt = (
                sa.select(D.id, S.relationship_ended_on.label("basis_date"))
                .select_from(documents.join(subjects, S.id == D.subject_id))
                .where(S.relationship_ended_on <= latest)
            )
        elif basis == "expiry":
            stmt = sa.select(D.id, D.expiry_date.label("basis_date")).where(D.expiry_date <= latest)
        else:
            before = datetime.combine(latest + timedelta(days=1), time(), UTC)
            stmt = sa.select(D.id, D.created_at.label("basis_date")).where(D.created_at < before)
        stmt = stmt.where(D.tenant_id == tenant_id, D.type == document_type)
        if after is not None:
            stmt = stmt.where(D.id > after)
        rows = self._all(stmt.order_by(D.id).limit(limit))
        return [Candidate(row["id"], _day(row["basis_date"])) for row in rows]

    def now(self) -> datetime:
        if self.dialect == "sqlite":
            # SQLite's clock is the host's (it runs in this process), read as the engine sees it.
            row = self._conn.execute(sa.text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')"))
            return datetime.fromisoformat(row.scalar_one()).replace(tzinfo=UTC)
        # The transaction's start on the server: one time for everything the transaction does.
        value = self._conn.execute(sa.select(sa.func.now())).scalar_one()
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)

    def documents_of(self, tenant_id: UUID, subject_id: UUID, limit: int) -> list[UUID]:
        stmt = sa.select(D.id).where(D.tenant_id == tenant_id, D.subject_id == subject_id)
        return [row["id"] for row in self._all(stmt.order_by(D.id).limit(limit))]

    def add_receipt(self, receipt: DeletionReceipt) -> None:
        self._conn.execute(
            deletion_receipts.insert().values(
                id=receipt.id,
                tenant_id=receipt.tenant_id,
                document_id=receipt.document_id,
                subject_id=receipt.subject_id,
                document_type=receipt.document_type,
                basis=receipt.basis,
                period=receipt.period,
                retain_until=receipt.retain_until,
                purged_at=receipt.purged_at,
                files=[{"file_id": str(f.file_id), "sha256": f.sha256} for f in receipt.files],
            )
        )

    def queue_removals(self, tenant_id: UUID, keys: Sequence[str], at: datetime) -> None:
        if keys:
            rows = [{"blob_key": k, "tenant_id": tenant_id, "queued_at": at} for k in keys]
            self._conn.execute(blob_removals.insert(), rows)

    def pending_removals(self, limit: int) -> list[str]:
        stmt = sa.select(BR.blob_key).order_by(BR.queued_at, BR.blob_key).limit(limit)
        return [row["blob_key"] for row in self._all(stmt)]

    def removed(self, keys: Sequence[str]) -> None:
        if keys:
            self._conn.execute(blob_removals.delete().where(BR.blob_key.in_(list(keys))))

    def receipts(self, tenant_id: UUID, seek: Seek) -> list[DeletionReceipt]:
        stmt = deletion_receipts.select().where(DR.tenant_id == tenant_id)
        return [_receipt(row) for row in self._all(seek_rows(stmt, deletion_receipts, seek))]


def _day(value: date | datetime | None) -> date | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).date()
    return value
