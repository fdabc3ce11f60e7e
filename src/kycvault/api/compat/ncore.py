"""nCore (NymCard) user identifications and their files, under ``/compat/ncore``: wire format
only.

An identification is a document of the user's subject; ``user_id`` is the subject's id or
its ``external_id``. Files carry ``identification_document_type``, which is the file's role
(``PASSPORT_PAGE1`` → PAGE1, ``NATIONAL_ID_BACK`` → BACK, ``VISA`` → FRONT, ``NOT
APPLICABLE`` → none). nCore's error body is not public; ours is
``{"status", "error", "code", "message", "errors"}`` and stays stable.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time
from http import HTTPStatus
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from kycvault.api.bodies import parse_json, receive_upload
from kycvault.api.deps import VaultDep, counting_failures, credentials_from
from kycvault.api.file_serving import stream_response
from kycvault.api.multipart import UploadLimits, single_values
from kycvault.api.problems import ENVELOPES
from kycvault.api.routing import CheckedRoute
from kycvault.domain.catalog import Catalog
from kycvault.domain.listing import DocumentQuery, Sort
from kycvault.domain.models import Document, StoredFile, Subject
from kycvault.domain.types import FileRole, SubjectType
from kycvault.errors import FieldError, InvalidInput, NotFound
from kycvault.services import document_listing, documents, files, subjects, tenants
from kycvault.services.catalog import load_catalog
from kycvault.services.context import Actor, AppContext

PREFIX = "/compat/ncore"
DIALECT = "ncore"
router = APIRouter(prefix=PREFIX, tags=["compat: nCore"], route_class=CheckedRoute)

# The extensions nCore documents; the vault's own allow-list still applies on top.
EXTENSIONS = frozenset({"pdf", "jpg", "jpeg", "png", "bmp", "doc", "docx"})
NOT_APPLICABLE = "NOT_APPLICABLE"
# identification_type → its document types and the file role each stands for.
DOCUMENT_TYPES: dict[str, dict[str, FileRole | None]] = {
    "NATIONAL_ID": {"NATIONAL_ID_FRONT": FileRole.FRONT, "NATIONAL_ID_BACK": FileRole.BACK},
    "PASSPORT": {"PASSPORT_PAGE1": FileRole.PAGE1, "PASSPORT_PAGE2": FileRole.PAGE2},
    "VISA": {"VISA": FileRole.FRONT},
}
IdentificationType = Literal[
    "NATIONAL_ID",
    "PASSPORT",
    "VISA",
    "TRADE_LICENSE",
    "COMMERCIAL_LICENSE",
    "INCORPORATION_CERT",
    "INCUMBENCY_CERT",
    "MEMORANDUM_ARTICLES",
    "BANK_STATEMENT",
    "ADDITIONAL",
]


def _error(request: Request, status: int, code: str, detail: str, field_errors: Any) -> Response:
    body: dict[str, Any] = {
        "status": status,
        "error": HTTPStatus(status).phrase,
        "code": code,
        "message": detail,
    }
    if field_errors:
        body["errors"] = [
            {"field": e.field, "code": e.code, "message": e.message} for e in field_errors
        ]
    return JSONResponse(body, status_code=status)


ENVELOPES[PREFIX] = _error


async def _check_key(request: Request, ctx: AppContext, apikey: str | None) -> Actor:
    key_id, secret = (
        tenants.split_api_key(apikey)
        if apikey
        else credentials_from(request.headers.get("authorization"))
    )
    return await tenants.authenticate(
        ctx, key_id=key_id, secret=secret, request_id=request.state.request_id
    )


async def ncore_actor(request: Request, ctx: VaultDep) -> Actor:
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


def _date(value: Any) -> Any:
    # nCore sends date-times ("2021-09-20T10:10:40.182Z"); the document keeps the date.
    if isinstance(value, str) and "T" in value:
        return value.split("T", 1)[0]
    return value


class IdentificationPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: IdentificationType | None = None
    number: str | None = Field(default=None, max_length=64)
    expiration_date: date | None = None
    issue_date: date | None = None
    issuing_country: str | None = Field(default=None, max_length=3)
    issuance_authority: str | None = Field(default=None, max_length=200)

    _dates = field_validator("expiration_date", "issue_date", mode="before")(_date)


class IdentificationIn(IdentificationPatch):
    type: IdentificationType


def _values(
    body: IdentificationIn | IdentificationPatch, current: Document | None
) -> dict[str, Any]:
    given = body.model_dump(exclude_unset=True)
    values: dict[str, Any] = {}
    renames = {
        "number": "id_number",
        "expiration_date": "expiry_date",
        "issue_date": "issue_date",
        "issuing_country": "issuing_country",
    }
    for theirs, ours in renames.items():
        if theirs in given:
            values[ours] = given[theirs]
    if "issuance_authority" in given:
        metadata = dict(current.metadata) if current else {}
        metadata["issuance_authority"] = given["issuance_authority"]
        values["metadata"] = metadata
    return values


class FileOut(BaseModel):
    id: UUID
    identification_id: UUID
    identification_type: str
    identification_document_type: str
    file_name: str | None
    content_type: str
    size: int
    sha256: str
    created_date: datetime


class IdentificationOut(BaseModel):
    id: UUID
    user_id: str
    user_type: str
    type: str
    number: str | None
    expiration_date: datetime | None
    issue_date: date | None
    issuing_country: str | None
    issuance_authority: str | None
    created_date: datetime
    updated_date: datetime
    files: list[FileOut]


class IdentificationPage(BaseModel):
    data: list[IdentificationOut]
    page: int
    page_size: int
    total_count: int
    total_pages: int


def _document_type(kind: str, role: FileRole | None) -> str:
    for name, mapped in DOCUMENT_TYPES.get(kind, {}).items():
        if mapped == role:
            return name
    return NOT_APPLICABLE


def _kind(catalog: Catalog, doc: Document) -> str:
    found = catalog.get(doc.type)
    return (found.aliases.get(DIALECT) if found else None) or "ADDITIONAL"


def _file(kind: str, stored: StoredFile) -> FileOut:
    return FileOut(
        id=stored.id,
        identification_id=stored.document_id,
        identification_type=kind,
        identification_document_type=_document_type(kind, stored.role),
        file_name=stored.filename,
        content_type=stored.content_type,
        size=stored.size,
        sha256=stored.sha256,
        created_date=stored.created_at,
    )


_MEMBER_TYPES = ("DIRECTOR", "SIGNATURE", "SHAREHOLDER")


def user_type(user: Subject) -> str:
    """nCore's user type of a subject: the type and whether it belongs to a company; a
    member's role (director, signatory, shareholder) comes from ``metadata.ncore_user_type``."""
    if user.type is SubjectType.COMPANY:
        return "SHAREHOLDER_BUSINESS" if user.parent_id else "BUSINESS"
    if user.parent_id is None:
        return "INDIVIDUAL"
    role = str(user.metadata.get("ncore_user_type", "")).upper()
    return role if role in _MEMBER_TYPES else "DIRECTOR"


