"""The document-type catalog as a tenant sees it."""

from __future__ import annotations

from kycvault.domain.catalog import DocumentType
from kycvault.domain.types import Category
from kycvault.errors import NotFound
from kycvault.services.context import Actor, Vault


async def list_types(
    vault: Vault, actor: Actor, *, category: Category | None = None
) -> list[DocumentType]:
    return [t for t in vault.catalog if category is None or t.category == category]


async def get_type(vault: Vault, actor: Actor, name: str) -> DocumentType:
    doc_type = vault.catalog.resolve(name)
    if doc_type is None:
        raise NotFound(f"no document type {name!r}", code="document_type_not_found")
    return doc_type
