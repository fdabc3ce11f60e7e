"""What processing records on a document (its state, extracted number and searchable text,
its sealed text record), and the lookups its checks make (other holders of a number or of
a file)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa

from kycvault.adapters.db.repositories._base import deferrable
from kycvault.adapters.db.repositories.document_rows import DocumentRows
from kycvault.adapters.db.tables import document_texts, documents, files
from kycvault.domain import listing
from kycvault.domain.processing import Processing


class DocumentProcessing(DocumentRows):
    """Processing state, text records and holder lookups of documents."""

    @deferrable
    def set_processing(
        self,
        tenant_id: UUID,
        document_id: UUID,
        processing: Processing,
        *,
        extracted_number: str | None = None,
        content: str | None = None,
    ) -> None:
        sealed = self._sealed
        values = sealed.processing_values(tenant_id, document_id, processing.as_dict())
        if content is not None:
            values["extracted_number_index"] = sealed.number_index(tenant_id, extracted_number)
            values["content_search"] = listing.content_search(content)
        self._conn.execute(
            documents.update()
            .where(documents.c.tenant_id == tenant_id, documents.c.id == document_id)
            .values(**values)
        )
        if content is not None:
            self.sync_files(tenant_id, document_id)  # search_text takes the new content

    def holders_of_number(
        self, tenant_id: UUID, numbers: Sequence[str], other_than: UUID | None
    ) -> int:
        """How many subjects other than ``other_than`` hold a document declared or read
        with one of ``numbers``."""
        # Compared by blind index: numbers are normalised, then keyed (sealed_fields.py).
        indexes = (self._sealed.number_index(tenant_id, n) for n in numbers)
        wanted = [i for i in dict.fromkeys(indexes) if i]
        if not wanted:
            return 0
        holders = sa.select(sa.func.count(sa.distinct(documents.c.subject_id))).where(
            documents.c.tenant_id == tenant_id,
            sa.or_(
                documents.c.id_number_index.in_(wanted),
                documents.c.extracted_number_index.in_(wanted),
            ),
            documents.c.subject_id.is_not(None),
        )
        if other_than is not None:
            holders = holders.where(documents.c.subject_id != other_than)
        return int(self._conn.execute(holders).scalar() or 0)

    def holders_of_file(
        self, tenant_id: UUID, digests: Sequence[str], other_than: UUID | None
    ) -> int:
        """How many subjects other than ``other_than`` have a file with one of ``digests``."""
        if not digests:
            return 0
        indexes = list(dict.fromkeys(self._sealed.content_index(tenant_id, d) for d in digests))
        holders = (
            sa.select(sa.func.count(sa.distinct(documents.c.subject_id)))
            .select_from(files.join(documents, files.c.document_id == documents.c.id))
            .where(
                files.c.tenant_id == tenant_id,
                files.c.content_index.in_(indexes),
                documents.c.subject_id.is_not(None),
            )
        )
        if other_than is not None:
            holders = holders.where(documents.c.subject_id != other_than)
        return int(self._conn.execute(holders).scalar() or 0)

    @deferrable
    def put_text(
        self,
        tenant_id: UUID,
        document_id: UUID,
        sealed: bytes | None,
        characters: int,
        at: datetime,
    ) -> None:
        self._conn.execute(
            document_texts.delete().where(
                document_texts.c.tenant_id == tenant_id,
                document_texts.c.document_id == document_id,
            )
        )
        if sealed is None:
            return
        self._conn.execute(
            document_texts.insert(),
            {
                "document_id": document_id,
                "tenant_id": tenant_id,
                "sealed": sealed,
                "characters": characters,
                "updated_at": at,
            },
        )

    def get_text(self, tenant_id: UUID, document_id: UUID) -> bytes | None:
        row = self._one(
            sa.select(document_texts.c.sealed).where(
                document_texts.c.tenant_id == tenant_id,
                document_texts.c.document_id == document_id,
            )
        )
        return bytes(row["sealed"]) if row is not None else None