def _render(catalog: Catalog, user_id: str, user: Subject, doc: Document) -> IdentificationOut:
    kind = _kind(catalog, doc)
    expiry = datetime.combine(doc.expiry_date, time(), UTC) if doc.expiry_date else None
    authority = doc.metadata.get("issuance_authority")
    return IdentificationOut(
        id=doc.id,
        user_id=user_id,
        user_type=user_type(user),
        type=kind,
        number=doc.id_number,
        expiration_date=expiry,
        issue_date=doc.issue_date,
        issuing_country=doc.issuing_country,
        issuance_authority=authority if isinstance(authority, str) else None,
        created_date=doc.created_at,
        updated_date=doc.updated_at,
        files=[_file(kind, f) for f in doc.files],
    )


def _type_name(catalog: Catalog, kind: str) -> str:
    found = catalog.by_alias(DIALECT, kind)
    if found is None:  # every IdentificationType has an alias; a custom catalog may not
        raise InvalidInput.field("type", "unknown_type", f"unknown identification type {kind}")
    return found.name


async def _identification(
    ctx: AppContext, actor: Actor, user_id: str, identification_id: str
) -> tuple[Subject, Document]:
    user = await subjects.find_subject(ctx, actor, user_id)
    try:
        doc_id = UUID(identification_id)
    except ValueError:
        raise documents.document_not_found() from None
    doc = await documents.get_document(ctx, actor, doc_id)
    if doc.subject_id != user.id:
        raise documents.document_not_found()
    return user, doc


