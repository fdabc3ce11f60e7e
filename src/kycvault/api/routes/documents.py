"""/v1/documents (and /v1/subjects/{id}/documents)."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from kycvault.api.bodies import FILE_PARTS, parse_json, receive_upload, split_form
from kycvault.api.body_specs import body, form_content, json_content
from kycvault.api.deps import ActorDep, ContextDep, JsonBody
from kycvault.api.dialects import upload_limits
from kycvault.api.idempotency import Once, Written, form_payload, json_response
from kycvault.api.multipart import is_multipart
from kycvault.api.routing import CheckedRoute
from kycvault.api.schemas import (
    DocumentCreate,
    DocumentOut,
    DocumentPatch,
    NumberedPageOut,
    PageOut,
    ReviewIn,
)
from kycvault.domain.listing import MAX_SEARCH_LENGTH, DocumentQuery, Sort
from kycvault.domain.models import Document
from kycvault.domain.review import ReviewStatus
from kycvault.domain.types import Classification
from kycvault.errors import InvalidInput
from kycvault.services import document_listing, document_removal, documents, reviews
from kycvault.services.context import Actor, AppContext

router = APIRouter(tags=["documents"], route_class=CheckedRoute)

_DOCUMENT_FIELDS: dict[str, dict[str, Any]] = {
    "type": {"type": "string", "minLength": 1, "description": "document type name or alias"},
    "subject_id": {"type": "string", "format": "uuid"},
    "name": {"type": "string"},
    "id_number": {"type": "string"},
    "issuing_country": {"type": "string", "description": "ISO 3166-1 alpha-2 or alpha-3"},
    "issue_date": {"type": "string", "format": "date"},
    "expiry_date": {"type": "string", "format": "date"},
    "authenticity": {"type": "string", "enum": ["ORIGINAL", "CERTIFIED_COPY", "COPY"]},
    "notify_before_expiry": {"type": "boolean"},
    "metadata": {"type": "string", "description": "a JSON object"},
}


_CREATE_BODY = body(
    json_content(DocumentCreate),
    form_content({**_DOCUMENT_FIELDS, **FILE_PARTS}, required=["type", "file"]),
)
Listed = PageOut[DocumentOut] | NumberedPageOut[DocumentOut]


class DocumentFilters(BaseModel):
    """The listing's filters and sort, read as one query-parameter model: FastAPI validates
    it in one pass (as separate parameters, each was looked up and validated on its own, a
    tenth of a page's CPU). Unknown parameters are refused by ``CheckedRoute``."""

    type: list[str] = Field([], max_length=50, description="repeatable; names or aliases")
    created_from: date | None = Field(None, description="inclusive, UTC")
    created_to: date | None = Field(None, description="inclusive, UTC")
    search: str | None = Field(
        None,
        max_length=MAX_SEARCH_LENGTH,
        description="case-insensitive substring of the name or a file's original name",
    )
    expires_before: date | None = Field(None, description="expiry strictly before")
    expires_after: date | None = Field(None, description="expiry strictly after")
    classification: Classification | None = None
    has_files: bool | None = None
    sort: Sort = Sort.CREATED_DESC
    review_status: list[ReviewStatus] = Field(
        [], max_length=len(ReviewStatus), description="repeatable"
    )
    id_number: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="exact document number, declared or read from the MRZ (case, spaces "
        "and punctuation ignored)",
        # At least a letter or a digit: one with none is refused (blank), not listed.
        json_schema_extra={"pattern": "[A-Za-z0-9]"},
    )


async def _filters(params: Annotated[DocumentFilters, Query()]) -> DocumentQuery:
    return DocumentQuery(
        types=tuple(params.type),
        created_from=params.created_from,
        created_to=params.created_to,
        search=params.search,
        expires_before=params.expires_before,
        expires_after=params.expires_after,
        classification=params.classification,
        has_files=params.has_files,
        sort=params.sort,
        review_statuses=tuple(dict.fromkeys(params.review_status)),
        id_number=params.id_number,
    )


async def _list(
    ctx: AppContext,
    actor: Actor,
    query: DocumentQuery,
    limit: int | None,
    cursor: str | None,
    page: int | None,
    per_page: int | None,
    subject_must_exist: bool,
) -> Listed:
    if page is None and per_page is None:
        page_of = await document_listing.list_documents(
            ctx, actor, query, limit=limit, cursor=cursor, subject_must_exist=subject_must_exist
        )
        return PageOut.of(page_of, [DocumentOut.of(d) for d in page_of.items])
    if cursor is not None or limit is not None:
        raise InvalidInput.field(
            "page", "mixed_pagination", "use either cursor/limit or page/per_page"
        )
    numbered = await document_listing.number_documents(
        ctx,
        actor,
        query,
        page=page or 1,
        per_page=per_page or 20,
        subject_must_exist=subject_must_exist,
    )
    return NumberedPageOut(
        data=[DocumentOut.of(d) for d in numbered.items],
        page=numbered.page,
        per_page=numbered.per_page,
        total_count=numbered.total_count,
        total_pages=numbered.total_pages,
    )


