"""Argyle's user uploads (``/v2/user-uploads``): upload, list, get, and the file behind
``file_url``."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from kycvault.api.bodies import receive_upload
from kycvault.api.compat.argyle.schemas import (
    ALIASES,
    DOCUMENT_TYPES,
    UserUpload,
    UserUploadPage,
    types_shown_as,
)
from kycvault.api.compat.shared import path_id
from kycvault.api.deps import ActorDep, ContextDep
from kycvault.api.dialects import upload_limits
from kycvault.api.file_serving import FILE_RESPONSES, head_response, stream_response
from kycvault.api.idempotency import Once, Written, form_payload, json_response
from kycvault.api.multipart import UploadLimits, single_values
from kycvault.api.routing import CheckedRoute
from kycvault.domain.catalog import Catalog, DocumentType
from kycvault.domain.listing import DocumentQuery
from kycvault.domain.models import Document, Subject
from kycvault.domain.scopes import Scope
from kycvault.domain.types import Classification
from kycvault.errors import InvalidInput, NotFound
from kycvault.services import document_listing, documents, files, subjects
from kycvault.services.catalog import load_catalog
from kycvault.services.context import Actor, AppContext

PREFIX = "/compat/argyle"
UPLOADS = "/v2/user-uploads"
DEFAULT_LIMIT = 10
MAX_LIMIT = 200

router = APIRouter(route_class=CheckedRoute)

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["user", "document_type", "upload"],
                    "properties": {
                        "user": {"type": "string", "format": "uuid"},
                        "document_type": {"type": "string", "enum": list(DOCUMENT_TYPES)},
                        "upload": {"type": "string", "format": "binary"},
                    },
                }
            }
        },
    }
}
# User uploads are a subject's documents with a file.
_UPLOADS = DocumentQuery(classification=Classification.ENTITY_PRIVATE, has_files=True)


def narrow_limits(native: UploadLimits) -> UploadLimits:
    return dataclasses.replace(native, max_files=1, file_fields=frozenset({"upload"}))


def _base(request: Request) -> str:
    base: str = request.app.state.public_url
    return base + PREFIX


def _file_url(request: Request, doc: Document) -> str:
    """The stable URL of an upload's file (it redirects to the file itself)."""
    return f"{_base(request)}{UPLOADS}/{doc.id}/file"


def _render(request: Request, catalog: Catalog, doc: Document) -> UserUpload:
    return UserUpload.of(catalog, doc, _file_url(request, doc))


def _required(values: dict[str, Any], name: str) -> str:
    value = values.get(name)
    if value is None or not str(value).strip():
        raise InvalidInput.field(name, "required", f"{name} is required")
    return str(value).strip()


def _document_type(catalog: Catalog, name: str) -> DocumentType:
    return ALIASES.catalog_type(catalog, name, field="document_type")


async def _user(ctx: AppContext, actor: Actor, ref: str, scope: Scope) -> Subject:
    """The subject an Argyle ``user`` names (its id or ``external_id``), for a use case of
    its uploads that needs ``scope``; unknown is a 400 about the field, as for any value
    that names nothing."""
    try:
        return await subjects.find_subject(ctx, actor, ref, scope=scope)
    except NotFound:
        raise InvalidInput.field("user", "subject_not_found", f'no user "{ref}"') from None


async def _account(ctx: AppContext, actor: Actor, ref: str) -> Subject:
    """The subject whose upload account ``ref`` is (accounts are subjects' ids), for
    listing its uploads."""
    try:
        return await subjects.get_subject(ctx, actor, UUID(ref), scope=Scope.DOCUMENTS_READ)
    except (ValueError, NotFound):
        raise InvalidInput.field("account", "account_not_found", f'no account "{ref}"') from None


async def _upload(ctx: AppContext, actor: Actor, upload_id: str, scope: Scope) -> Document:
    """A user upload by id, for a use case that needs ``scope``: another tenant's document,
    one without a subject or without a file is no upload (404)."""
    doc_id = path_id(upload_id, documents.document_not_found)
    doc = await documents.get_document(ctx, actor, doc_id, scope=scope)
    if doc.subject_id is None or not doc.files:
        raise documents.document_not_found()
    return doc


