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
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from kycvault.api.bodies import receive_upload_signed_in_form
from kycvault.api.body_specs import BINARY, body, form_content, json_content
from kycvault.api.client_input import load_json
from kycvault.api.compat.shared import subjects_document
from kycvault.api.compat.sila_messages import (
    ALIASES,
    EMPTY_HEADER,
    EMPTY_MESSAGES,
    IDENTITY_TYPES,
    FileMetadata,
    GetDocumentMessage,
    Header,
    ListDocumentsMessage,
    SilaMessage,
    UploadMessage,
    failure,
    mark_start,
    pagination,
    reference_of,
    render_document,
    success,
)
from kycvault.api.deps import ContextDep, counting_failures, credentials_from, with_address
from kycvault.api.dialects import BEARER, Dialect, DialectSpec, KeyPolicy, upload_limits
from kycvault.api.file_serving import FILE_RESPONSES, stream_response
from kycvault.api.idempotency import Once, Written, form_payload
from kycvault.api.multipart import UploadLimits
from kycvault.api.problems import Fault
from kycvault.api.routing import CheckedRoute
from kycvault.domain.catalog import Catalog, DocumentType
from kycvault.domain.listing import DocumentQuery, Sort
from kycvault.domain.media import extension_for
from kycvault.domain.models import Subject
from kycvault.domain.scopes import Scope
from kycvault.errors import FieldError, InvalidInput, UnsupportedMediaType
from kycvault.services import document_listing, documents, files, sila_auth
from kycvault.services.catalog import list_types, load_catalog
from kycvault.services.context import Actor, AppContext
from kycvault.services.document_listing import NumberedPage
from kycvault.services.documents import NewDocument
from kycvault.services.sila_auth import SignedRequest, SilaApp, SilaUser

PREFIX = "/compat/sila"
M = TypeVar("M", bound=BaseModel)
MiB = 1024 * 1024
# Sila documents a 20 MB request limit; the native limits apply beneath it.
MAX_REQUEST = 20 * MiB
# Sila's pagination: pages from 1, 20 a page by default, at most 100.
PageNumber = Annotated[int, Query(ge=1)]
# A page of documents: numbered pages reach 10,000 rows (``page`` times ``per_page``).
DocumentsPage = Annotated[
    int, Query(ge=1, json_schema_extra={"maximum": document_listing.MAX_OFFSET + 1})
]
PerPage = Annotated[int, Query(ge=1, le=100)]
_FILE_PART = re.compile(r"^file_[1-9][0-9]{0,2}$")
SCHEMES: dict[str, dict[str, Any]] = {
    "authSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "authsignature",
        "description": "The app's signature over the body (see `services/sila_auth.py`).",
    },
    "userSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "usersignature",
        "description": "The user's signature over the body, for calls about a user.",
    },
    "bearerAuth": BEARER,
}
# Calls about a user need both signatures; the app's alone will do for the document types.
USER_SIGNED: list[dict[str, list[str]]] = [
    {"bearerAuth": []},
    {"authSignature": [], "userSignature": []},
]
APP_SIGNED: list[dict[str, list[str]]] = [{"bearerAuth": []}, {"authSignature": []}]
ERROR_SCHEMA: dict[str, Any] = {
    "title": "SilaError",
    "type": "object",
    "required": ["success", "status", "message", "validation_details", "code"],
    "properties": {
        "success": {"const": False},
        "status": {"const": "FAILURE"},
        "message": {"type": "string"},
        "validation_details": {"type": "object", "additionalProperties": {"type": "string"}},
        "code": {"type": "string", "description": "the vault's stable code"},
        "reference": {"type": ["string", "null"]},
        "response_time_ms": {"type": "string"},
    },
}


async def _started(request: Request) -> None:
    mark_start(request)


router = APIRouter(prefix="/0.2", dependencies=[Depends(_started)], route_class=CheckedRoute)


def error_response(request: Request, fault: Fault) -> Response:
    details = {e.field: e.message for e in fault.field_errors}
    return JSONResponse(
        failure(request, fault.code, fault.detail, details), status_code=fault.status
    )


def _parse(request: Request, raw: bytes | str, model: type[M], field: str = "body") -> M:
    data = load_json(raw, field=field)
    request.state.sila_reference = reference_of(data)
    return model.model_validate(data)


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


async def _check_app(request: Request, ctx: AppContext, body: bytes, header: Header) -> SilaApp:
    return await sila_auth.authenticate_app(
        ctx, _signed(request, body, header), request_id=request.state.request_id
    )


async def _check_user(request: Request, ctx: AppContext, body: bytes, header: Header) -> SilaUser:
    return await sila_auth.authenticate_user(
        ctx, _signed(request, body, header), request_id=request.state.request_id
    )


