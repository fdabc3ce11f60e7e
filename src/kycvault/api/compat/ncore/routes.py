"""nCore's routes: a user's identifications and their files."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response

from kycvault.api.bodies import parse_json, receive_upload
from kycvault.api.body_specs import BINARY, body, form_content, json_content
from kycvault.api.compat.ncore.wire import (
    ALIASES,
    FileOut,
    IdentificationIn,
    IdentificationOut,
    IdentificationPage,
    IdentificationPatch,
    kind_of,
    render,
    render_file,
    roles_of,
    values_of,
)
from kycvault.api.compat.shared import path_id, subjects_document
from kycvault.api.deps import ContextDep, counting_failures, credentials_from, with_address
from kycvault.api.dialects import upload_limits
from kycvault.api.file_serving import stream_response
from kycvault.api.idempotency import Once, Written, form_payload, json_response
from kycvault.api.multipart import UploadLimits
from kycvault.api.routing import CheckedRoute
from kycvault.domain.listing import DocumentQuery, Sort
from kycvault.domain.models import Document, Subject
from kycvault.domain.scopes import Scope
from kycvault.errors import NotFound
from kycvault.services import document_listing, documents, files, subjects, tenants
from kycvault.services.catalog import load_catalog
from kycvault.services.context import Actor, AppContext

router = APIRouter(route_class=CheckedRoute)
IDENTIFICATIONS = "/users/{user_id}/identifications"
# The extensions nCore documents; the vault's own allow-list still applies on top.
EXTENSIONS = frozenset({"pdf", "jpg", "jpeg", "png", "bmp", "doc", "docx"})


def narrow_limits(native: UploadLimits) -> UploadLimits:
    return dataclasses.replace(native, file_fields=frozenset({"file", "files"}))


async def _check_key(request: Request, ctx: AppContext, apikey: str | None) -> Actor:
    key_id, secret = (
        tenants.split_api_key(apikey)
        if apikey
        else credentials_from(request.headers.get("authorization"))
    )
    actor = await tenants.authenticate(
        ctx, key_id=key_id, secret=secret, request_id=request.state.request_id
    )
    return with_address(request, actor)


async def ncore_actor(request: Request, ctx: ContextDep) -> Actor:
    """nCore's ``apikey`` header, or the native Bearer/Basic credentials."""
    apikey = request.headers.get("apikey")
    actor = await counting_failures(
        request,
        ctx,
        _check_key(request, ctx, apikey),
        credential=apikey or request.headers.get("authorization"),
    )
    request.state.key_id = actor.key_id
    return actor


Caller = Annotated[Actor, Depends(ncore_actor)]


async def _identification(
    ctx: AppContext, actor: Actor, user_id: str, identification_id: str, scope: Scope
) -> tuple[Subject, Document]:
    """The user and its identification, looked up for a use case that needs ``scope``."""
    user = await subjects.find_subject(ctx, actor, user_id, scope=scope)
    doc_id = path_id(identification_id, documents.document_not_found)
    return user, await subjects_document(ctx, actor, doc_id, user.id, scope=scope)


def _written(doc: Document, out: IdentificationOut, status_code: int = 200) -> Written:
    return Written(json_response(out, status_code=status_code), doc.id)


_FILES = body(
    form_content(
        {
            "file": {**BINARY, "description": "one file (or `files`)"},
            "files": {"type": "array", "items": BINARY, "description": "up to five files"},
            "identification_document_type": {
                "type": "array",
                "items": {"type": "string"},
                "description": "one per file, in order: `PASSPORT_PAGE1`, `NATIONAL_ID_BACK`, "
                "`VISA`, `NOT APPLICABLE`, …",
            },
            "identification_type": {
                "type": "string",
                "description": "if sent, the identification's own type",
            },
        }
    )
)


@router.post(
    IDENTIFICATIONS,
    status_code=201,
    response_model=IdentificationOut,
    openapi_extra=body(json_content(IdentificationIn)),
)
async def create_identification(
    user_id: str, request: Request, ctx: ContextDep, actor: Caller, once: Once
) -> Response:
    """A new identification of the user (its type, number, dates, country); files come with
    ``PUT …/files``."""
    body = await parse_json(request, IdentificationIn)
    user = await subjects.find_subject(ctx, actor, user_id, scope=Scope.DOCUMENTS_WRITE)

    async def write() -> Written:
        catalog = await load_catalog(ctx, actor)
        values = {
            **values_of(body, None),
            "type": ALIASES.catalog_type(catalog, body.type).name,
            "subject_id": user.id,
        }
        doc = await documents.create_document(ctx, actor, values)
        return _written(doc, render(catalog, user_id, user, doc), 201)

    return await once(actor, write)


_SORTS = {
    "created_date": Sort.CREATED,
    "-created_date": Sort.CREATED_DESC,
    "expiration_date": Sort.EXPIRY,
    "-expiration_date": Sort.EXPIRY_DESC,
}


