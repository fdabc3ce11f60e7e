"""nCore's identifications and files as they travel: the request bodies, the answers, the
file roles that ``identification_document_type`` stands for, and the error body."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from http import HTTPStatus
from typing import Any, Literal
from uuid import UUID

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from kycvault.api.compat.shared import CalendarDate
from kycvault.api.dialects import Aliases
from kycvault.api.multipart import single_values
from kycvault.api.problems import Fault
from kycvault.domain.catalog import Catalog
from kycvault.domain.models import Document, StoredFile, Subject
from kycvault.domain.types import FileRole, SubjectType
from kycvault.errors import FieldError, InvalidInput

ALIASES = Aliases("ncore")
DEFAULT_KIND = "ADDITIONAL"
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


ERROR_SCHEMA: dict[str, Any] = {
    "title": "NcoreError",
    "type": "object",
    "required": ["status", "error", "code", "message"],
    "properties": {
        "status": {"type": "integer"},
        "error": {"type": "string", "description": "the status's phrase"},
        "code": {"type": "string", "description": "the vault's stable code"},
        "message": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "code", "message"],
                "properties": {
                    "field": {"type": "string"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}
API_KEY: dict[str, Any] = {
    "type": "apiKey",
    "in": "header",
    "name": "apikey",
    "description": "An API key, `kvk_<id>.<secret>`.",
}


def error_response(request: Request, fault: Fault) -> Response:
    body: dict[str, Any] = {
        "status": fault.status,
        "error": HTTPStatus(fault.status).phrase,
        "code": fault.code,
        "message": fault.detail,
    }
    if fault.field_errors:
        body["errors"] = [
            {"field": e.field, "code": e.code, "message": e.message} for e in fault.field_errors
        ]
    return JSONResponse(body, status_code=fault.status)


class IdentificationPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: IdentificationType | None = None
    number: str | None = Field(default=None, max_length=64)
    expiration_date: CalendarDate = None
    issue_date: CalendarDate = None
    issuing_country: str | None = Field(default=None, max_length=3)
    issuance_authority: str | None = Field(default=None, max_length=200)


class IdentificationIn(IdentificationPatch):
    type: IdentificationType


def values_of(
    body: IdentificationIn | IdentificationPatch, current: Document | None
) -> dict[str, Any]:
    """The document's values an identification body sets."""
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


def kind_of(catalog: Catalog, doc: Document) -> str:
    """The identification type a document shows as."""
    return ALIASES.of(catalog, doc.type) or DEFAULT_KIND


def render_file(kind: str, stored: StoredFile) -> FileOut:
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


def render(catalog: Catalog, user_id: str, user: Subject, doc: Document) -> IdentificationOut:
    kind = kind_of(catalog, doc)
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
        files=[render_file(kind, f) for f in doc.files],
    )


def roles_of(kind: str, fields: dict[str, list[str]], count: int) -> list[FileRole | None]:
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
