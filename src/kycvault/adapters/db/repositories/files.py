"""Files of documents: rows added and removed as uploads and deletions happen."""

from __future__ import annotations

from uuid import UUID

import sqlalchemy as sa

from kycvault.adapters.db.repositories._base import Repo, deferrable
from kycvault.adapters.db.tables import files
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
            },
        )

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
