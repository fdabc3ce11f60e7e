"""/v1/document-types: the catalog."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kycvault.api.deps import ActorDep, VaultDep
from kycvault.api.schemas import DocumentTypeOut, ListOut
from kycvault.domain.types import Category
from kycvault.services import catalog

router = APIRouter(prefix="/v1/document-types", tags=["document types"])


@router.get("", response_model=ListOut[DocumentTypeOut])
async def list_document_types(
    vault: VaultDep, actor: ActorDep, category: Annotated[Category | None, Query()] = None
) -> ListOut[DocumentTypeOut]:
    types = await catalog.list_types(vault, actor, category=category)
    return ListOut(data=[DocumentTypeOut.of(t) for t in types])


@router.get("/{name}", response_model=DocumentTypeOut)
async def get_document_type(name: str, vault: VaultDep, actor: ActorDep) -> DocumentTypeOut:
    return DocumentTypeOut.of(await catalog.get_type(vault, actor, name))
