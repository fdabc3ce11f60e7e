"""Sila's documents API, under ``/compat/sila`` (paths ``/0.2/...``): wire format only.

A Sila document is a document of the user's subject with one file: ``document_id`` is the
document's id, ``filename`` its file's name without the extension, ``hash`` the file's
SHA-256. Every call is a POST of a JSON message whose ``header`` names the app and the user
and is signed as ``services/sila_auth.py`` describes; for an upload the message is the
multipart ``data`` field, which must come before the file parts (Sila's SDKs send it first).
The SDKs' own quirks are accepted: no JSON ``Content-Type`` on the messages, query strings
that start with ``?&``. Errors are Sila's ``{success: false, status: "FAILURE", message,
validation_details}`` plus our stable ``code``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, date
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from kycvault.api.deps import VaultDep, credentials_from
from kycvault.api.forms import receive_upload_signed_in_form
from kycvault.api.problems import ENVELOPES
from kycvault.api.responses import stream_response
from kycvault.api.uploads import UploadLimits
from kycvault.domain.catalog import Catalog, DocumentType
from kycvault.domain.filenames import stem_of
from kycvault.domain.listing import DocumentQuery, Sort
from kycvault.domain.media import extension_for
from kycvault.domain.models import Document, Subject
from kycvault.errors import (
    FieldError,
    InvalidInput,
    UnknownDocumentType,
    UnsupportedMediaType,
)
from kycvault.services import document_listing, documents, files, sila_auth
from kycvault.services.catalog import load_catalog
from kycvault.services.context import Actor, Vault
from kycvault.services.document_listing import NumberedPage
from kycvault.services.documents import NewDocument
from kycvault.services.sila_auth import SignedRequest, SilaUser

PREFIX = "/compat/sila"
DIALECT = "sila"
M = TypeVar("M", bound=BaseModel)
MiB = 1024 * 1024
# Sila documents a 20 MB request limit; the native limits apply beneath it.
MAX_REQUEST = 20 * MiB
DEFAULT_TYPE = "other_doc"
# Sila's identity_type of each of its document types; the ones not named are "other".
IDENTITY_TYPES = {
    "id_drivers_license": "license",
    "id_drivers_permit": "license",
    "id_passport": "passport",
    "id_passport_card": "passport",
    "doc_lease": "contract",
    "doc_mortgage": "contract",
    "doc_utility": "utility",
}
_FILE_PART = re.compile(r"^file_[1-9][0-9]{0,2}$")
# The empty messages the SDKs fetch from /getmessage when they start (they keep their own
# copies of the document messages, and read only "message" back).
_EMPTY_MESSAGES = {
    "header": "header_msg",
    "entity": "entity_msg",
    "identity": "identity_msg",
    "crypto": "crypto_msg",
    "linkAccount": "link_account_msg",
}
_EMPTY_HEADER = {
    "created": 1234567890,
    "app_handle": "handle.silamoney.eth",
    "user_handle": "user.silamoney.eth",
    "version": "0.2",
    "crypto": "ETH",
    "reference": "<your unique id>",
}


async def _started(request: Request) -> None:
    request.state.sila_started = time.perf_counter()


router = APIRouter(prefix=f"{PREFIX}/0.2", tags=["compat: Sila"], dependencies=[Depends(_started)])


def _elapsed_ms(request: Request) -> str:
    started = getattr(request.state, "sila_started", None)
    return str(round((time.perf_counter() - started) * 1000)) if started else "0"


def _envelope(request: Request, **values: Any) -> dict[str, Any]:
    return {
        "success": True,
        "status": "SUCCESS",
        **values,
        "reference": getattr(request.state, "sila_reference", None),
        "response_time_ms": _elapsed_ms(request),
    }


def _error(request: Request, status: int, code: str, detail: str, field_errors: Any) -> Response:
    body = {
        "success": False,
        "status": "FAILURE",
        "message": detail,
        "validation_details": {e.field: e.message for e in field_errors},
        "code": code,
        "reference": getattr(request.state, "sila_reference", None),
        "response_time_ms": _elapsed_ms(request),
    }
    return JSONResponse(body, status_code=status)


ENVELOPES[PREFIX] = _error


class Header(BaseModel):
    model_config = ConfigDict(extra="ignore")

    created: int | None = None
    app_handle: str | None = Field(default=None, max_length=100)
    auth_handle: str | None = Field(default=None, max_length=100)
    user_handle: str | None = Field(default=None, max_length=255)
    version: str | None = Field(default=None, max_length=20)
    crypto: str | None = Field(default=None, max_length=20)
    reference: str | None = Field(default=None, max_length=255)


class SilaMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    header: Header
    message: str | None = Field(default=None, max_length=100)


class ListDocumentsMessage(SilaMessage):
    start_date: date | None = None
    end_date: date | None = None
    doc_types: list[Annotated[str, Field(max_length=64)]] | None = Field(
        default=None, max_length=50
    )
    search: str | None = Field(default=None, max_length=200)
    sort_by: Literal["name", "date"] | None = None


class GetDocumentMessage(SilaMessage):
    document_id: str = Field(max_length=64)


class FileMetadata(BaseModel):
    model_config = ConfigDict(extra="ignore")

    filename: str = Field(min_length=1, max_length=200)
    hash: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    mime_type: str = Field(max_length=100)
    document_type: str = Field(max_length=64)
    identity_type: str | None = Field(default=None, max_length=20)
    name: str | None = Field(default=None, max_length=255)
    description: str | None = Field(default=None, max_length=1000)


class UploadMessage(SilaMessage):
    """The ``data`` field: one file's metadata at the top (part ``file``), or one entry per
    part in ``file_metadata`` (parts ``file_1`` … ``file_n``)."""

    filename: str | None = None
    hash: str | None = None
    mime_type: str | None = None
    document_type: str | None = None
    identity_type: str | None = None
    name: str | None = None
    description: str | None = None
    file_metadata: dict[str, FileMetadata] | None = Field(default=None, max_length=100)

    def per_part(self) -> dict[str, FileMetadata]:
        if self.file_metadata:
            return self.file_metadata
        top = self.model_dump(include=set(FileMetadata.model_fields), exclude_none=True)
        return {"file": FileMetadata.model_validate(top)}


def _reference_of(raw: bytes | str) -> str | None:
    """The header's reference of a message that may not validate, to echo it in the error."""
    try:
        reference = json.loads(raw).get("header", {}).get("reference")
    except (ValueError, AttributeError):
        return None
    return reference if isinstance(reference, str) else None


