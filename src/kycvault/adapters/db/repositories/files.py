"""Files of documents: rows added and removed as uploads and deletions happen."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from kycvault.adapters.db.repositories._base import Repo, deferrable
from kycvault.adapters.db.repositories.document_rows import stored_file
from kycvault.adapters.db.tables import documents, files
from kycvault.domain.models import StoredFile
from kycvault.domain.types import FileRole


class SqlFiles(Repo):
    @deferrable
    def add(self, stored: StoredFile) -> None:
        self._conn.execute(
            files.insert(),
            {
                "id": stored.id,
                "tenant_id": stored.tenant_id,
                "document_id": stored.document_id,
                "position": stored.position,
                "role": stored.role.value if stored.role else None,
                "filename": stored.filename,
                "content_type": stored.content_type,
                "size": stored.size,
                **self._sealed.file_values(stored.tenant_id, stored.id, stored.sha256),
                "blob_key": stored.blob_key,
                "wrapped_dek": stored.wrapped_dek,
                "kek_id": stored.kek_id,
                "created_at": stored.created_at,
                "created_by": stored.created_by,
                "subject_key_id": stored.subject_key_id,
            },
        )

    @deferrable
    def rewrap(
        self,
        tenant_id: UUID,
        file_id: UUID,
        wrapped_dek: bytes,
        subject_key_id: UUID | None,
        kek_id: UUID | None = None,
    ) -> None:
        values: dict[str, Any] = {"wrapped_dek": wrapped_dek, "subject_key_id": subject_key_id}
        if kek_id is not None:
            values["kek_id"] = kek_id
        self._conn.execute(
            files.update()
            .where(files.c.tenant_id == tenant_id, files.c.id == file_id)
            .values(values)
        )

    def under_tenant_keys(
        self, tenant_id: UUID, key_ids: Sequence[UUID], limit: int
    ) -> list[tuple[StoredFile, UUID | None]]:
        query = (
            sa.select(*files.c, documents.c.subject_id.label("document_subject_id"))
            .join(documents, documents.c.id == files.c.document_id)
            .where(
                files.c.tenant_id == tenant_id,
                files.c.kek_id.in_(list(key_ids)),
                files.c.subject_key_id.is_(None),
            )
            .order_by(files.c.id)
            .limit(limit)
        )
        rows = self._conn.execute(query).mappings().all()
        sealed = self._sealed
        return [(stored_file(row, tenant_id, sealed), row["document_subject_id"]) for row in rows]

    def of_subject_under(
        self, tenant_id: UUID, subject_id: UUID, key_ids: Sequence[UUID], limit: int
    ) -> list[StoredFile]:
        query = (
            sa.select(files)
            .join(documents, documents.c.id == files.c.document_id)
            .where(
                documents.c.tenant_id == tenant_id,
                documents.c.subject_id == subject_id,
                sa.or_(
                    files.c.subject_key_id.in_(list(key_ids)),
                    files.c.subject_key_id.is_(None),
                ),
            )
            .order_by(files.c.id)
            .limit(limit)
        )
        rows = self._conn.execute(query).mappings().all()
        return [stored_file(row, tenant_id, self._sealed) for row in rows]

    def count(self, tenant_id: UUID, document_id: UUID) -> int:
        stmt = sa.select(sa.func.count()).where(
            files.c.tenant_id == tenant_id, files.c.document_id == document_id
        )
        return int((self._conn.execute(stmt)).scalar_one())

    def next_position(self, tenant_id: UUID, document_id: UUID) -> int:
        stmt = sa.select(sa.func.max(files.c.position)).where(
            files.c.tenant_id == tenant_id, files.c.document_id == document_id
        )
        last = (self._conn.execute(stmt)).scalar()
        return 0 if last is None else int(last) + 1

    @deferrable
    def delete(self, tenant_id: UUID, file_id: UUID) -> None:
        self._conn.execute(
            files.delete().where(files.c.tenant_id == tenant_id, files.c.id == file_id)
        )

    @deferrable
    def set_role(self, tenant_id: UUID, file_id: UUID, role: FileRole | None) -> None:
        self._conn.execute(
            files.update()
            .where(files.c.tenant_id == tenant_id, files.c.id == file_id)
            .values(role=role.value if role else None)
        )
