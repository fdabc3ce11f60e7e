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
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kycvault.api.bodies import receive_upload
from kycvault.api.client_input import load_json
from kycvault.api.deps import ActorDep, VaultDep
from kycvault.api.file_serving import stream_response
from kycvault.api.multipart import UploadLimits
from kycvault.api.problems import ENVELOPES, validation_errors
from kycvault.api.routing import CheckedRoute
from kycvault.domain.catalog import Catalog
from kycvault.domain.models import Document, StoredFile, Subject
from kycvault.domain.types import Authenticity, FileRole
from kycvault.errors import FieldError, InvalidInput, NotFound
from kycvault.services import document_listing, documents, files, subjects, tenants
from kycvault.services.catalog import load_catalog
from kycvault.services.context import Actor, AppContext
from kycvault.services.intake import UploadSession

PREFIX = "/compat/cynopsis"
DIALECT = "cynopsis"
router = APIRouter(prefix=PREFIX, tags=["compat: Cynopsis"], route_class=CheckedRoute)


def _error(request: Request, status: int, code: str, detail: str, field_errors: Any) -> Response:
    body = {
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "status": status,
        "error": HTTPStatus(status).phrase,
        "message": detail,
        "path": request.url.path,
        "code": code,
    }
    return JSONResponse(body, status_code=status)


ENVELOPES[PREFIX] = _error


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
    issueDate: date | None = None
    expiryDate: date | None = None
    showExpiryNotification: bool = False

    @field_validator("issueDate", "expiryDate", mode="before")
    @classmethod
    def _date_part(cls, value: Any) -> Any:
        # Examples send "2020-01-01T00:00:00.000Z"; the document holds the calendar date.
        if isinstance(value, str) and "T" in value:
            return value.split("T", 1)[0]
        return value

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


class _Sides:
    """Which stored file is ``front`` and which ``back``: the type's two roles."""

    def __init__(self, roles: tuple[FileRole, ...]) -> None:
        self.front = roles[0] if roles else None
        self.back = roles[1] if len(roles) > 1 else None

    def role(self, side: str) -> FileRole | None:
        return self.front if side == "front" else self.back

    def find(self, doc: Document, side: str) -> StoredFile | None:
        role = self.role(side)
        return next((f for f in doc.files if role is not None and f.role == role), None)


