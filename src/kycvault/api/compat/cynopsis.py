"""Cynopsis Artemis customer documents, under ``/compat/cynopsis``: wire format only.

``customerId`` and ``documentId`` are the per-tenant integer numbers of a subject and a
document. ``front`` and ``back`` are the document type's two file roles (FRONT/BACK for
cards, PAGE1/PAGE2 for a passport). ``X-Domain-ID`` must be the key's tenant's domain id.
Errors use Spring Boot's body (``timestamp, status, error, message, path``) plus our
stable ``code``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from http import HTTPStatus
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kycvault.api.bodies import receive_upload
from kycvault.api.client_input import load_json
from kycvault.api.compat.shared import CalendarDate
from kycvault.api.deps import ActorDep, VaultDep
from kycvault.api.dialects import HONOURED, Aliases, Dialect, upload_limits
from kycvault.api.file_serving import stream_response
from kycvault.api.idempotency import Once, Written, form_payload, json_response
from kycvault.api.multipart import UploadLimits
from kycvault.api.problems import Fault, validation_errors
from kycvault.api.routing import CheckedRoute
from kycvault.domain.catalog import Catalog
from kycvault.domain.models import Document, StoredFile, Subject
from kycvault.domain.types import Authenticity
from kycvault.errors import FieldError, InvalidInput, NotFound
from kycvault.services import document_listing, documents, files, subjects, tenants
from kycvault.services.catalog import load_catalog
from kycvault.services.context import Actor, AppContext
from kycvault.services.intake import UploadSession

PREFIX = "/compat/cynopsis"
ALIASES = Aliases("cynopsis")
DEFAULT_TYPE = "OTHERS"
router = APIRouter(route_class=CheckedRoute)


def error_response(request: Request, fault: Fault) -> Response:
    body = {
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "status": fault.status,
        "error": HTTPStatus(fault.status).phrase,
        "message": fault.detail,
        "path": request.url.path,
        "code": fault.code,
    }
    return JSONResponse(body, status_code=fault.status)


async def cynopsis_actor(request: Request, ctx: VaultDep, actor: ActorDep) -> Actor:
    await tenants.check_domain(ctx, actor, request.headers.get("x-domain-id"))
    return actor


Caller = Annotated[Actor, Depends(cynopsis_actor)]
# Artemis ids are int64; a larger number is a bad request, not a lookup.
Int64 = Annotated[int, Path(ge=1, le=2**63 - 1)]
DocType = Literal["NATIONAL_ID", "PASSPORT", "DRIVING_LICENSE", "OTHERS"]


class CynopsisDocument(BaseModel):
    """The ``document`` JSON part."""

    model_config = ConfigDict(extra="ignore")

    type: DocType
    number: str | None = Field(default=None, max_length=64)
    authenticity: Authenticity | None = None
    issueDate: CalendarDate = None
    expiryDate: CalendarDate = None
    showExpiryNotification: bool = False

    def values(self) -> dict[str, Any]:
        return {
            "id_number": self.number,
            "authenticity": self.authenticity,
            "issue_date": self.issueDate,
            "expiry_date": self.expiryDate,
            "notify_before_expiry": self.showExpiryNotification,
        }


def _parse_document(fields: dict[str, list[str]]) -> CynopsisDocument:
    raw = fields.get("document")
    if not raw:
        raise InvalidInput.field("document", "required", "send the document JSON part")
    try:
        return CynopsisDocument.model_validate(
            load_json(raw[-1], field="document", syntax_code="invalid_document")
        )
    except ValidationError as exc:
        listed = [
            FieldError(f"document.{e.field}", e.code, e.message) for e in validation_errors(exc)
        ]
        detail = "; ".join(f"{e.field}: {e.message}" for e in listed[:5])
        raise InvalidInput(detail, code="invalid_document", errors=listed) from None


class UserInfo(BaseModel):
    id: int | None
    email: str | None
    firstName: str | None
    lastName: str | None
    fullName: str | None


def _user(key_id: str | None) -> UserInfo | None:
    if key_id is None:
        return None
    return UserInfo(id=None, email=None, firstName=None, lastName=None, fullName=key_id)


class Timestamp(BaseModel):
    """``java.sql.Timestamp`` as Jackson writes it (UTC: ``timezoneOffset`` 0)."""

    date: int
    day: int
    hours: int
    minutes: int
    month: int
    nanos: int
    seconds: int
    time: int
    timezoneOffset: int
    year: int

    @classmethod
    def of(cls, at: datetime) -> Timestamp:
        at = at.astimezone(UTC)
        return cls(
            date=at.day,
            day=(at.weekday() + 1) % 7,  # Sunday is 0
            hours=at.hour,
            minutes=at.minute,
            month=at.month - 1,
            nanos=at.microsecond * 1000,
            seconds=at.second,
            time=int(at.timestamp() * 1000),
            timezoneOffset=0,
            year=at.year - 1900,
        )


class CynopsisDocumentOut(BaseModel):
    id: int
    customerId: int
    parentCustomerId: int | None
    type: str
    number: str | None
    authenticity: str | None
    issueDate: date | None
    expiryDate: date | None
    showExpiryNotification: bool
    front: str | None
    frontName: str | None
    back: str | None
    backName: str | None
    particular: dict[str, Any]
    parentParticular: dict[str, Any]
    assignees: list[UserInfo]
    createdAt: Timestamp
    updatedAt: Timestamp
    createdBy: UserInfo | None
    updatedBy: UserInfo | None


SIDES = ("front", "back")  # the slots of the type's role list (``files.revise_document``)


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


async def _customer(ctx: AppContext, actor: Actor, number: int) -> _Customer:
    subject = await subjects.get_subject_by_number(ctx, actor, number)
    parent = (
        await subjects.get_subject(ctx, actor, subject.parent_id) if subject.parent_id else None
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
        createdBy=_user(doc.created_by),
        updatedBy=_user(doc.updated_by),
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


# A body this small holds no images worth streaming: it is read whole first, so that one
# without image parts (an update of the metadata only) can be read again as a plain form.
_SMALL_BODY = 64 * 1024


def _small(request: Request) -> bool:
    length = request.headers.get("content-length", "")
    return length.isdigit() and int(length) <= _SMALL_BODY


@asynccontextmanager
async def _receive(
    request: Request, ctx: AppContext, actor: Actor, catalog: Catalog, *, creating: bool
) -> AsyncIterator[_Received]:
    """The multipart body: its files staged, the ``document`` part parsed, front/back placed.
    A new document needs its front; an update may send no image at all."""
    parts: list[str] = []
    limits = upload_limits(request)
    buffered = not creating and _small(request)
    if buffered:
        await request.body()  # kept by the request: ``stream()`` replays it
    answered = False
    try:
        async with receive_upload(request, ctx, actor, limits, parts) as (session, fields):
            meta = _parse_document(fields)
            type_name = ALIASES.catalog_type(catalog, meta.type, field="document.type").name
            slots = _slots(parts, front_required=creating)
            answered = True
            yield _Received(session, meta, type_name, slots, form_payload(fields, session.staged))
            return
    except InvalidInput as exc:
        if answered or not buffered or exc.code != "file_required":
            raise
    form = await request.form()
    fields = {name: [v for v in form.getlist(name) if isinstance(v, str)] for name in form}
    meta = _parse_document(fields)
    type_name = ALIASES.catalog_type(catalog, meta.type, field="document.type").name
    yield _Received(None, meta, type_name, [], form_payload(fields, []))


def _written(at: _Customer, doc: Document) -> Written:
    return Written(json_response(_render(at, doc)), doc.id)


@router.post("/api/customer/{customerId}/document", response_model=CynopsisDocumentOut)
async def append_document(
    customerId: Int64, request: Request, ctx: VaultDep, actor: Caller, once: Once
) -> Response:
    customer = await _customer(ctx, actor, customerId)
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
    ctx: AppContext, actor: Actor, customer_number: int, number: int
) -> tuple[_Customer, Document]:
    customer = await _customer(ctx, actor, customer_number)
    doc = await documents.get_document_by_number(ctx, actor, number, subject_id=customer.subject.id)
    return customer, doc


@router.put("/api/customer/{customerId}/document/{documentId}", response_model=CynopsisDocumentOut)
async def update_document(
    customerId: Int64, documentId: Int64, request: Request, ctx: VaultDep, actor: Caller, once: Once
) -> Response:
    """Replaces the metadata, and the sides it is sent (none, front, or both). A new type
    keeps the sides not sent, in its own roles (``files.revise_document``)."""
    customer, current = await _document(ctx, actor, customerId, documentId)
    async with _receive(request, ctx, actor, customer.catalog, creating=False) as received:

        async def write() -> Written:
            changes = {**received.meta.values(), "type": received.type_name}
            doc = await files.revise_document(
                ctx, actor, current.id, changes, received.session, slots=received.slots
            )
            return _written(customer, doc)

        return await once(actor, write, payload=received.payload)


@router.get("/api/customer/{customerId}/document", response_model=list[CynopsisDocumentOut])
async def list_documents(
    customerId: Int64, ctx: VaultDep, actor: Caller
) -> list[CynopsisDocumentOut]:
    customer = await _customer(ctx, actor, customerId)
    listed = await document_listing.documents_of_subject(ctx, actor, customer.subject.id)
    return [_render(customer, doc) for doc in listed]


@router.get("/api/customer/{customerId}/document/{documentId}", response_model=CynopsisDocumentOut)
async def get_document(
    customerId: Int64, documentId: Int64, ctx: VaultDep, actor: Caller
) -> CynopsisDocumentOut:
    customer, doc = await _document(ctx, actor, customerId, documentId)
    return _render(customer, doc)


@router.delete("/api/customer/{customerId}/document/{documentId}")
async def delete_document(
    customerId: Int64, documentId: Int64, ctx: VaultDep, actor: Caller, once: Once
) -> Response:
    async def write() -> Written:
        _, doc = await _document(ctx, actor, customerId, documentId)
        await documents.delete_document(ctx, actor, doc.id)
        return Written(Response(status_code=200))

    return await once(actor, write)


@router.get("/api/customer/{customerId}/document/{documentId}/{side}")
async def get_side(
    customerId: Int64,
    documentId: Int64,
    side: Literal["front", "back"],
    request: Request,
    ctx: VaultDep,
    actor: Caller,
) -> Response:
    """The image behind ``front`` or ``back``."""
    customer, doc = await _document(ctx, actor, customerId, documentId)
    stored = _side(customer.catalog, doc, side)
    if stored is None:
        raise NotFound(f"the document has no {side} image", code="file_not_found")
    content = await files.open_content(ctx, actor, doc.id, stored.id)
    return await stream_response(request, content, "inline")


DIALECT = Dialect(
    title="Cynopsis",
    prefix=PREFIX,
    aliases=ALIASES,
    router=router,
    envelope=error_response,
    auth="The native Bearer or Basic credentials, with `X-Domain-ID` naming the key's tenant.",
    idempotency=HONOURED,
    upload_limits=narrow_limits,
)