@router.post("/users/{user_id}/identifications", status_code=201)
async def create_identification(
    user_id: str, request: Request, ctx: VaultDep, actor: Caller
) -> IdentificationOut:
    body = await parse_json(request, IdentificationIn)
    user = await subjects.find_subject(ctx, actor, user_id)
    catalog = await load_catalog(ctx, actor)
    values = {
        **_values(body, None),
        "type": _type_name(catalog, body.type),
        "subject_id": user.id,
    }
    doc = await documents.create_document(ctx, actor, values)
    return _render(catalog, user_id, user, doc)


_SORTS = {
    "created_date": Sort.CREATED,
    "-created_date": Sort.CREATED_DESC,
    "expiration_date": Sort.EXPIRY,
    "-expiration_date": Sort.EXPIRY_DESC,
}


@router.get("/users/{user_id}/identifications")
async def list_identifications(
    user_id: str,
    ctx: VaultDep,
    actor: Caller,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
    sort: Literal["created_date", "-created_date", "expiration_date", "-expiration_date"] = (
        "-created_date"
    ),
) -> IdentificationPage:
    user = await subjects.find_subject(ctx, actor, user_id)
    query = DocumentQuery(subject_id=user.id, sort=_SORTS[sort])
    found = await document_listing.number_documents(
        ctx, actor, query, page=page, per_page=page_size
    )
    catalog = await load_catalog(ctx, actor)
    return IdentificationPage(
        data=[_render(catalog, user_id, user, doc) for doc in found.items],
        page=found.page,
        page_size=found.per_page,
        total_count=found.total_count,
        total_pages=found.total_pages,
    )


@router.get("/users/{user_id}/identifications/{identification_id}")
async def get_identification(
    user_id: str, identification_id: str, ctx: VaultDep, actor: Caller
) -> IdentificationOut:
    user, doc = await _identification(ctx, actor, user_id, identification_id)
    return _render(await load_catalog(ctx, actor), user_id, user, doc)


@router.put("/users/{user_id}/identifications/{identification_id}")
async def update_identification(
    user_id: str, identification_id: str, request: Request, ctx: VaultDep, actor: Caller
) -> IdentificationOut:
    body = await parse_json(request, IdentificationPatch)
    user, current = await _identification(ctx, actor, user_id, identification_id)
    catalog = await load_catalog(ctx, actor)
    changes = _values(body, current)
    if body.type is not None:
        changes["type"] = _type_name(catalog, body.type)
    doc = await documents.update_document(ctx, actor, current.id, changes)
    return _render(catalog, user_id, user, doc)


def _limits(request: Request) -> UploadLimits:
    native: UploadLimits = request.app.state.upload_limits
    return dataclasses.replace(native, file_fields=frozenset({"file", "files"}))