@router.get(IDENTIFICATIONS)
async def list_identifications(
    user_id: str,
    ctx: ContextDep,
    actor: Caller,
    page: Annotated[
        int, Query(ge=1, json_schema_extra={"maximum": document_listing.MAX_OFFSET + 1})
    ] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
    sort: Literal["created_date", "-created_date", "expiration_date", "-expiration_date"] = (
        "-created_date"
    ),
) -> IdentificationPage:
    """The user's identifications, a page at a time."""
    user = await subjects.find_subject(ctx, actor, user_id, scope=Scope.DOCUMENTS_READ)
    query = DocumentQuery(subject_id=user.id, sort=_SORTS[sort])
    numbered = await document_listing.number_documents(
        ctx, actor, query, page=page, per_page=page_size
    )
    catalog = await load_catalog(ctx, actor)
    return IdentificationPage(
        data=[render(catalog, user_id, user, doc) for doc in numbered.items],
        page=numbered.page,
        page_size=numbered.per_page,
        total_count=numbered.total_count,
        total_pages=numbered.total_pages,
    )


@router.get(IDENTIFICATIONS + "/{identification_id}")
async def get_identification(
    user_id: str, identification_id: str, ctx: ContextDep, actor: Caller
) -> IdentificationOut:
    """The user's identification with its files."""
    user, doc = await _identification(ctx, actor, user_id, identification_id, Scope.DOCUMENTS_READ)
    return render(await load_catalog(ctx, actor), user_id, user, doc)


@router.put(
    IDENTIFICATIONS + "/{identification_id}",
    response_model=IdentificationOut,
    openapi_extra=body(json_content(IdentificationPatch)),
)
async def update_identification(
    user_id: str,
    identification_id: str,
    request: Request,
    ctx: ContextDep,
    actor: Caller,
    once: Once,
) -> Response:
    """Change the fields sent; those not sent stay as they are."""
    body = await parse_json(request, IdentificationPatch)
    user, current = await _identification(
        ctx, actor, user_id, identification_id, Scope.DOCUMENTS_WRITE
    )

    async def write() -> Written:
        catalog = await load_catalog(ctx, actor)
        changes = values_of(body, current)
        if body.type is not None:
            changes["type"] = ALIASES.catalog_type(catalog, body.type).name
        doc = await documents.update_document(ctx, actor, current.id, changes)
        return _written(doc, render(catalog, user_id, user, doc))

    return await once(actor, write)


@router.put(
    IDENTIFICATIONS + "/{identification_id}/files",
    response_model=IdentificationOut,
    openapi_extra=_FILES,
)
async def upload_files(
    user_id: str,
    identification_id: str,
    request: Request,
    ctx: ContextDep,
    actor: Caller,
    once: Once,
) -> Response:
    """One file or up to five (``file`` or ``files`` parts), each with its
    ``identification_document_type``."""
    user, doc = await _identification(ctx, actor, user_id, identification_id, Scope.DOCUMENTS_WRITE)
    catalog = await load_catalog(ctx, actor)
    kind = kind_of(catalog, doc)
    limits = upload_limits(request)
    async with receive_upload(request, ctx, actor, limits, allowed_extensions=EXTENSIONS) as (
        session,
        fields,
    ):
        roles = roles_of(kind, fields, len(session.staged))

        async def write() -> Written:
            await files.add_files(ctx, actor, doc.id, session, roles=roles)
            fresh = await documents.get_document(ctx, actor, doc.id, scope=Scope.DOCUMENTS_WRITE)
            return _written(fresh, render(catalog, user_id, user, fresh))

        return await once(actor, write, payload=form_payload(fields, session.staged))


def _file_ref(ref: str) -> tuple[UUID, str | None]:
    """``<file id>``, ``<file id>:browse`` or ``<file id>:download`` (a colon verb)."""
    file_id, _, verb = ref.partition(":")
    return path_id(file_id, files.file_not_found), verb or None


@router.get(
    IDENTIFICATIONS + "/{identification_id}/files/{file_ref}",
    responses={
        200: {
            "model": FileOut,
            "description": "The file's metadata; with `:browse` or `:download`, its bytes in "
            "the content type it was stored with.",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def get_file(
    user_id: str,
    identification_id: str,
    file_ref: str,
    request: Request,
    ctx: ContextDep,
    actor: Caller,
) -> Response:
    """File metadata; ``:browse`` shows the file inline, ``:download`` as an attachment."""
    scope = Scope.DOCUMENTS_DOWNLOAD if ":" in file_ref else Scope.DOCUMENTS_READ
    _, doc = await _identification(ctx, actor, user_id, identification_id, scope)
    file_id, verb = _file_ref(file_ref)
    if verb is None:
        stored = await files.get_file(ctx, actor, doc.id, file_id)
        out = render_file(kind_of(await load_catalog(ctx, actor), doc), stored)
        return Response(out.model_dump_json(), media_type="application/json")
    if verb not in ("browse", "download"):
        raise NotFound(f"no such action :{verb}", code="not_found")
    content = await files.open_content(ctx, actor, doc.id, file_id)
    return await stream_response(request, content, "inline" if verb == "browse" else "attachment")


# ``file_ref`` as in the GET: one path in the OpenAPI document, whose parameter is a file id.
@router.delete(IDENTIFICATIONS + "/{identification_id}/files/{file_ref}", status_code=204)
async def delete_file(
    user_id: str, identification_id: str, file_ref: str, ctx: ContextDep, actor: Caller, once: Once
) -> Response:
    """Remove the file from the identification."""
    _, doc = await _identification(ctx, actor, user_id, identification_id, Scope.DOCUMENTS_DELETE)
    target, verb = _file_ref(file_ref)
    if verb is not None:
        raise NotFound("no such file", code="file_not_found")

    async def write() -> Written:
        await files.delete_file(ctx, actor, doc.id, target)
        return Written(Response(status_code=204))

    return await once(actor, write)
