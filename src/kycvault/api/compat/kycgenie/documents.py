"""Tenant documents (the library: documents without a subject) and download tokens."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from kycvault.api.compat.kycgenie.common import (
    V1,
    V2,
    issue_link,
    link_url,
    receive,
    required_value,
    upload_form,
)
from kycvault.api.compat.kycgenie.schemas import (
    DocumentOut,
    DownloadOut,
    LibraryPageV1,
    LibraryPageV2,
    type_label,
)
from kycvault.api.compat.shared import path_id
from kycvault.api.deps import ActorDep, ContextDep
from kycvault.api.file_serving import FILE_RESPONSES, head_response, stream_response
from kycvault.api.idempotency import Once, OncePerKey, Written, form_payload, json_response
from kycvault.api.routing import CheckedRoute
from kycvault.domain.listing import DocumentQuery
from kycvault.domain.models import Document
from kycvault.domain.scopes import Scope
from kycvault.domain.types import Classification
from kycvault.errors import InvalidInput
from kycvault.services import catalog, document_listing, document_removal, documents, downloads
from kycvault.services.context import Actor, AppContext

router = APIRouter(route_class=CheckedRoute)

V1_LIMIT = 100
V2_PAGE_SIZE = 50


async def upload(
    request: Request, ctx: AppContext, actor: Actor, once: OncePerKey, subject_id: UUID | None
) -> Response:
    """One file and its ``document_type`` label, stored as a document of the library or of a
    subject; an unknown label becomes a tenant document type."""
    async with receive(request, ctx, actor) as (session, fields):
        label = required_value(fields, "document_type")

        async def write() -> Written:
            doc_type = await catalog.type_for_label(ctx, actor, label, field="document_type")
            doc = await documents.create_document(
                ctx, actor, {"type": doc_type.name, "subject_id": subject_id}, upload=session
            )
            return Written(
                json_response(DocumentOut.of(doc, doc_type.label), status_code=201), doc.id
            )

        return await once(actor, write, payload=form_payload(fields, session.staged))


async def of_label(
    ctx: AppContext, actor: Actor, query: DocumentQuery, label: str | None
) -> DocumentQuery | None:
    """``query`` narrowed to the type a ``document_type`` label names; None when no type has
    that label (so nothing can match)."""
    if label is None or not label.strip():
        return query
    named = await catalog.find_type_for_label(ctx, actor, label)
    if named is None:
        return None
    return dataclasses.replace(query, types=(named.name,))


async def _document(ctx: AppContext, actor: Actor, document_id: str, scope: Scope) -> Document:
    """Any of the tenant's documents by id (the library's list shows the library only), for
    a use case that needs ``scope``."""
    return await documents.get_document(
        ctx, actor, path_id(document_id, documents.document_not_found), scope=scope
    )


async def render(ctx: AppContext, actor: Actor, docs: list[Document]) -> list[DocumentOut]:
    loaded = await catalog.load_catalog(ctx, actor)
    return [DocumentOut.of(doc, type_label(loaded, doc.type)) for doc in docs]


async def delete(
    ctx: AppContext, actor: Actor, once: OncePerKey, find: Callable[[], Awaitable[Document]]
) -> Response:
    """Delete the document ``find`` looks up; the lookup runs inside the write, so a retried
    delete gets its 204 again rather than a 404."""

    async def write() -> Written:
        await document_removal.delete_document(ctx, actor, (await find()).id)
        return Written(Response(status_code=204))

    return await once(actor, write)


async def download_url(
    request: Request, ctx: AppContext, actor: Actor, doc: Document
) -> DownloadOut:
    issued = await issue_link(ctx, actor, doc)
    return DownloadOut.of(issued, link_url(request, issued.token))


@router.post(
    f"{V1}/documents/upload/",
    status_code=201,
    response_model=DocumentOut,
    openapi_extra=upload_form(),
)
@router.post(
    f"{V2}/documents/upload/",
    status_code=201,
    response_model=DocumentOut,
    openapi_extra=upload_form(),
)
async def upload_document(
    request: Request, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """Upload a document to the tenant's library (``file``, ``document_type``)."""
    return await upload(request, ctx, actor, once, None)


_LIBRARY = DocumentQuery(classification=Classification.TENANT_PRIVATE)