def _parse(request: Request, raw: bytes | str, model: type[M]) -> M:
    request.state.sila_reference = _reference_of(raw)
    return model.model_validate_json(raw)


def _signed(request: Request, body: bytes, header: Header) -> SignedRequest:
    authorization = request.headers.get("authorization")
    return SignedRequest(
        body=body,
        app_handle=header.app_handle or header.auth_handle,
        user_handle=header.user_handle,
        created=header.created,
        auth_signature=request.headers.get("authsignature"),
        user_signature=request.headers.get("usersignature"),
        api_key=credentials_from(authorization) if authorization else None,
    )


async def _app_caller(request: Request, vault: Vault, body: bytes, header: Header) -> Actor:
    actor = await sila_auth.authenticate_app(
        vault, _signed(request, body, header), request_id=request.state.request_id
    )
    request.state.key_id = actor.key_id
    return actor


async def _user_caller(request: Request, vault: Vault, body: bytes, header: Header) -> SilaUser:
    caller = await sila_auth.authenticate_user(
        vault, _signed(request, body, header), request_id=request.state.request_id
    )
    request.state.key_id = caller.actor.key_id
    return caller


def _pagination(found: NumberedPage[Any]) -> dict[str, int]:
    return {
        "returned_count": len(found.items),
        "total_count": found.total_count,
        "current_page": found.page,
        "total_pages": found.total_pages,
    }


def _sila_type(catalog: Catalog, doc: Document) -> str:
    found = catalog.get(doc.type)
    return (found.alias(DIALECT) if found else None) or DEFAULT_TYPE