@router.post(UPLOADS, response_model=UserUpload, openapi_extra=_UPLOAD_BODY)
async def upload_document(
    request: Request, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """One file (part ``upload``) for a user, of one of Argyle's six document types."""
    limits = upload_limits(request)
    async with receive_upload(request, ctx, actor, limits) as (session, fields):
        values = single_values(fields, frozenset())
        user_ref = _required(values, "user")
        type_name = _required(values, "document_type")

        async def write() -> Written:
            catalog = await load_catalog(ctx, actor)
            doc_type = _document_type(catalog, type_name)
            user = await _user(ctx, actor, user_ref, Scope.DOCUMENTS_WRITE)
            doc = await documents.create_document(
                ctx, actor, {"type": doc_type.name, "subject_id": user.id}, upload=session
            )
            return Written(json_response(_render(request, catalog, doc)), doc.id)

        return await once(actor, write, payload=form_payload(fields, session.staged))


def _page_url(request: Request, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    params.append(("cursor", cursor))
    return f"{_base(request)}{UPLOADS}?{urlencode(params)}"


@router.get(UPLOADS)
async def list_uploads(
    request: Request,
    ctx: ContextDep,
    actor: ActorDep,
    user: Annotated[str | None, Query(max_length=255)] = None,
    account: Annotated[str | None, Query(max_length=64)] = None,
    document_type: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> UserUploadPage:
    """User uploads, newest first; ``next`` and ``previous`` are the URLs of the pages
    around this one. An empty filter is no filter (as Django's filters have it)."""
    catalog = await load_catalog(ctx, actor)
    query = _UPLOADS
    if document_type:
        _document_type(catalog, document_type)  # one of Argyle's six, or a 400
        query = dataclasses.replace(query, types=types_shown_as(catalog, document_type))
    owners = set()
    if user:
        owners.add((await _user(ctx, actor, user, Scope.DOCUMENTS_READ)).id)
    if account:
        owners.add((await _account(ctx, actor, account)).id)
    if len(owners) > 1:  # one user's account and another user: nothing is both
        return UserUploadPage(results=[], next=None, previous=None)
    if owners:
        query = dataclasses.replace(query, subject_id=owners.pop())
    page = await document_listing.list_documents(
        ctx, actor, query, limit=limit, cursor=cursor, long_pages=True
    )
    return UserUploadPage(
        results=[_render(request, catalog, doc) for doc in page.items],
        next=_page_url(request, page.next_cursor),
        previous=_page_url(request, page.prev_cursor),
    )


@router.get(UPLOADS + "/{upload_id}")
async def get_upload(
    upload_id: str, request: Request, ctx: ContextDep, actor: ActorDep
) -> UserUpload:
    """The user upload, with its processing status and results."""
    doc = await _upload(ctx, actor, upload_id, Scope.DOCUMENTS_READ)
    return _render(request, await load_catalog(ctx, actor), doc)


@router.api_route(
    UPLOADS + "/{upload_id}/file",
    methods=["GET", "HEAD"],
    status_code=302,
    response_class=Response,
    responses={
        302: {
            "description": "To the file (no body).",
            "headers": {
                "Location": {
                    "description": "`…/v2/user-uploads/{upload_id}/files/{file_id}`",
                    "schema": {"type": "string"},
                }
            },
        }
    },
)
async def follow_file_url(
    upload_id: str, request: Request, ctx: ContextDep, actor: ActorDep
) -> Response:
    """``file_url``: stable, and redirects to the upload's file (credentials required on
    both, as Argyle's do)."""
    doc = await _upload(ctx, actor, upload_id, Scope.DOCUMENTS_DOWNLOAD)
    target = f"{_base(request)}{UPLOADS}/{doc.id}/files/{doc.files[0].id}"
    return RedirectResponse(target, status_code=302)


@router.api_route(
    UPLOADS + "/{upload_id}/files/{file_id}",
    methods=["GET", "HEAD"],
    response_class=Response,
    responses=FILE_RESPONSES,
)
async def get_file(
    upload_id: str, file_id: str, request: Request, ctx: ContextDep, actor: ActorDep
) -> Response:
    """The upload's file, decrypted, as an attachment (single byte ranges supported)."""
    doc = await _upload(ctx, actor, upload_id, Scope.DOCUMENTS_DOWNLOAD)
    target = path_id(file_id, files.file_not_found)
    if request.method == "HEAD":
        stored = await files.get_file(ctx, actor, doc.id, target, scope=Scope.DOCUMENTS_DOWNLOAD)
        return head_response(stored, "attachment")
    content = await files.open_content(ctx, actor, doc.id, target)
    return await stream_response(request, content, "attachment")