@router.get(f"{V1}/documents/")
async def list_documents_v1(
    ctx: ContextDep,
    actor: ActorDep,
    document_type: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=document_listing.MAX_LONG_PAGE)] = V1_LIMIT,
) -> LibraryPageV1:
    """The library, newest first: ``count`` is how many match, ``documents`` the first
    ``limit`` of them."""
    query = await of_label(ctx, actor, _LIBRARY, document_type)
    if query is None:
        return LibraryPageV1(count=0, documents=[])
    numbered = await document_listing.number_documents(
        ctx, actor, query, per_page=limit, long_pages=True
    )
    listed = await render(ctx, actor, numbered.items)
    return LibraryPageV1(count=numbered.total_count, documents=listed)


@router.get(f"{V2}/documents/")
async def list_documents_v2(
    ctx: ContextDep,
    actor: ActorDep,
    document_type: Annotated[str | None, Query(max_length=200)] = None,
    after: Annotated[str | None, Query(max_length=1024)] = None,
    before: Annotated[str | None, Query(max_length=1024)] = None,
    page_size: Annotated[int, Query(ge=1, le=100)] = V2_PAGE_SIZE,
) -> LibraryPageV2:
    """The library, newest first, in pages: ``next_cursor`` goes in ``after``,
    ``prev_cursor`` in ``before``."""
    if after and before:
        raise InvalidInput.field("before", "mixed_cursors", "Send after or before, not both.")
    query = await of_label(ctx, actor, _LIBRARY, document_type)
    if query is None:
        return LibraryPageV2(has_more=False, next_cursor=None, prev_cursor=None, results=[])
    try:
        page = await document_listing.list_documents(
            ctx, actor, query, limit=page_size, cursor=after or before
        )
    except InvalidInput as exc:
        if exc.code != "invalid_cursor":
            raise
        name = "after" if after else "before"
        raise InvalidInput.field(name, exc.code, exc.errors[0].message) from None
    return LibraryPageV2(
        has_more=page.has_more,
        next_cursor=page.next_cursor,
        prev_cursor=page.prev_cursor,
        results=await render(ctx, actor, page.items),
    )


@router.get(f"{V1}/documents/{{document_id}}/")
@router.get(f"{V2}/documents/{{document_id}}/")
async def get_document(document_id: str, ctx: ContextDep, actor: ActorDep) -> DocumentOut:
    """The document (any of the tenant's, library or entity)."""
    doc = await _document(ctx, actor, document_id, Scope.DOCUMENTS_READ)
    return (await render(ctx, actor, [doc]))[0]


@router.delete(f"{V1}/documents/{{document_id}}/", status_code=204)
@router.delete(f"{V2}/documents/{{document_id}}/", status_code=204)
async def delete_document(
    document_id: str, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """Delete a document (400 while a questionnaire response references it)."""
    return await delete(
        ctx, actor, once, lambda: _document(ctx, actor, document_id, Scope.DOCUMENTS_DELETE)
    )


@router.get(f"{V1}/documents/{{document_id}}/download/")
@router.get(f"{V2}/documents/{{document_id}}/download/")
async def get_download_url(
    document_id: str, request: Request, ctx: ContextDep, actor: ActorDep
) -> DownloadOut:
    """A proxy URL that serves the file once, without an API key, for 15 minutes."""
    doc = await _document(ctx, actor, document_id, Scope.DOCUMENTS_DOWNLOAD)
    return await download_url(request, ctx, actor, doc)


_REDEEMED: dict[int | str, dict[str, Any]] = {
    **FILE_RESPONSES,
    410: {"description": "The token was used already, or has expired (`not_found`)."},
}


@router.api_route(
    f"{V1}/files/{{token}}/", methods=["GET", "HEAD"], response_class=Response, responses=_REDEEMED
)
@router.api_route(
    f"{V2}/files/{{token}}/", methods=["GET", "HEAD"], response_class=Response, responses=_REDEEMED
)
async def redeem_download_token(token: str, request: Request, ctx: ContextDep) -> Response:
    """The file behind a download token, once (410 afterwards and after expiry). ``HEAD``
    does not use the token up."""
    if request.method == "HEAD":
        return head_response(await downloads.peek(ctx, token), "attachment")
    content = await downloads.redeem(ctx, token, request_id=request.state.request_id)
    return await stream_response(request, content, "attachment")
