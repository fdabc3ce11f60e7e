"""Rows of documents and their files as domain entities, and what a document row derives
from its name and files (the listing keys, the searchable text, the file count). Shared by
the documents repository's parts (``documents.py``, ``document_listing.py``,
``document_processing.py``) and the integrity queries."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from kycvault.adapters.db.prepared_reads import PreparedRead
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
# Nor the scrub's ``verified_at``: no entity shows it (a page would decode fifty for nothing).
_FILE_COLUMNS = [c for c in files.c if c.name not in {"tenant_id", "content_index", "verified_at"}]
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


# What an entity is built from, in the order the builders unpack it: read by name from a
# ``RowMapping``, or by position from a row of a statement whose columns are known
# (``itemgetter`` fetches them all in one call: the listing builds fifty entities a page).
_FILE_FIELDS = (
    "id",
    "document_id",
    "position",
    "role",
    "filename",
    "content_type",
    "size",
    "sha256_sealed",
    "blob_key",
    "wrapped_dek",
    "kek_id",
    "created_at",
    "created_by",
    "subject_key_id",
)
_DOCUMENT_FIELDS = tuple(c.name for c in DOCUMENT_COLUMNS)
Fields = Callable[[Any], tuple[Any, ...]]
FILE_BY_NAME: Fields = itemgetter(*_FILE_FIELDS)
DOCUMENT_BY_NAME: Fields = itemgetter(*_DOCUMENT_FIELDS)
# A row of a ``select(*DOCUMENT_COLUMNS)`` (or of one adapted to a subquery of them).
DOCUMENT_AT: Fields = itemgetter(*range(len(_DOCUMENT_FIELDS)))

# The files of documents, read on the driver's cursor: a page's files are a fifth of its
# cost through ``Connection.execute``. A page's files share their few wrapping keys, decoded
# once each, and hold the ids of the documents asked for, already decoded.
_FILES_READ = PreparedRead(
    _FILES_OF, repeated=("kek_id", "subject_key_id"), echoes={"document_id": "ids"}
)
_FILE_AT: Fields = itemgetter(*(_FILES_READ.position(name) for name in _FILE_FIELDS))
_FILE_DOCUMENT = _FILES_READ.position("document_id")
# Values already unpacked in order (``tuple`` of a tuple is that tuple, at C speed).
_SAME: Fields = tuple

# Enum members by value: a dict look-up costs a fifth of the enum's call, which is kept for
# a value that is not a member (its ValueError).
_ROLES = {member.value: member for member in FileRole}
_AUTHENTICITIES = {member.value: member for member in Authenticity}
_STATUSES = {member.value: member for member in ReviewStatus}
_REASONS = {member.value: member for member in ReasonCode}


def stored_file(
    row: Any, tenant_id: UUID, sealed: RowFields, fields: Fields = FILE_BY_NAME
) -> StoredFile:
    (
        file_id,
        document_id,
        position,
        role,
        filename,
        content_type,
        size,
        sha256_sealed,
        blob_key,
        wrapped_dek,
        kek_id,
        created_at,
        created_by,
        subject_key_id,
    ) = fields(row)
    return StoredFile(
        id=file_id,
        tenant_id=tenant_id,
        document_id=document_id,
        position=position,
        role=(_ROLES.get(role) or FileRole(role)) if role else None,
        filename=filename,
        content_type=content_type,
        size=size,
        sha256=sealed.open_sha256(tenant_id, file_id, sha256_sealed),
        blob_key=blob_key,
        wrapped_dek=bytes(wrapped_dek),
        kek_id=kek_id,
        created_at=created_at,
        created_by=created_by,
        subject_key_id=subject_key_id,
    )


def document_entity(
    row: Any,
    tenant_id: UUID,
    attached: list[StoredFile],
    sealed: RowFields,
    fields: Fields = DOCUMENT_BY_NAME,
) -> Document:
    (
        document_id,
        number,
        subject_id,
        type_name,
        name,
        id_number_sealed,
        issuing_country,
        issue_date,
        expiry_date,
        authenticity,
        notify_before_expiry,
        metadata_sealed,
        created_at,
        updated_at,
        created_by,
        updated_by,
        processing,
        processing_sealed,
        review_status,
        review_reason_code,
        review_reason_sealed,
        reviewed_by,
        reviewed_at,
    ) = fields(row)
    return Document(
        id=document_id,
        tenant_id=tenant_id,
        number=number,
        subject_id=subject_id,
        type=type_name,
        name=name,
        id_number=sealed.open_id_number(tenant_id, document_id, id_number_sealed),
        issuing_country=issuing_country,
        issue_date=issue_date,
        expiry_date=expiry_date,
        authenticity=(
            (_AUTHENTICITIES.get(authenticity) or Authenticity(authenticity))
            if authenticity
            else None
        ),
        notify_before_expiry=notify_before_expiry,
        metadata=sealed.open_metadata(tenant_id, document_id, metadata_sealed),
        created_at=created_at,
        updated_at=updated_at,
        created_by=created_by,
        updated_by=updated_by,
        files=attached,
        processing=sealed.open_processing(tenant_id, document_id, processing, processing_sealed),
        review=_review(
            review_status,
            review_reason_code,
            sealed.open_review_reason(tenant_id, document_id, review_reason_sealed),
            reviewed_by,
            reviewed_at,
        ),
    )


# Most documents were never reviewed: they share one Review (frozen, of immutable values).
_NEVER_REVIEWED = Review()


def _review(status: str, code: str | None, reason: str | None, by: Any, at: Any) -> Review:
    if (
        status == ReviewStatus.PENDING
        and code is None
        and reason is None
        and by is None
        and at is None
    ):
        return _NEVER_REVIEWED
    return Review(
        status=_STATUSES.get(status) or ReviewStatus(status),
        reason_code=(_REASONS.get(code) or ReasonCode(code)) if code else None,
        reason=reason,
        by=by,
        at=at,
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
        """The documents of ``stmt``, a ``select(*DOCUMENT_COLUMNS)`` (its rows are read by
        position)."""
        return self._attach(tenant_id, self._conn.execute(stmt).all(), DOCUMENT_AT)

    def _attach(
        self, tenant_id: UUID, rows: Sequence[Any], fields: Fields = DOCUMENT_BY_NAME
    ) -> list[Document]:
        if not rows:
            return []
        found = [fields(row) for row in rows]
        attached = self._files_of([values[0] for values in found], tenant_id)
        sealed = self._sealed
        # ``found`` holds each row's values already in the order ``document_entity`` unpacks.
        return [
            document_entity(values, tenant_id, attached.get(values[0], []), sealed, _SAME)
            for values in found
        ]

    def _files_of(self, document_ids: list[UUID], tenant_id: UUID) -> dict[UUID, list[StoredFile]]:
        if not document_ids:
            return {}
        rows = _FILES_READ.all(self._conn, {"tenant_id": tenant_id, "ids": document_ids})
        grouped: dict[UUID, list[StoredFile]] = {}
        sealed = self._sealed
        for row in rows:
            file = stored_file(row, tenant_id, sealed, _FILE_AT)
            grouped.setdefault(row[_FILE_DOCUMENT], []).append(file)
        return grouped
