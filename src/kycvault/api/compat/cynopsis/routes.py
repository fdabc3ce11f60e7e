"""Cynopsis Artemis's routes: a customer's documents and their front and back images."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request, Response

from kycvault.api.bodies import receive_upload
from kycvault.api.body_specs import BINARY, body, form_content, standalone_schema
from kycvault.api.compat.cynopsis.wire import (
    ALIASES,
    DEFAULT_TYPE,
    PREFIX,
    SIDES,
    CynopsisDocument,
    CynopsisDocumentOut,
    Timestamp,
    parse_document,
    user_info,
)
from kycvault.api.deps import ActorDep, ContextDep
from kycvault.api.dialects import upload_limits
from kycvault.api.file_serving import FILE_RESPONSES, stream_response
from kycvault.api.idempotency import Once, Written, form_payload, json_response
from kycvault.api.multipart import UploadLimits
from kycvault.api.routing import CheckedRoute
from kycvault.domain.catalog import Catalog
from kycvault.domain.models import Document, StoredFile, Subject
from kycvault.domain.scopes import Scope
from kycvault.errors import InvalidInput, NotFound
from kycvault.services import (
    document_listing,
    document_removal,
    documents,
    files,
    revisions,
    subjects,
    tenants,
)
from kycvault.services.catalog import load_catalog
from kycvault.services.context import Actor, AppContext
from kycvault.services.intake import UploadSession

router = APIRouter(route_class=CheckedRoute)


async def cynopsis_actor(request: Request, ctx: ContextDep, actor: ActorDep) -> Actor:
    await tenants.check_domain(ctx, actor, request.headers.get("x-domain-id"))
    return actor


Caller = Annotated[Actor, Depends(cynopsis_actor)]
# Artemis ids are int64; a larger number is a bad request, not a lookup.
Int64 = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _side(catalog: Catalog, doc: Document, side: str) -> StoredFile | None:
    """The file shown as ``side``: the one in the type's first role (front) or second (back)."""
    doc_type = catalog.get(doc.type)
    roles = doc_type.roles if doc_type else ()
    slot = SIDES.index(side)
    role = roles[slot] if slot < len(roles) else None
    return next((f for f in doc.files if role is not None and f.role == role), None)


@dataclass(frozen=True)
class _Customer:
    """What every answer about one customer needs, looked up once per request."""

    subject: Subject
    parent: Subject | None
    catalog: Catalog


async def _customer(ctx: AppContext, actor: Actor, number: int, scope: Scope) -> _Customer:
    """The customer, looked up for a use case that needs ``scope``."""
    subject = await subjects.get_subject_by_number(ctx, actor, number, scope=scope)
    parent = (
        await subjects.get_subject(ctx, actor, subject.parent_id, scope=scope)
        if subject.parent_id
        else None
    )
    return _Customer(subject, parent, await load_catalog(ctx, actor))


def _render(at: _Customer, doc: Document) -> CynopsisDocumentOut:
    customer, parent = at.subject, at.parent
    base = f"{PREFIX}/api/customer/{customer.number}/document/{doc.number}"
    front, back = _side(at.catalog, doc, "front"), _side(at.catalog, doc, "back")
    return CynopsisDocumentOut(
        id=doc.number,
        customerId=customer.number,
        parentCustomerId=parent.number if parent else None,
        type=ALIASES.of(at.catalog, doc.type) or DEFAULT_TYPE,
        number=doc.id_number,
        authenticity=doc.authenticity.value if doc.authenticity else None,
        issueDate=doc.issue_date,
        expiryDate=doc.expiry_date,
        showExpiryNotification=doc.notify_before_expiry,
        front=f"{base}/front" if front else None,
        frontName=front.filename if front else None,
        back=f"{base}/back" if back else None,
        backName=back.filename if back else None,
        particular=dict(customer.metadata),
        parentParticular=dict(parent.metadata) if parent else {},
        assignees=[],
        createdAt=Timestamp.of(doc.created_at),
        updatedAt=Timestamp.of(doc.updated_at),
        createdBy=user_info(doc.created_by),
        updatedBy=user_info(doc.updated_by),
    )


def narrow_limits(native: UploadLimits) -> UploadLimits:
    return dataclasses.replace(native, max_files=2, file_fields=frozenset(SIDES))


def _slots(parts: list[str], *, front_required: bool) -> list[int]:
    """The slot of each staged file, from its part's name (one front, at most one back)."""
    if parts.count("front") > 1 or parts.count("back") > 1:
        raise InvalidInput.field("front", "duplicate_file", "send one front and one back")
    if front_required and "front" not in parts:
        raise InvalidInput.field("front", "file_required", "the front image is required")
    return [SIDES.index(name) for name in parts]


@dataclass
class _Received:
    session: UploadSession | None  # None: the body held the document part only
    meta: CynopsisDocument
    type_name: str
    slots: list[int]
    payload: bytes  # what identifies the request for Idempotency-Key


@asynccontextmanager
async def _receive(
    request: Request, ctx: AppContext, actor: Actor, catalog: Catalog, *, creating: bool
) -> AsyncIterator[_Received]:
    """The multipart body: its files staged, the ``document`` part parsed, front/back placed.
    A new document needs its front; an update may send no image at all."""
    parts: list[str] = []
    limits = upload_limits(request)
    async with receive_upload(request, ctx, actor, limits, parts, require_files=creating) as (
        session,
        fields,
    ):
        meta = parse_document(fields)
        type_name = ALIASES.catalog_type(catalog, meta.type, field="document.type").name
        slots = _slots(parts, front_required=creating)
        payload = form_payload(fields, session.staged)
        yield _Received(session if session.staged else None, meta, type_name, slots, payload)


