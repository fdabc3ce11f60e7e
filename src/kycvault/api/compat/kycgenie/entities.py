"""Entity documents: an entity is a subject, ``entity_id`` its id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from kycvault.api.compat.kycgenie.common import V1, V2, upload_form
from kycvault.api.compat.kycgenie.documents import delete, download_url, of_label, render, upload
from kycvault.api.compat.kycgenie.schemas import (
    DocumentOut,
    DownloadOut,
    EntityDocumentsV1,
    EntityDocumentsV2,
    entity_name,
)
from kycvault.api.compat.shared import path_id, subjects_document
from kycvault.api.deps import ActorDep, ContextDep
from kycvault.api.idempotency import Once
from kycvault.api.routing import CheckedRoute
from kycvault.domain.listing import DocumentQuery
from kycvault.domain.models import Document, Subject
from kycvault.domain.scopes import Scope
from kycvault.services import document_listing, documents, subjects
from kycvault.services.context import Actor, AppContext

router = APIRouter(route_class=CheckedRoute)


async def _entity(ctx: AppContext, actor: Actor, entity_id: str, scope: Scope) -> Subject:
    """The entity, looked up for a use case of its documents that needs ``scope``."""
    entity = path_id(entity_id, subjects.subject_not_found)
    return await subjects.get_subject(ctx, actor, entity, scope=scope)


async def _document(
    ctx: AppContext, actor: Actor, entity_id: str, document_id: str, scope: Scope
) -> Document:
    """The entity's document: another entity's, or a library one, is not found here."""
    entity = await _entity(ctx, actor, entity_id, scope)
    doc_id = path_id(document_id, documents.document_not_found)
    return await subjects_document(ctx, actor, doc_id, entity.id, scope=scope)


async def _listed(
    ctx: AppContext, actor: Actor, entity: Subject, label: str | None, limit: int
) -> tuple[int, list[DocumentOut]]:
    query = await of_label(ctx, actor, DocumentQuery(subject_id=entity.id), label)
    if query is None:
        return 0, []
    numbered = await document_listing.number_documents(
        ctx, actor, query, per_page=limit, long_pages=True
    )
    return numbered.total_count, await render(ctx, actor, numbered.items)


@router.post(
    f"{V1}/entities/{{entity_id}}/documents/upload/",
    status_code=201,
    response_model=DocumentOut,
    openapi_extra=upload_form(),
)
@router.post(
    f"{V2}/entities/{{entity_id}}/documents/",
    status_code=201,
    response_model=DocumentOut,
    openapi_extra=upload_form(),
)
async def upload_entity_document(
    entity_id: str, request: Request, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """Upload a document of the entity (``file``, ``document_type``): ``entity_private``."""
    entity = await _entity(ctx, actor, entity_id, Scope.DOCUMENTS_WRITE)
    return await upload(request, ctx, actor, once, entity.id)


Label = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=document_listing.MAX_LONG_PAGE)]


@router.get(f"{V1}/entities/{{entity_id}}/documents/")
async def list_entity_documents_v1(
    entity_id: str,
    ctx: ContextDep,
    actor: ActorDep,
    document_type: Label = None,
    limit: Limit = 100,
) -> EntityDocumentsV1:
    """The entity's documents, newest first (``count`` is how many match)."""
    entity = await _entity(ctx, actor, entity_id, Scope.DOCUMENTS_READ)
    count, listed = await _listed(ctx, actor, entity, document_type, limit)
    return EntityDocumentsV1(
        count=count, entity_id=str(entity.id), entity_name=entity_name(entity), documents=listed
    )


@router.get(f"{V2}/entities/{{entity_id}}/documents/")
async def list_entity_documents_v2(
    entity_id: str,
    ctx: ContextDep,
    actor: ActorDep,
    document_type: Label = None,
    limit: Limit = document_listing.MAX_LONG_PAGE,
) -> EntityDocumentsV2:
    """The entity's documents, a page at a time."""
    entity = await _entity(ctx, actor, entity_id, Scope.DOCUMENTS_READ)
    count, listed = await _listed(ctx, actor, entity, document_type, limit)
    return EntityDocumentsV2(
        count=count, entity_id=str(entity.id), entity_name=entity_name(entity), results=listed
    )


@router.delete(f"{V1}/entities/{{entity_id}}/documents/{{document_id}}/", status_code=204)
@router.delete(f"{V2}/entities/{{entity_id}}/documents/{{document_id}}/", status_code=204)
async def delete_entity_document(
    entity_id: str, document_id: str, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """Delete the entity's document (400 while a questionnaire response references it)."""
    return await delete(
        ctx,
        actor,
        once,
        lambda: _document(ctx, actor, entity_id, document_id, Scope.DOCUMENTS_DELETE),
    )


@router.get(f"{V1}/entities/{{entity_id}}/documents/{{document_id}}/download/")
@router.get(f"{V2}/entities/{{entity_id}}/documents/{{document_id}}/download/")
async def get_entity_document_download_url(
    entity_id: str, document_id: str, request: Request, ctx: ContextDep, actor: ActorDep
) -> DownloadOut:
    """A proxy URL that serves the entity's document once, without an API key, for 15 minutes."""
    doc = await _document(ctx, actor, entity_id, document_id, Scope.DOCUMENTS_DOWNLOAD)
    return await download_url(request, ctx, actor, doc)
