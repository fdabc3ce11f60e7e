"""Documents: the repository that ``DocumentRepository`` names, assembled from its parts.
Here the rows themselves (add, get, update, delete); the listing and its search planner in
``document_listing.py``; what processing records and looks up in ``document_processing.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from kycvault.adapters.db.prepared import Prepared
from kycvault.adapters.db.repositories._base import deferrable
from kycvault.adapters.db.repositories.document_listing import DocumentListing
from kycvault.adapters.db.repositories.document_processing import DocumentProcessing
from kycvault.adapters.db.repositories.document_rows import (
    DOCUMENT_COLUMNS,
    derived,
    document_entity,
    with_content,
)
from kycvault.adapters.db.sealed_fields import RowFields
from kycvault.adapters.db.tables import document_texts, documents, download_links, files, tenants
from kycvault.domain.models import Document
from kycvault.domain.review import Review

_GET_DOCUMENT = sa.select(*DOCUMENT_COLUMNS).where(
    documents.c.tenant_id == sa.bindparam("tenant_id"),
    documents.c.id == sa.bindparam("document_id"),
)
_GET_DOCUMENT_LOCKED = _GET_DOCUMENT.with_for_update()


def _document_values(doc: Document, sealed: RowFields) -> dict[str, Any]:
    return {
        "subject_id": doc.subject_id,
        "type": doc.type,
        "name": doc.name,
        **sealed.id_number_values(doc.tenant_id, doc.id, doc.id_number),
        "issuing_country": doc.issuing_country,
        "issue_date": doc.issue_date,
        "expiry_date": doc.expiry_date,
        "authenticity": doc.authenticity.value if doc.authenticity else None,
        "notify_before_expiry": doc.notify_before_expiry,
        **sealed.metadata_values(doc.tenant_id, doc.id, doc.metadata),
        "updated_at": doc.updated_at,
        "updated_by": doc.updated_by,
        **derived(doc.name, doc.expiry_date, [f.filename for f in doc.files]),
    }


# The tenant's document counter moves with every document added or deleted (prepared.py).
_COUNT = Prepared(
    tenants.update()
    .where(tenants.c.id == sa.bindparam("tenant_id", type_=sa.Uuid()))
    .values(document_count=tenants.c.document_count + sa.bindparam("delta", type_=sa.Integer()))
)


class SqlDocuments(DocumentListing, DocumentProcessing):
    @deferrable
    def add(self, document: Document) -> None:
        sealed = self._sealed
        self._conn.execute(
            documents.insert(),
            {
                "id": document.id,
                "tenant_id": document.tenant_id,
                "number": document.number,
                "created_at": document.created_at,
                "created_by": document.created_by,
                **sealed.processing_values(
                    document.tenant_id, document.id, document.processing.as_dict()
                ),
                **_document_values(document, sealed),
            },
        )
        self._count(document.tenant_id, +1)

    def get(
        self, tenant_id: UUID, document_id: UUID, *, for_update: bool = False
    ) -> Document | None:
        params = {"tenant_id": tenant_id, "document_id": document_id}
        row = self._one(_GET_DOCUMENT_LOCKED if for_update else _GET_DOCUMENT, params)
        if row is None:
            return None
        attached = self._files_of([document_id], tenant_id)
        return document_entity(row, tenant_id, attached.get(document_id, []), self._sealed)

    def get_by_number(self, tenant_id: UUID, number: int) -> Document | None:
        document_id = self._conn.execute(
            sa.select(documents.c.id).where(
                documents.c.tenant_id == tenant_id, documents.c.number == number
            )
        ).scalar()
        return self.get(tenant_id, document_id) if document_id is not None else None

    def get_many(self, tenant_id: UUID, document_ids: Sequence[UUID]) -> list[Document]:
        if not document_ids:
            return []
        rows = self._all(
            sa.select(*DOCUMENT_COLUMNS).where(
                documents.c.tenant_id == tenant_id, documents.c.id.in_(list(document_ids))
            )
        )
        return self._attach(tenant_id, rows)

    @deferrable
    def update(self, document: Document) -> None:
        values = _document_values(document, self._sealed)
        values["search_text"] = with_content(values["search_text"])
        self._conn.execute(
            documents.update()
            .where(documents.c.tenant_id == document.tenant_id, documents.c.id == document.id)
            .values(**values)
        )

    @deferrable
    def set_review(self, tenant_id: UUID, document_id: UUID, review: Review) -> None:
        """Only the review's columns: an edit of the document read before the review was
        decided does not write back the review it read (``update`` leaves them alone)."""
        self._conn.execute(
            documents.update()
            .where(documents.c.tenant_id == tenant_id, documents.c.id == document_id)
            .values(
                review_status=review.status.value,
                review_reason_code=review.reason_code.value if review.reason_code else None,
                **self._sealed.review_reason_values(tenant_id, document_id, review.reason),
                reviewed_by=review.by,
                reviewed_at=review.at,
            )
        )

    @deferrable
    def delete(self, tenant_id: UUID, document_id: UUID) -> None:
        self._conn.execute(
            files.delete().where(files.c.tenant_id == tenant_id, files.c.document_id == document_id)
        )
        self._conn.execute(
            document_texts.delete().where(
                document_texts.c.tenant_id == tenant_id,
                document_texts.c.document_id == document_id,
            )
        )
        # Its download links go too: a token would find nothing, but need not outlive it.
        self._conn.execute(
            download_links.delete().where(
                download_links.c.tenant_id == tenant_id,
                download_links.c.document_id == document_id,
            )
        )
        result = self._conn.execute(
            documents.delete()
            .where(documents.c.tenant_id == tenant_id, documents.c.id == document_id)
            .returning(documents.c.id)
        )
        if result.first() is not None:
            self._count(tenant_id, -1)

    def _count(self, tenant_id: UUID, delta: int) -> None:
        _COUNT.many(self._conn, [{"tenant_id": tenant_id, "delta": delta}])