Filters = Annotated[DocumentQuery, Depends(_filters)]
Limit = Annotated[int | None, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=1024)]
PageNumber = Annotated[
    int | None,
    Query(
        ge=1,
        description="numbered pages, with totals, up to 10,000 rows deep (page times per_page)",
        json_schema_extra={"maximum": document_listing.MAX_OFFSET + 1},
    ),
]
PerPage = Annotated[int | None, Query(ge=1, le=100)]


@router.post(
    "/v1/documents", status_code=201, response_model=DocumentOut, openapi_extra=_CREATE_BODY
)
async def create_document(
    request: Request, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """Create a document from JSON metadata, or from form fields plus 1-5 ``file`` parts."""
    if not is_multipart(request.headers.get("content-type")):
        body = await parse_json(request, DocumentCreate)

        async def write_json() -> Written:
            doc = await documents.create_document(ctx, actor, body.model_dump(exclude_unset=True))
            return _created(doc)

        return await once(actor, write_json)
    async with receive_upload(request, ctx, actor, upload_limits(request)) as (session, fields):
        meta, per_file = split_form(fields, DocumentCreate)

        async def write_upload() -> Written:
            doc = await documents.create_document(
                ctx,
                actor,
                meta.model_dump(exclude_unset=True),
                upload=session,
                roles=per_file.role,
                hashes=per_file.sha256,
            )
            return _created(doc)

        return await once(actor, write_upload, payload=form_payload(fields, session.staged))


def _created(doc: Document) -> Written:
    location = f"/v1/documents/{doc.id}"
    return Written(json_response(DocumentOut.of(doc), status_code=201, location=location), doc.id)


# The read routes answer through ``json_response`` (pydantic's serializer, straight from the
# model made): given the model back, FastAPI would validate it again and serialize it through
# ``Listed``'s union serializer, which tries each variant; ``response_model`` still documents it.
@router.get("/v1/documents", response_model=Listed)
async def list_documents(
    ctx: ContextDep,
    actor: ActorDep,
    query: Filters,
    subject_id: UUID | None = None,
    limit: Limit = None,
    cursor: Cursor = None,
    page: PageNumber = None,
    per_page: PerPage = None,
) -> Response:
    """Documents matching every filter given, in ``sort`` order (ties broken by id). Pages
    are cursor-based (``next_cursor``/``prev_cursor``); ``page``/``per_page`` give
    numbered pages with totals instead (up to 10,000 rows deep)."""
    query = dataclasses.replace(query, subject_id=subject_id)
    return json_response(await _list(ctx, actor, query, limit, cursor, page, per_page, False))


@router.get("/v1/subjects/{subject_id}/documents", response_model=Listed)
async def list_subject_documents(
    subject_id: UUID,
    ctx: ContextDep,
    actor: ActorDep,
    query: Filters,
    limit: Limit = None,
    cursor: Cursor = None,
    page: PageNumber = None,
    per_page: PerPage = None,
) -> Response:
    """The subject's documents, with the filters and pages of ``GET /v1/documents``; an unknown
    subject is a 404."""
    query = dataclasses.replace(query, subject_id=subject_id)
    return json_response(await _list(ctx, actor, query, limit, cursor, page, per_page, True))


@router.get("/v1/documents/{document_id}", response_model=DocumentOut)
async def get_document(document_id: UUID, ctx: ContextDep, actor: ActorDep) -> Response:
    """The document with its files, what processing found (``extracted``) and its review."""
    return json_response(DocumentOut.of(await documents.get_document(ctx, actor, document_id)))


@router.patch("/v1/documents/{document_id}", response_model=DocumentOut, dependencies=[JsonBody])
async def update_document(
    document_id: UUID, body: DocumentPatch, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """Change the fields sent; those not sent stay as they are. A new ``type`` must exist."""

    async def write() -> Written:
        changes = body.model_dump(exclude_unset=True)
        doc = await documents.update_document(ctx, actor, document_id, changes)
        return Written(json_response(DocumentOut.of(doc)), doc.id)

    return await once(actor, write)


@router.post(
    "/v1/documents/{document_id}/review", response_model=DocumentOut, dependencies=[JsonBody]
)
async def review_document(
    document_id: UUID, body: ReviewIn, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """Approve, reject, or ask for a new upload (``documents:review``); the document with
    its new ``review``. A rejection or a request for a new upload needs a ``reason_code``
    (``other`` also a ``reason``)."""

    async def write() -> Written:
        doc = await reviews.review_document(
            ctx, actor, document_id, body.status, body.reason_code, body.reason
        )
        return Written(json_response(DocumentOut.of(doc)), doc.id)

    return await once(actor, write)


@router.delete("/v1/documents/{document_id}", status_code=204)
async def delete_document(
    document_id: UUID, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """Delete the document and its files (shredded), unless a legal hold or a retention rule
    keeps it (409)."""

    async def write() -> Written:
        await document_removal.delete_document(ctx, actor, document_id)
        return Written(Response(status_code=204))

    return await once(actor, write)