# Failed signatures count against the client's address (and an API key's key id) as failed
# keys do.
async def _app_caller(request: Request, ctx: AppContext, body: bytes, header: Header) -> SilaApp:
    caller = await counting_failures(
        request,
        ctx,
        _check_app(request, ctx, body, header),
        credential=request.headers.get("authorization"),
    )
    request.state.key_id = caller.actor.key_id
    return dataclasses.replace(caller, actor=with_address(request, caller.actor))


async def _user_caller(request: Request, ctx: AppContext, body: bytes, header: Header) -> SilaUser:
    caller = await counting_failures(
        request,
        ctx,
        _check_user(request, ctx, body, header),
        credential=request.headers.get("authorization"),
    )
    request.state.key_id = caller.actor.key_id
    return dataclasses.replace(caller, actor=with_address(request, caller.actor))


@router.get("/getmessage")
async def get_message(emptymessage: Annotated[str, Query(max_length=100)]) -> dict[str, Any]:
    """The empty message the SDKs fetch when they start (no signature needed)."""
    name = EMPTY_MESSAGES.get(emptymessage.removesuffix("TestMessage"))
    if name is None:
        raise InvalidInput.field("emptymessage", "unknown_message", "no such message")
    return {"header": dict(EMPTY_HEADER), "message": name}


@router.post(
    "/document_types",
    openapi_extra={"security": APP_SIGNED, **body(json_content(SilaMessage))},
)
async def document_types(
    request: Request,
    ctx: ContextDep,
    page: PageNumber = 1,
    per_page: PerPage = 20,
) -> JSONResponse:
    """The document types Sila names, with their labels and identity types (app signature
    only)."""
    body = await request.body()
    message = _parse(request, body, SilaMessage)
    caller = await _app_caller(request, ctx, body, message.header)
    known = [t for t in await list_types(ctx, caller.actor) if ALIASES.of_type(t)]
    start = (page - 1) * per_page
    numbered = NumberedPage(known[start : start + per_page], page, per_page, len(known))
    types = [
        {"name": name, "label": t.label, "identity_type": IDENTITY_TYPES.get(name, "other")}
        for t in numbered.items
        if (name := ALIASES.of_type(t))
    ]
    await sila_auth.spend(ctx, caller.use)
    return JSONResponse(
        success(
            request,
            message="Document type details returned.",
            document_types=types,
            pagination=pagination(numbered),
        )
    )


@router.post("/list_documents", openapi_extra=body(json_content(ListDocumentsMessage)))
async def list_documents(
    request: Request,
    ctx: ContextDep,
    page: DocumentsPage = 1,
    per_page: PerPage = 20,
    order: Literal["asc", "desc"] = "asc",
) -> JSONResponse:
    """The user's documents, filtered and a page at a time."""
    body = await request.body()
    message = _parse(request, body, ListDocumentsMessage)
    caller = await _user_caller(request, ctx, body, message.header)
    catalog = await load_catalog(ctx, caller.actor)
    types = tuple(
        ALIASES.catalog_type(catalog, t, field="doc_types").name for t in message.doc_types or ()
    )
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
    numbered = await document_listing.number_documents(
        ctx, caller.actor, query, page=page, per_page=per_page
    )
    await sila_auth.spend(ctx, caller.use)
    return JSONResponse(
        success(
            request,
            documents=[render_document(catalog, caller.user, doc) for doc in numbered.items],
            pagination=pagination(numbered),
        )
    )


@router.post(
    "/get_document",
    responses=FILE_RESPONSES,
    openapi_extra=body(json_content(GetDocumentMessage)),
)
async def get_document(request: Request, ctx: ContextDep) -> Response:
    """The document's file: its bytes, with Content-Type and Content-Disposition."""
    body = await request.body()
    message = _parse(request, body, GetDocumentMessage)
    caller = await _user_caller(request, ctx, body, message.header)
    try:
        doc_id = UUID(message.document_id)
    except ValueError:
        raise InvalidInput.field("document_id", "invalid_id", "not a document id") from None
    doc = await subjects_document(
        ctx, caller.actor, doc_id, caller.user.id, scope=Scope.DOCUMENTS_DOWNLOAD
    )
    if not doc.files:
        raise files.file_not_found()
    await sila_auth.spend(ctx, caller.use)
    content = await files.open_content(ctx, caller.actor, doc.id, doc.files[0].id)
    return await stream_response(request, content, "attachment")


@dataclass(frozen=True)
class _Planned:
    """One file part of an upload: its metadata, the catalog type, and the name it is
    kept under (Sila's filename with the extension of its mime_type)."""

    meta: FileMetadata
    doc_type: DocumentType
    stored_name: str


