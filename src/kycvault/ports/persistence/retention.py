"""Retention: rules, the relationship end of a subject, the purge's candidates and deletion
receipts (``services/retention.py`` and ``services/retention_purge.py`` have the rules)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol
from uuid import UUID

from kycvault.ports.persistence.records import Seek


@dataclass(frozen=True, slots=True)
class RetentionRule:
    """How long documents of one type are kept: ``period`` (ISO 8601) after ``basis``."""

    tenant_id: UUID
    document_type: str
    basis: str
    period: str
    updated_at: datetime
    updated_by: str | None


@dataclass(frozen=True, slots=True)
class ReceiptFile:
    file_id: UUID
    sha256: str


@dataclass(frozen=True, slots=True)
class DeletionReceipt:
    """What a retention purge deleted, under which rule, and the SHA-256 of each file."""

    id: UUID
    tenant_id: UUID
    document_id: UUID
    subject_id: UUID | None
    document_type: str
    basis: str
    period: str
    retain_until: date
    purged_at: datetime
    files: list[ReceiptFile] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A document of a rule's type and its basis date (None: unknown, so not due)."""

    document_id: UUID
    basis_date: date | None


class RetentionRepository(Protocol):
    async def set_rule(self, rule: RetentionRule) -> None: ...
    async def remove_rule(self, tenant_id: UUID, document_type: str) -> bool: ...
    async def rules(self, tenant_id: UUID) -> list[RetentionRule]: ...
    async def rule(self, tenant_id: UUID, document_type: str) -> RetentionRule | None: ...
    async def tenants_with_rules(self) -> list[UUID]: ...
    async def set_relationship_end(
        self, tenant_id: UUID, subject_id: UUID, ended_on: date | None
    ) -> None: ...
    async def relationship_end(self, tenant_id: UUID, subject_id: UUID) -> date | None: ...
    async def candidates(
        self,
        tenant_id: UUID,
        document_type: str,
        basis: str,
        latest: date,
        after: UUID | None,
        limit: int,
    ) -> list[Candidate]:
        """Documents of the type whose basis date is known and on or before ``latest``, in
        id order after ``after``."""
        ...

    async def now(self) -> datetime:
        """The database's clock (UTC): the one clock every process's retention decisions use,
        whatever the host clocks say (on PostgreSQL, the transaction's start)."""
        ...

    async def documents_of(self, tenant_id: UUID, subject_id: UUID, limit: int) -> list[UUID]:
        """Up to ``limit`` ids of the subject's documents."""
        ...

    async def add_receipt(self, receipt: DeletionReceipt) -> None: ...
    async def receipts(self, tenant_id: UUID, seek: Seek) -> list[DeletionReceipt]: ...
    async def queue_removals(self, tenant_id: UUID, keys: Sequence[str], at: datetime) -> None:
        """Blobs to remove once this transaction (which deletes their rows) has committed."""
        ...

    async def pending_removals(self, limit: int) -> list[str]:
        """Queued blob keys not yet removed, oldest first."""
        ...

    async def removed(self, keys: Sequence[str]) -> None: ...
