"""/v1/document-types: the catalog, and the tenant's own types."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from kycvault.api.deps import ActorDep, ContextDep, JsonBody
from kycvault.api.idempotency import Once, Written, json_response
from kycvault.api.routing import CheckedRoute
from kycvault.api.schemas import DocumentTypeCreate, DocumentTypeOut, ListOut
from kycvault.domain.types import Category
from kycvault.services import catalog

router = APIRouter(prefix="/v1/document-types", tags=["document types"], route_class=CheckedRoute)


@router.get("", response_model=ListOut[DocumentTypeOut])
async def list_document_types(
    ctx: ContextDep, actor: ActorDep, category: Annotated[Category | None, Query()] = None
) -> ListOut[DocumentTypeOut]:
    """The document types: built in, and the tenant's own."""
    types = await catalog.list_types(ctx, actor, category=category)
    return ListOut(data=[DocumentTypeOut.of(t) for t in types])


@router.post("", status_code=201, response_model=DocumentTypeOut, dependencies=[JsonBody])
async def create_document_type(
    body: DocumentTypeCreate, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """A tenant's own type, for documents the built-in catalog lacks. ``name`` defaults to a
    slug of the label ("Financial Statement" → ``financial_statement``)."""

    async def write() -> Written:
        created = await catalog.create_type(
            ctx,
            actor,
            label=body.label,
            name=body.name,
            category=body.category,
            roles=body.roles,
        )
        location = f"/v1/document-types/{created.name}"
        return Written(
            json_response(DocumentTypeOut.of(created), status_code=201, location=location)
        )

    return await once(actor, write)


@router.get("/{name}", response_model=DocumentTypeOut)
async def get_document_type(name: str, ctx: ContextDep, actor: ActorDep) -> DocumentTypeOut:
    """The document type of this name or alias."""
    return DocumentTypeOut.of(await catalog.get_type(ctx, actor, name))