def _sides(catalog: Catalog, type_name: str) -> _Sides:
    found = catalog.get(type_name)
    return _Sides(found.roles if found else ())


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
    found = at.catalog.get(doc.type)
    sides = _Sides(found.roles if found else ())
    base = f"{PREFIX}/api/customer/{customer.number}/document/{doc.number}"
    front, back = sides.find(doc, "front"), sides.find(doc, "back")
    return CynopsisDocumentOut(
        id=doc.number,
        customerId=customer.number,
        parentCustomerId=parent.number if parent else None,
        type=(found.aliases.get(DIALECT) if found else None) or "OTHERS",
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


def _limits(request: Request) -> UploadLimits:
    native: UploadLimits = request.app.state.upload_limits
    return dataclasses.replace(native, max_files=2, file_fields=frozenset({"front", "back"}))


def _placed(parts: list[str], sides: _Sides, *, front_required: bool) -> list[FileRole | None]:
    """The role of each staged file, from its part's name (one front, at most one back)."""
    if parts.count("front") > 1 or parts.count("back") > 1:
        raise InvalidInput.field("front", "duplicate_file", "send one front and one back")
    if front_required and "front" not in parts:
        raise InvalidInput.field("front", "file_required", "the front image is required")
    return [sides.role(name) for name in parts]


@dataclass
class _Received:
    session: UploadSession
    meta: CynopsisDocument
    type_name: str
    sides: _Sides
    parts: list[str]
    roles: list[FileRole | None]


@asynccontextmanager
async def _receive(
    request: Request, ctx: AppContext, actor: Actor, catalog: Catalog
) -> AsyncIterator[_Received]:
    """The multipart body: its files staged, the ``document`` part parsed, front/back placed."""
    parts: list[str] = []
    async with receive_upload(request, ctx, actor, _limits(request), parts) as (
        session,
        fields,
    ):
        meta = _parse_document(fields)
        type_name = _resolve(catalog, meta.type)
        sides = _sides(catalog, type_name)
        roles = _placed(parts, sides, front_required=True)
        yield _Received(session, meta, type_name, sides, parts, roles)


@router.post("/api/customer/{customerId}/document", response_model=CynopsisDocumentOut)
async def append_document(
    customerId: Int64, request: Request, ctx: VaultDep, actor: Caller
) -> CynopsisDocumentOut:
    customer = await _customer(ctx, actor, customerId)
    async with _receive(request, ctx, actor, customer.catalog) as got:
        doc = await documents.create_document(
            ctx,
            actor,
            {**got.meta.values(), "type": got.type_name, "subject_id": customer.subject.id},
            upload=got.session,
            roles=got.roles,
        )
    return _render(customer, doc)


def _resolve(catalog: Catalog, alias: str) -> str:
    found = catalog.by_alias(DIALECT, alias)
    if found is None:
        raise InvalidInput.field("document.type", "unknown_type", f"unknown type {alias}")
    return found.name


async def _document(
    ctx: AppContext, actor: Actor, customer_number: int, number: int
) -> tuple[_Customer, Document]:
    customer = await _customer(ctx, actor, customer_number)
    doc = await documents.get_document_by_number(ctx, actor, number, subject_id=customer.subject.id)
    return customer, doc


@router.put("/api/customer/{customerId}/document/{documentId}", response_model=CynopsisDocumentOut)
async def update_document(
    customerId: Int64, documentId: Int64, request: Request, ctx: VaultDep, actor: Caller
) -> CynopsisDocumentOut:
    """Replaces the metadata, and the sides it is sent (front is required, as upstream).
    The new images are added before the ones they replace are deleted."""
    customer, current = await _document(ctx, actor, customerId, documentId)
    async with _receive(request, ctx, actor, customer.catalog) as got:
        doc = await documents.update_document(
            ctx, actor, current.id, {**got.meta.values(), "type": got.type_name}
        )
        old = _sides(customer.catalog, current.type)
        replaced = [f for name in set(got.parts) if (f := old.find(current, name)) is not None]
        await files.add_files(ctx, actor, doc.id, got.session, roles=got.roles)
    for stored in replaced:
        await files.delete_file(ctx, actor, doc.id, stored.id)
    return _render(customer, await documents.get_document(ctx, actor, doc.id))


@router.get("/api/customer/{customerId}/document", response_model=list[CynopsisDocumentOut])
async def list_documents(
    customerId: Int64, ctx: VaultDep, actor: Caller
) -> list[CynopsisDocumentOut]:
    customer = await _customer(ctx, actor, customerId)
    found = await document_listing.documents_of_subject(ctx, actor, customer.subject.id)
    return [_render(customer, doc) for doc in found]


@router.get("/api/customer/{customerId}/document/{documentId}", response_model=CynopsisDocumentOut)
async def get_document(
    customerId: Int64, documentId: Int64, ctx: VaultDep, actor: Caller
) -> CynopsisDocumentOut:
    customer, doc = await _document(ctx, actor, customerId, documentId)
    return _render(customer, doc)


@router.delete("/api/customer/{customerId}/document/{documentId}")
async def delete_document(
    customerId: Int64, documentId: Int64, ctx: VaultDep, actor: Caller
) -> Response:
    _, doc = await _document(ctx, actor, customerId, documentId)
    await documents.delete_document(ctx, actor, doc.id)
    return Response(status_code=200)


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
    stored = _sides(customer.catalog, doc.type).find(doc, side)
    if stored is None:
        raise NotFound(f"the document has no {side} image", code="file_not_found")
    content = await files.open_content(ctx, actor, doc.id, stored.id)
    return await stream_response(request, content, "inline")