def _roles(kind: str, fields: dict[str, list[str]], count: int) -> list[FileRole | None]:
    """Each file's role from ``identification_document_type`` (one per file, or one for a
    single file), checked against the identification's type, as nCore pairs them."""
    values = single_values(fields, frozenset({"identification_document_type"}))
    sent_kind = values.get("identification_type")
    if sent_kind is not None and sent_kind != kind:
        raise InvalidInput.field(
            "identification_type",
            "identification_type_mismatch",
            f"the identification is a {kind}, not a {sent_kind}",
        )
    named: list[str] = values.get("identification_document_type", [])
    allowed = DOCUMENT_TYPES.get(kind, {})
    if not named:
        if allowed:
            raise InvalidInput.field(
                "identification_document_type",
                "required",
                f"one of {', '.join(allowed)} for each {kind} file",
            )
        return [None] * count
    if len(named) != count:
        raise InvalidInput.field(
            "identification_document_type", "count_mismatch", "send one per file"
        )
    roles: list[FileRole | None] = []
    for index, name in enumerate(named):
        normal = name.strip().upper().replace(" ", "_")
        if normal == NOT_APPLICABLE and not allowed:
            roles.append(None)
        elif normal in allowed:
            roles.append(allowed[normal])
        else:
            expected = ", ".join(allowed) or NOT_APPLICABLE.replace("_", " ")
            raise InvalidInput(
                f"identification_document_type: {name} does not go with {kind} "
                f"(expected {expected})",
                code="document_type_mismatch",
                errors=[
                    FieldError(
                        f"identification_document_type.{index}",
                        "document_type_mismatch",
                        f"expected {expected}",
                    )
                ],
            )
    return roles


@router.put("/users/{user_id}/identifications/{identification_id}/files")
async def upload_files(
    user_id: str, identification_id: str, request: Request, ctx: VaultDep, actor: Caller
) -> IdentificationOut:
    """One file or up to five (``file`` or ``files`` parts), each with its
    ``identification_document_type``."""
    user, doc = await _identification(ctx, actor, user_id, identification_id)
    catalog = await load_catalog(ctx, actor)
    kind = _kind(catalog, doc)
    async with receive_upload(
        request, ctx, actor, _limits(request), allowed_extensions=EXTENSIONS
    ) as (session, fields):
        roles = _roles(kind, fields, len(session.staged))
        await files.add_files(ctx, actor, doc.id, session, roles=roles)
    fresh = await documents.get_document(ctx, actor, doc.id)
    return _render(catalog, user_id, user, fresh)


def _file_ref(ref: str) -> tuple[UUID, str | None]:
    """``<file id>``, ``<file id>:browse`` or ``<file id>:download`` (a colon verb)."""
    file_id, _, verb = ref.partition(":")
    try:
        return UUID(file_id), verb or None
    except ValueError:
        raise files.file_not_found() from None


@router.get("/users/{user_id}/identifications/{identification_id}/files/{file_ref}")
async def get_file(
    user_id: str,
    identification_id: str,
    file_ref: str,
    request: Request,
    ctx: VaultDep,
    actor: Caller,
) -> Response:
    """File metadata; ``:browse`` shows the file inline, ``:download`` as an attachment."""
    _, doc = await _identification(ctx, actor, user_id, identification_id)
    file_id, verb = _file_ref(file_ref)
    if verb is None:
        stored = await files.get_file(ctx, actor, doc.id, file_id)
        out = _file(_kind(await load_catalog(ctx, actor), doc), stored)
        return Response(out.model_dump_json(), media_type="application/json")
    if verb not in ("browse", "download"):
        raise NotFound(f"no such action :{verb}", code="not_found")
    content = await files.open_content(ctx, actor, doc.id, file_id)
    return await stream_response(request, content, "inline" if verb == "browse" else "attachment")


@router.delete(
    "/users/{user_id}/identifications/{identification_id}/files/{file_id}", status_code=204
)
async def delete_file(
    user_id: str, identification_id: str, file_id: str, ctx: VaultDep, actor: Caller
) -> Response:
    _, doc = await _identification(ctx, actor, user_id, identification_id)
    target, verb = _file_ref(file_id)
    if verb is not None:
        raise NotFound("no such file", code="file_not_found")
    await files.delete_file(ctx, actor, doc.id, target)
    return Response(status_code=204)
