"""Rows of documents and their files as domain entities, and what a document row derives
from its name and files (the listing keys, the searchable text, the file count). Shared by
the documents repository's parts (``documents.py``, ``document_listing.py``,
``document_processing.py``) and the integrity queries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import RowMapping

from kycvault.adapters.db.repositories._base import Repo, deferrable
from kycvault.adapters.db.sealed_fields import RowFields
from kycvault.adapters.db.tables import documents, files
from kycvault.domain import listing
from kycvault.domain.models import Document, StoredFile
from kycvault.domain.review import ReasonCode, Review, ReviewStatus
from kycvault.domain.types import Authenticity, FileRole

# What an entity needs: not the derived listing columns, not the tenant (the caller knows).
DOCUMENT_COLUMNS = [
    c
    for c in documents.c
    if c.name
    not in {
        "tenant_id",
        "name_key",
        "expiry_key",
        "search_text",
        "file_count",
        "extracted_number_index",
        "id_number_index",
        "content_search",
    }
]
_FILE_COLUMNS = [c for c in files.c if c.name not in {"tenant_id", "content_index"}]
_FILES_OF = (
    sa.select(*_FILE_COLUMNS)
    .where(
        files.c.tenant_id == sa.bindparam("tenant_id"),
        files.c.document_id.in_(sa.bindparam("ids", expanding=True)),
    )
    .order_by(files.c.position, files.c.id)
)

# A download's lookup: one file and its document's subject (a left join: no row at all when
# the document is missing, a row without a file when only the file is).
_FILE_OF = (
    sa.select(documents.c.subject_id, *_FILE_COLUMNS)
    .select_from(
        documents.outerjoin(
            files,
            sa.and_(
                files.c.tenant_id == documents.c.tenant_id,
                files.c.document_id == documents.c.id,
                files.c.id == sa.bindparam("file_id"),
            ),
        )
    )
    .where(documents.c.tenant_id == sa.bindparam("tenant_id"))
    .where(documents.c.id == sa.bindparam("document_id"))
)


def stored_file(row: RowMapping, tenant_id: UUID, sealed: RowFields) -> StoredFile:
    return StoredFile(
        id=row["id"],
        tenant_id=tenant_id,
        document_id=row["document_id"],
        position=row["position"],
        role=FileRole(row["role"]) if row["role"] else None,
        filename=row["filename"],
        content_type=row["content_type"],
        size=row["size"],
        sha256=sealed.sha256(tenant_id, row),
        blob_key=row["blob_key"],
        wrapped_dek=bytes(row["wrapped_dek"]),
        kek_id=row["kek_id"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        subject_key_id=row["subject_key_id"],
    )


def document_entity(
    row: RowMapping, tenant_id: UUID, attached: list[StoredFile], sealed: RowFields
) -> Document:
    return Document(
        id=row["id"],
        tenant_id=tenant_id,
        number=row["number"],
        subject_id=row["subject_id"],
        type=row["type"],
        name=row["name"],
        id_number=sealed.id_number(tenant_id, row),
        issuing_country=row["issuing_country"],
        issue_date=row["issue_date"],
        expiry_date=row["expiry_date"],
        authenticity=Authenticity(row["authenticity"]) if row["authenticity"] else None,
        notify_before_expiry=row["notify_before_expiry"],
        metadata=sealed.metadata(tenant_id, row),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        created_by=row["created_by"],
        updated_by=row["updated_by"],
        files=attached,
        processing=sealed.processing(tenant_id, row),
        review=review_of(row, tenant_id, sealed),
    )


def review_of(row: RowMapping, tenant_id: UUID, sealed: RowFields) -> Review:
    code = row["review_reason_code"]
    return Review(
        status=ReviewStatus(row["review_status"]),
        reason_code=ReasonCode(code) if code else None,
        reason=sealed.review_reason(tenant_id, row),
        by=row["reviewed_by"],
        at=row["reviewed_at"],
    )


def derived(name: str | None, expiry: Any, filenames: list[str | None]) -> dict[str, Any]:
    """The listing columns a document row derives from its name, expiry and file names."""
    return {
        "name_key": listing.name_key(name),
        "expiry_key": listing.expiry_key(expiry),
        "search_text": listing.search_text(name, filenames),
        "file_count": len(filenames),
    }


def with_content(base: str) -> Any:
    """The searchable text: the derived part, then whatever extracted text the tenant made
    searchable (kept in ``content_search`` so that edits of the name keep it)."""
    return sa.literal(base, sa.Text) + documents.c.content_search


class DocumentRows(Repo):
    """What every part of the documents repository shares: entities with their files, and
    the derived columns kept up to date."""

    @deferrable
    def sync_files(self, tenant_id: UUID, document_id: UUID) -> None:
        """Recompute what the document derives from its files (count, searchable names)."""
        row = self._one(
            sa.select(documents.c.name, documents.c.expiry_date).where(
                documents.c.tenant_id == tenant_id, documents.c.id == document_id
            )
        )
        if row is None:
            return
        names = (
            self._conn.execute(
                sa.select(files.c.filename)
                .where(files.c.tenant_id == tenant_id, files.c.document_id == document_id)
                .order_by(files.c.position)
            )
        ).scalars()
        values = derived(row["name"], row["expiry_date"], list(names))
        values["search_text"] = with_content(values["search_text"])
        self._conn.execute(
            documents.update()
            .where(documents.c.tenant_id == tenant_id, documents.c.id == document_id)
            .values(**values)
        )

    def file_of(
        self, tenant_id: UUID, document_id: UUID, file_id: UUID
    ) -> tuple[UUID | None, StoredFile | None] | None:
        params = {"tenant_id": tenant_id, "document_id": document_id, "file_id": file_id}
        row = self._one(_FILE_OF, params)
        if row is None:
            return None
        if row["id"] is None:
            return row["subject_id"], None
        return row["subject_id"], stored_file(row, tenant_id, self._sealed)

    def _with_files(self, tenant_id: UUID, stmt: sa.Select[Any]) -> list[Document]:
        return self._attach(tenant_id, self._all(stmt))

    def _attach(self, tenant_id: UUID, rows: Sequence[RowMapping]) -> list[Document]:
        attached = self._files_of([r["id"] for r in rows], tenant_id)
        sealed = self._sealed
        return [document_entity(r, tenant_id, attached.get(r["id"], []), sealed) for r in rows]

    def _files_of(self, document_ids: list[UUID], tenant_id: UUID) -> dict[UUID, list[StoredFile]]:
        if not document_ids:
            return {}
        rows = self._all(_FILES_OF, {"tenant_id": tenant_id, "ids": document_ids})
        grouped: dict[UUID, list[StoredFile]] = {}
        sealed = self._sealed
        for row in rows:
            grouped.setdefault(row["document_id"], []).append(stored_file(row, tenant_id, sealed))
        return grouped