def _plan(message: UploadMessage, catalog: Catalog, max_files: int) -> dict[str, _Planned]:
    """Each file part's metadata checked and translated, before any file is read."""
    planned: dict[str, _Planned] = {}
    multiple = bool(message.file_metadata)
    per_part = message.per_part()
    if len(per_part) > max_files:
        raise InvalidInput.field(
            "file_metadata", "too_many_files", f"at most {max_files} files per request"
        )
    for part, meta in per_part.items():
        prefix = f"file_metadata.{part}." if multiple else ""
        if multiple and not _FILE_PART.match(part):
            raise InvalidInput.field(
                f"file_metadata.{part}", "invalid_part_name", "name the parts file_1 … file_n"
            )
        doc_type = ALIASES.catalog_type(catalog, meta.document_type, field=f"{prefix}document_type")
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
                errors=[FieldError(f"{prefix}mime_type", "unsupported_media_type", "not accepted")],
            )
        planned[part] = _Planned(meta, doc_type, f"{meta.filename}.{extension}")
    return planned


@dataclass
class _Upload:
    """What the ``data`` field said, once it has been read and its signatures checked."""

    caller: SilaUser | None = None
    plan: dict[str, _Planned] = field(default_factory=dict)
    multiple: bool = False


def narrow_limits(native: UploadLimits) -> UploadLimits:
    parts = {"file"} | {f"file_{n}" for n in range(1, native.max_files + 1)}
    return dataclasses.replace(
        native, max_body=min(native.max_body, MAX_REQUEST), file_fields=frozenset(parts)
    )


def _drafts(signed: _Upload, user: Subject, parts: list[str]) -> list[NewDocument]:
    """One document per file part, in part order; every part in the metadata is required."""
    missing = [name for name in signed.plan if name not in parts]
    if missing:
        raise InvalidInput.field(missing[0], "file_required", "the metadata names this part")
    if len(set(parts)) != len(parts):
        raise InvalidInput.field("file", "duplicate_file", "send each part once")
    drafts = []
    for index, part in enumerate(parts):
        planned = signed.plan[part]
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


_UPLOAD = body(
    form_content(
        {
            "data": {
                "type": "string",
                "contentMediaType": "application/json",
                "description": "the signed JSON message (an `UploadMessage`), before the files",
            },
            "file": {**BINARY, "description": "one file, described at the message's top"},
        },
        required=["data"],
    )
)


@router.post("/documents", openapi_extra=_UPLOAD)
async def upload_documents(request: Request, ctx: ContextDep, once: Once) -> Response:
    """One file (part ``file``) or several (``file_1`` … with ``file_metadata``), each
    becoming a document of the user."""
    signed = _Upload()
    limits = upload_limits(request)

    async def sign_in(fields: dict[str, list[str]]) -> tuple[Actor, dict[str, str]]:
        raw = fields.get("data")
        if not raw:
            raise InvalidInput.field(
                "data", "required", "send the data field (the signed message) before the files"
            )
        if len(raw) > 1:
            raise InvalidInput.field("data", "duplicate_field", "given more than once")
        message = _parse(request, raw[0], UploadMessage, "data")
        signed.caller = await _user_caller(request, ctx, raw[0].encode(), message.header)
        catalog = await load_catalog(ctx, signed.caller.actor)
        signed.plan = _plan(message, catalog, limits.max_files)
        signed.multiple = bool(message.file_metadata)
        return signed.caller.actor, {part: p.stored_name for part, p in signed.plan.items()}

    parts: list[str] = []
    async with receive_upload_signed_in_form(request, ctx, limits, sign_in, parts) as (
        actor,
        session,
        fields,
    ):
        caller = signed.caller
        assert caller is not None  # sign_in has run
        drafts = _drafts(signed, caller.user, parts)

        async def write() -> Written:
            made = await documents.create_documents(
                ctx,
                actor,
                drafts,
                upload=session,
                in_transaction=sila_auth.spent_with(caller.use),
            )
            extra = {"document_ids": [str(d.id) for d in made]} if signed.multiple else {}
            body = success(
                request,
                message="File uploaded successfully.",
                reference_id=request.state.request_id,
                document_id=str(made[0].id),
                **extra,
            )
            return Written(JSONResponse(body), made[0].id)

        return await once(actor, write, payload=form_payload(fields, session.staged))


DIALECT = Dialect(
    title="Sila",
    prefix=PREFIX,
    aliases=ALIASES,
    router=router,
    envelope=error_response,
    auth="Sila's signatures (`authsignature`, `usersignature`) over the JSON message, or an "
    "API key as a Bearer token.",
    # A signed message is accepted once: the retry of a signed write with the same
    # signature is refused as a replay (``request_replayed``) before its key is looked up,
    # so the key replays the answer to callers that send an API key instead.
    idempotency=KeyPolicy(
        True,
        "for requests with an API key; a signed message is accepted once, so its "
        "identical retry is refused as a replay (`request_replayed`) before the key is read",
    ),
    spec=DialectSpec(
        schemes=SCHEMES,
        security=USER_SIGNED,
        error_name="SilaError",
        error_schemas={"SilaError": ERROR_SCHEMA},
        public=frozenset({"get_message"}),
    ),
    upload_limits=narrow_limits,
)