def _written(at: _Customer, doc: Document) -> Written:
    return Written(json_response(_render(at, doc)), doc.id)


def _form(*, creating: bool) -> dict[str, Any]:
    sides = {
        "document": standalone_schema(CynopsisDocument.model_json_schema()),
        "front": {**BINARY, "description": "the front (a passport's first page)"},
        "back": {**BINARY, "description": "the back (a passport's second page)"},
    }
    required = ["document", "front"] if creating else ["document"]
    encoding = {"document": {"contentType": "application/json"}}
    return body(form_content(sides, required, encoding))


@router.post(
    "/api/customer/{customerId}/document",
    response_model=CynopsisDocumentOut,
    openapi_extra=_form(creating=True),
)
async def append_document(
    customerId: Int64, request: Request, ctx: ContextDep, actor: Caller, once: Once
) -> Response:
    """A new document of the customer: the ``document`` JSON part and its ``front`` (and
    ``back``) image."""
    customer = await _customer(ctx, actor, customerId, Scope.DOCUMENTS_WRITE)
    async with _receive(request, ctx, actor, customer.catalog, creating=True) as received:
        assert received.session is not None  # a new document comes with its front
        session = received.session
        new_type = customer.catalog.get(received.type_name)
        roles = new_type.roles if new_type else ()

        async def write() -> Written:
            values = {
                **received.meta.values(),
                "type": received.type_name,
                "subject_id": customer.subject.id,
            }
            doc = await documents.create_document(
                ctx,
                actor,
                values,
                upload=session,
                roles=[roles[s] if s < len(roles) else None for s in received.slots],
            )
            return _written(customer, doc)

        return await once(actor, write, payload=received.payload)


async def _document(
    ctx: AppContext, actor: Actor, customer_number: int, number: int, scope: Scope
) -> tuple[_Customer, Document]:
    customer = await _customer(ctx, actor, customer_number, scope)
    doc = await documents.get_document_by_number(
        ctx, actor, number, subject_id=customer.subject.id, scope=scope
    )
    return customer, doc


@router.put(
    "/api/customer/{customerId}/document/{documentId}",
    response_model=CynopsisDocumentOut,
    openapi_extra=_form(creating=False),
)
async def update_document(
    customerId: Int64,
    documentId: Int64,
    request: Request,
    ctx: ContextDep,
    actor: Caller,
    once: Once,
) -> Response:
    """Replaces the metadata, and the sides it is sent (none, front, or both). A new type
    keeps the sides not sent, in its own roles (``revisions.revise_document``)."""
    customer, current = await _document(ctx, actor, customerId, documentId, Scope.DOCUMENTS_WRITE)
    async with _receive(request, ctx, actor, customer.catalog, creating=False) as received:

        async def write() -> Written:
            changes = {**received.meta.values(), "type": received.type_name}
            doc = await revisions.revise_document(
                ctx, actor, current.id, changes, received.session, slots=received.slots
            )
            return _written(customer, doc)

        return await once(actor, write, payload=received.payload)


@router.get("/api/customer/{customerId}/document", response_model=list[CynopsisDocumentOut])
async def list_documents(
    customerId: Int64, ctx: ContextDep, actor: Caller
) -> list[CynopsisDocumentOut]:
    """The customer's documents."""
    customer = await _customer(ctx, actor, customerId, Scope.DOCUMENTS_READ)
    listed = await document_listing.documents_of_subject(ctx, actor, customer.subject.id)
    return [_render(customer, doc) for doc in listed]


@router.get("/api/customer/{customerId}/document/{documentId}", response_model=CynopsisDocumentOut)
async def get_document(
    customerId: Int64, documentId: Int64, ctx: ContextDep, actor: Caller
) -> CynopsisDocumentOut:
    """The customer's document."""
    customer, doc = await _document(ctx, actor, customerId, documentId, Scope.DOCUMENTS_READ)
    return _render(customer, doc)


@router.delete(
    "/api/customer/{customerId}/document/{documentId}",
    response_class=Response,
    responses={200: {"description": "Deleted; no body."}},
)
async def delete_document(
    customerId: Int64, documentId: Int64, ctx: ContextDep, actor: Caller, once: Once
) -> Response:
    """Delete the customer's document and its images; answers 200 with no body, as Artemis does."""

    async def write() -> Written:
        _, doc = await _document(ctx, actor, customerId, documentId, Scope.DOCUMENTS_DELETE)
        await document_removal.delete_document(ctx, actor, doc.id)
        return Written(Response(status_code=200))

    return await once(actor, write)


@router.get(
    "/api/customer/{customerId}/document/{documentId}/{side}",
    response_class=Response,
    responses=FILE_RESPONSES,
)
async def get_side(
    customerId: Int64,
    documentId: Int64,
    side: Literal["front", "back"],
    request: Request,
    ctx: ContextDep,
    actor: Caller,
) -> Response:
    """The image behind ``front`` or ``back``."""
    customer, doc = await _document(ctx, actor, customerId, documentId, Scope.DOCUMENTS_DOWNLOAD)
    stored = _side(customer.catalog, doc, side)
    if stored is None:
        raise NotFound(f"the document has no {side} image", code="file_not_found")
    content = await files.open_content(ctx, actor, doc.id, stored.id)
    return await stream_response(request, content, "inline")