def _render(catalog: Catalog, user: Subject, doc: Document) -> dict[str, Any]:
    stored = doc.files[0]
    filename = stem_of(stored.filename) if stored.filename else str(stored.id)
    return {
        "user_handle": user.external_id,
        "document_id": str(doc.id),
        "name": doc.name or filename,
        "filename": filename,
        "hash": stored.sha256,
        "type": _sila_type(catalog, doc),
        "size": str(stored.size),
        "created": doc.created_at.astimezone(UTC)
        .replace(tzinfo=None)
        .isoformat(timespec="microseconds"),
    }


def _resolve(catalog: Catalog, name: str, field_name: str) -> DocumentType:
    found = catalog.by_alias(DIALECT, name)
    if found is None:
        raise UnknownDocumentType(name, field=field_name)
    return found


@router.get("/getmessage")
async def get_message(
    emptymessage: Annotated[str, Query(max_length=100)],
) -> dict[str, Any]:
    """The empty message the SDKs fetch when they start (no signature needed)."""
    name = _EMPTY_MESSAGES.get(emptymessage.removesuffix("TestMessage"))
    if name is None:
        raise InvalidInput.field("emptymessage", "unknown_message", "no such message")
    return {"header": dict(_EMPTY_HEADER), "message": name}


@router.post("/document_types")
async def document_types(
    request: Request,
    vault: VaultDep,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> JSONResponse:
    """The document types Sila names, with their labels and identity types (app signature
    only)."""
    body = await request.body()
    message = _parse(request, body, SilaMessage)
    actor = await _app_caller(request, vault, body, message.header)
    catalog = await load_catalog(vault, actor)
    known = [t for t in catalog if t.alias(DIALECT)]
    start = (page - 1) * per_page
    found = NumberedPage(known[start : start + per_page], page, per_page, len(known))
    types = [
        {"name": name, "label": t.label, "identity_type": IDENTITY_TYPES.get(name, "other")}
        for t in found.items
        if (name := t.alias(DIALECT))
    ]
    return JSONResponse(
        _envelope(
            request,
            message="Document type details returned.",
            document_types=types,
            pagination=_pagination(found),
        )
    )


@router.post("/list_documents")
async def list_documents(
    request: Request,
    vault: VaultDep,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Literal["asc", "desc"] = "asc",
) -> JSONResponse:
    body = await request.body()
    message = _parse(request, body, ListDocumentsMessage)
    caller = await _user_caller(request, vault, body, message.header)
    catalog = await load_catalog(vault, caller.actor)
    types = tuple(_resolve(catalog, t, "doc_types").name for t in message.doc_types or ())
    ascending = order == "asc"
    if message.sort_by == "name":
        sort = Sort.NAME if ascending else Sort.NAME_DESC
    else:  # by date, Sila's default
        sort = Sort.CREATED if ascending else Sort.CREATED_DESC
    query = DocumentQuery(
        subject_id=caller.user.id,
        types=types,
        created_from=message.start_date,
        created_to=message.end_date,
        search=message.search,
        has_files=True,  # a Sila document is a file
        sort=sort,
    )
    found = await document_listing.number_documents(
        vault, caller.actor, query, page=page, per_page=per_page
    )
    return JSONResponse(
        _envelope(
            request,
            documents=[_render(catalog, caller.user, doc) for doc in found.items],
            pagination=_pagination(found),
        )
    )


@router.post("/get_document")
async def get_document(request: Request, vault: VaultDep) -> Response:
    """The document's file: its bytes, with Content-Type and Content-Disposition."""
    body = await request.body()
    message = _parse(request, body, GetDocumentMessage)
    caller = await _user_caller(request, vault, body, message.header)
    try:
        doc_id = UUID(message.document_id)
    except ValueError:
        raise InvalidInput.field("document_id", "invalid_id", "not a document id") from None
    doc = await documents.get_document(vault, caller.actor, doc_id)
    if doc.subject_id != caller.user.id:
        raise documents.document_not_found()
    if not doc.files:
        raise files.file_not_found()
    content = await files.open_content(vault, caller.actor, doc.id, doc.files[0].id)
    return await stream_response(request, content, "attachment")


@dataclass(frozen=True)
class _Planned:
    """One file part of an upload: its metadata, the catalog type, and the name it is
    kept under (Sila's filename with the extension of its mime_type)."""

    meta: FileMetadata
    doc_type: DocumentType
    stored_name: str


def _plan(message: UploadMessage, catalog: Catalog) -> dict[str, _Planned]:
    planned: dict[str, _Planned] = {}
    multiple = bool(message.file_metadata)
    for part, meta in message.per_part().items():
        prefix = f"file_metadata.{part}." if multiple else ""
        if multiple and not _FILE_PART.match(part):
            raise InvalidInput.field(
                f"file_metadata.{part}", "invalid_part_name", "name the parts file_1 … file_n"
            )
        doc_type = _resolve(catalog, meta.document_type, f"{prefix}document_type")
        identity = IDENTITY_TYPES.get(meta.document_type, "other")
        if meta.identity_type is not None and meta.identity_type != identity:
            raise InvalidInput.field(
                f"{prefix}identity_type",
                "identity_type_mismatch",
                f"{meta.document_type} is of identity type {identity}",
            )
        extension = extension_for(meta.mime_type)
        if extension is None:
            raise UnsupportedMediaType(
                f"{prefix}mime_type: files of type {meta.mime_type} are not accepted",
                code="unsupported_media_type",
                errors=[FieldError(f"{prefix}mime_type", "unsupported_media_type", "")],
            )
        planned[part] = _Planned(meta, doc_type, f"{meta.filename}.{extension}")
    return planned


@dataclass
class _Upload:
    """What the ``data`` field said, once it has been read and its signatures checked."""

    caller: SilaUser | None = None
    plan: dict[str, _Planned] = field(default_factory=dict)
    multiple: bool = False


def _limits(request: Request) -> UploadLimits:
    native: UploadLimits = request.app.state.upload_limits
    parts = {"file"} | {f"file_{n}" for n in range(1, native.max_files + 1)}
    return dataclasses.replace(
        native, max_body=min(native.max_body, MAX_REQUEST), file_fields=frozenset(parts)
    )


def _drafts(got: _Upload, user: Subject, parts: list[str]) -> list[NewDocument]:
    """One document per file part, in part order; every part in the metadata is required."""
    missing = [name for name in got.plan if name not in parts]
    if missing:
        raise InvalidInput.field(missing[0], "file_required", "the metadata names this part")
    if len(set(parts)) != len(parts):
        raise InvalidInput.field("file", "duplicate_file", "send each part once")
    drafts = []
    for index, part in enumerate(parts):
        planned = got.plan[part]
        meta = planned.meta
        values: dict[str, Any] = {
            "type": planned.doc_type.name,
            "subject_id": user.id,
            "name": meta.name or meta.filename,
        }
        if meta.description:
            values["metadata"] = {"description": meta.description}
        drafts.append(NewDocument(values, files=[index], hashes=[meta.hash]))
    return drafts


@router.post("/documents")
async def upload_documents(request: Request, vault: VaultDep) -> JSONResponse:
    """One file (part ``file``) or several (``file_1`` … with ``file_metadata``), each
    becoming a document of the user."""
    got = _Upload()

    async def sign_in(fields: dict[str, list[str]]) -> tuple[Actor, dict[str, str]]:
        raw = fields.get("data")
        if not raw:
            raise InvalidInput.field(
                "data", "required", "send the data field (the signed message) before the files"
            )
        if len(raw) > 1:
            raise InvalidInput.field("data", "duplicate_field", "given more than once")
        message = _parse(request, raw[0], UploadMessage)
        got.caller = await _user_caller(request, vault, raw[0].encode(), message.header)
        got.plan = _plan(message, await load_catalog(vault, got.caller.actor))
        got.multiple = bool(message.file_metadata)
        return got.caller.actor, {part: p.stored_name for part, p in got.plan.items()}

    parts: list[str] = []
    async with receive_upload_signed_in_form(request, vault, _limits(request), sign_in, parts) as (
        actor,
        session,
        _,
    ):
        assert got.caller is not None  # sign_in has run
        drafts = _drafts(got, got.caller.user, parts)
        made = await documents.create_documents(vault, actor, drafts, upload=session)
    extra = {"document_ids": [str(d.id) for d in made]} if got.multiple else {}
    return JSONResponse(
        _envelope(
            request,
            message="File uploaded successfully.",
            reference_id=request.state.request_id,
            document_id=str(made[0].id),
            **extra,
        )
    )
