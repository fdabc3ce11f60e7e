"""Legal holds: the record and its repository (``services/legal_holds.py`` has the rules)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from kycvault.ports.persistence.records import Seek


@dataclass(frozen=True, slots=True)
class LegalHold:
    """A hold on one subject or one document (exactly one of the two ids is set). A lifted
    hold keeps its row: ``lifted_at`` and ``lifted_by`` say when and by whom."""

    id: UUID
    tenant_id: UUID
    subject_id: UUID | None
    document_id: UUID | None
    reason: str
    placed_at: datetime
    placed_by: str | None
    lifted_at: datetime | None = None
    lifted_by: str | None = None


class LegalHoldRepository(Protocol):
    async def add(self, hold: LegalHold) -> None: ...
    async def get(self, tenant_id: UUID, hold_id: UUID) -> LegalHold | None: ...
    async def lift(self, tenant_id: UUID, hold_id: UUID, at: datetime, by: str | None) -> bool:
        """Mark an active hold lifted; False if it is not active (lifted already, or none)."""
        ...

    async def page(self, tenant_id: UUID, include_lifted: bool, seek: Seek) -> list[LegalHold]: ...
    async def active(
        self,
        tenant_id: UUID,
        *,
        subject_ids: Sequence[UUID],
        document_ids: Sequence[UUID],
        documents_of: Sequence[UUID] = (),
    ) -> list[LegalHold]:
        """The active holds on any of these subjects or documents, or on any document of
        the subjects ``documents_of``."""
        ...
