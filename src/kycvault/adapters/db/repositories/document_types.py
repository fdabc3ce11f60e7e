"""Tenant-defined document types (the built-in catalog lives in the domain)."""

from __future__ import annotations

import uuid
from datetime import datetime
from types import MappingProxyType
from uuid import UUID

from kycvault.adapters.db.repositories._base import Repo, deferrable
from kycvault.adapters.db.tables import document_types
from kycvault.domain.catalog import DocumentType
from kycvault.domain.types import Category, FileRole


class SqlDocumentTypes(Repo):
    @deferrable
    def add(self, tenant_id: UUID, doc_type: DocumentType, at: datetime, by: str) -> None:
        self._conn.execute(
            document_types.insert().values(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                name=doc_type.name,
                label=doc_type.label,
                category=doc_type.category.value,
                roles=[role.value for role in doc_type.roles],
                created_at=at,
                created_by=by,
            )
        )

    def list_for(self, tenant_id: UUID) -> list[DocumentType]:
        rows = self._all(
            document_types.select()
            .where(document_types.c.tenant_id == tenant_id)
            .order_by(document_types.c.name)
        )
        return [
            DocumentType(
                name=row["name"],
                label=row["label"],
                category=Category(row["category"]),
                roles=tuple(FileRole(role) for role in row["roles"]),
                aliases=MappingProxyType({}),
                builtin=False,
            )
            for row in rows
        ]
