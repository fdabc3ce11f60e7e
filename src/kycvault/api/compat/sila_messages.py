"""Sila's messages and answers as they travel: the signed JSON messages (``header`` first),
the success and failure envelopes, and a document as ``list_documents`` shows it."""

from __future__ import annotations

import time
from datetime import UTC, date
from typing import Annotated, Any, Literal

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from kycvault.api.body_specs import LENIENT_JSON_DATE
from kycvault.api.dialects import Aliases
from kycvault.domain.catalog import Catalog
from kycvault.domain.filenames import stem_of
from kycvault.domain.models import Document, Subject
from kycvault.services.document_listing import NumberedPage

ALIASES = Aliases("sila")
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
# The empty messages the SDKs fetch from /getmessage when they start (they keep their own
# copies of the document messages, and read only "message" back).
EMPTY_MESSAGES = {
    "header": "header_msg",
    "entity": "entity_msg",
    "identity": "identity_msg",
    "crypto": "crypto_msg",
    "linkAccount": "link_account_msg",
}
EMPTY_HEADER = {
    "created": 1234567890,
    "app_handle": "handle.silamoney.eth",
    "user_handle": "user.silamoney.eth",
    "version": "0.2",
    "crypto": "ETH",
    "reference": "<your unique id>",
}


def mark_start(request: Request) -> None:
    request.state.sila_started = time.perf_counter()


def _elapsed_ms(request: Request) -> str:
    started = getattr(request.state, "sila_started", None)
    return str(round((time.perf_counter() - started) * 1000)) if started else "0"


def success(request: Request, **values: Any) -> dict[str, Any]:
    return {
        "success": True,
        "status": "SUCCESS",
        **values,
        "reference": getattr(request.state, "sila_reference", None),
        "response_time_ms": _elapsed_ms(request),
    }


def failure(request: Request, code: str, detail: str, details: dict[str, str]) -> dict[str, Any]:
    return {
        "success": False,
        "status": "FAILURE",
        "message": detail,
        "validation_details": details,
        "code": code,
        "reference": getattr(request.state, "sila_reference", None),
        "response_time_ms": _elapsed_ms(request),
    }


_DATE: dict[str, Any] = {"anyOf": [*LENIENT_JSON_DATE["anyOf"], {"type": "null"}]}


class Header(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # Read leniently, as Sila's SDKs send it: a number, a numeric string or even a boolean.
    created: Annotated[
        int | None,
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "number"},
                    {"type": "boolean"},
                    {"type": "string", "pattern": "^-?[0-9]+$"},
                    {"type": "null"},
                ],
                "description": "when the message was made (Unix time, seconds)",
            }
        ),
    ] = None
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
    start_date: Annotated[date | None, WithJsonSchema(_DATE)] = None
    end_date: Annotated[date | None, WithJsonSchema(_DATE)] = None
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


def reference_of(message: Any) -> str | None:
    """The header's reference of a parsed message that may not validate, to echo it in the
    error."""
    header = message.get("header") if isinstance(message, dict) else None
    reference = header.get("reference") if isinstance(header, dict) else None
    return reference if isinstance(reference, str) else None


def pagination(numbered: NumberedPage[Any]) -> dict[str, int]:
    return {
        "returned_count": len(numbered.items),
        "total_count": numbered.total_count,
        "current_page": numbered.page,
        "total_pages": numbered.total_pages,
    }


def sila_type(catalog: Catalog, doc: Document) -> str:
    return ALIASES.of(catalog, doc.type) or DEFAULT_TYPE


def render_document(catalog: Catalog, user: Subject, doc: Document) -> dict[str, Any]:
    stored = doc.files[0]
    filename = stem_of(stored.filename) if stored.filename else str(stored.id)
    return {
        "user_handle": user.external_id,
        "document_id": str(doc.id),
        "name": doc.name or filename,
        "filename": filename,
        "hash": stored.sha256,
        "type": sila_type(catalog, doc),
        "size": str(stored.size),
        "created": doc.created_at.astimezone(UTC)
        .replace(tzinfo=None)
        .isoformat(timespec="microseconds"),
    }
