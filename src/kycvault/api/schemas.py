"""Request and response models of the native API (never the domain or table classes)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, WithJsonSchema
from pydantic.config import JsonDict

from kycvault.api.extracted import EXTRACTED_SCHEMA
from kycvault.domain.catalog import DocumentType
from kycvault.domain.models import Document, StoredFile, Subject
from kycvault.domain.processing import Stage, StageStatus
from kycvault.domain.review import ReasonCode, Review, ReviewStatus
from kycvault.domain.review_rules import MAX_REASON_LENGTH
from kycvault.domain.types import Authenticity, Category, Classification, FileRole, SubjectType
from kycvault.ports.persistence.events import Event
from kycvault.ports.persistence.holds import LegalHold
from kycvault.ports.persistence.records import AuditEvent
from kycvault.services.pagination import Page

T = TypeVar("T")


# What ``normalize_address`` takes: ``0x`` and 40 hex digits, or nothing but blanks (none).
CRYPTO_ADDRESS: JsonDict = {
    "pattern": r"^(0[xX][0-9a-fA-F]{40}|\s*)$",
    "description": "an Ethereum-style address, `0x` and 40 hex digits",
}


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=10_000)


def _date_text(value: object) -> object:
    """A date as the schema says it: ISO 8601 text (pydantic would take a number as a Unix
    time, so ``0`` became 1 January 1970)."""
    if value is not None and not isinstance(value, str):
        raise ValueError("an ISO 8601 date (YYYY-MM-DD)")
    return value


# A date in a JSON body: ISO 8601 text only.
IsoDate = Annotated[date, BeforeValidator(_date_text)]


class SubjectCreate(_Input):
    type: SubjectType = SubjectType.INDIVIDUAL
    external_id: str | None = Field(default=None, max_length=255)
    display_name: str | None = Field(default=None, max_length=255)
    parent_id: UUID | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    crypto_address: str | None = Field(
        default=None, max_length=42, json_schema_extra=CRYPTO_ADDRESS
    )
    birth_date: IsoDate | None = Field(
        default=None, description="a person's date of birth (1880-01-01 to today)"
    )


def not_null(schema: JsonDict) -> WithJsonSchema:
    """The schema of a PATCH field whose null the service refuses (null clears most others):
    the field stays ``X | None`` for pydantic, so its errors are worded as before."""
    return WithJsonSchema(schema)


class SubjectPatch(_Input):
    type: Annotated[SubjectType | None, not_null({"type": "string", "enum": [*SubjectType]})] = None
    external_id: str | None = Field(default=None, max_length=255)
    display_name: str | None = Field(default=None, max_length=255)
    parent_id: UUID | None = None
    metadata: dict[str, Any] | None = None
    crypto_address: str | None = Field(
        default=None, max_length=42, json_schema_extra=CRYPTO_ADDRESS
    )
    birth_date: IsoDate | None = Field(
        default=None, description="a person's date of birth (1880-01-01 to today); null clears it"
    )


class _DocumentFields(_Input):
    subject_id: UUID | None = None
    name: str | None = Field(default=None, max_length=255)
    id_number: str | None = Field(default=None, max_length=64)
    issuing_country: str | None = Field(default=None, max_length=3)
    issue_date: IsoDate | None = None
    expiry_date: IsoDate | None = None
    authenticity: Authenticity | None = None
    metadata: dict[str, Any] | None = None


class DocumentCreate(_DocumentFields):
    type: str = Field(max_length=100)
    notify_before_expiry: bool = False


class DocumentPatch(_DocumentFields):
    type: Annotated[
        str | None, Field(max_length=100), not_null({"type": "string", "maxLength": 100})
    ] = None
    notify_before_expiry: Annotated[bool | None, not_null({"type": "boolean"})] = None


class ReviewIn(_Input):
    """A decision on a document (``POST /v1/documents/{id}/review``). ``reason_code`` is
    needed to reject or to request a new upload, and ``reason`` with ``other``."""

    status: Literal["approved", "rejected", "resubmission_requested"]
    reason_code: ReasonCode | None = None
    reason: str | None = Field(default=None, max_length=MAX_REASON_LENGTH)


class FileUploadFields(_Input):
    """Form fields that may accompany file parts: one ``role`` and/or ``sha256`` per file."""

    role: list[FileRole | None] = Field(default_factory=list)
    sha256: list[str | None] = Field(default_factory=list)


class SubjectOut(BaseModel):
    id: UUID
    number: int
    type: SubjectType
    external_id: str | None
    display_name: str | None
    parent_id: UUID | None
    metadata: dict[str, Any]
    crypto_address: str | None
    birth_date: date | None = Field(
        description="given by the client, or read from a valid machine-readable zone of one "
        "of the subject's documents while unknown"
    )
    created_at: datetime
    updated_at: datetime
    created_by: str | None
    updated_by: str | None

    @classmethod
    def of(cls, subject: Subject) -> SubjectOut:
        return cls.model_validate(subject, from_attributes=True)


class FileOut(BaseModel):
    id: UUID
    document_id: UUID
    role: FileRole | None
    filename: str | None
    content_type: str
    size: int
    sha256: str
    created_at: datetime
    created_by: str | None

    @classmethod
    def of(cls, stored: StoredFile) -> FileOut:
        return cls.model_validate(stored, from_attributes=True)


class SignalOut(BaseModel):
    code: str
    weight: int
    severity: Literal["high", "medium", "low"] = Field(
        default="medium", description="how strongly a fired signal speaks against the document"
    )
    outcome: str = Field(description="fired, passed or not_applicable")
    fired: bool
    detail: str
    message: str | None = Field(default=None, description="the same plain-English sentence")


class ReviewOut(BaseModel):
    status: ReviewStatus = Field(description="pending until someone decides")
    reason_code: ReasonCode | None
    reason: str | None
    by: str | None = Field(description="who decided (an API key's id), or added the file")
    at: datetime | None

    @classmethod
    def of(cls, review: Review) -> ReviewOut:
        return cls.model_validate(review, from_attributes=True)


class DocumentOut(BaseModel):
    id: UUID
    number: int
    subject_id: UUID | None
    type: str
    name: str | None
    id_number: str | None
    issuing_country: str | None
    issue_date: date | None
    expiry_date: date | None
    authenticity: Authenticity | None
    notify_before_expiry: bool
    classification: Classification
    metadata: dict[str, Any]
    files: list[FileOut]
    processing: dict[Stage, StageStatus] = Field(
        description="per stage: unauthorized, idle, in_progress, completed or failed"
    )
    processing_reasons: dict[Stage, str] = Field(
        description="why a stage failed or is switched off (and unreadable files of an OCR stage)"
    )
    # Kept as stored (a document not yet read has none of these members); described by
    # ``ExtractedOut``.
    extracted: Annotated[
        dict[str, Any],
        WithJsonSchema(EXTRACTED_SCHEMA),
    ] = Field(
        description="what processing found: pages, sources, the MRZ and which checks passed, "
        "the content's classification"
    )
    authenticity_score: int | None = Field(
        description="0-100 once the stage has completed; null while it has not, and when the "
        "document could not be assessed (authenticity_status not_assessed)"
    )
    authenticity_status: str | None = Field(
        description="assessed or not_assessed (no score: no file could be read, or no "
        "machine-readable zone was found where the document type carries one); null until the "
        "stage has run"
    )
    authenticity_reason: str | None = Field(description="why the document was not assessed")
    authenticity_signals: list[SignalOut]
    review: ReviewOut
    created_at: datetime
    created_by: str | None
    updated_at: datetime
    updated_by: str | None

    @classmethod
    def of(cls, doc: Document) -> DocumentOut:
        processing = doc.processing
        extracted = dict(processing.extracted)
        if processing.classification is not None:
            extracted["classification"] = processing.classification
        return cls(
            id=doc.id,
            number=doc.number,
            subject_id=doc.subject_id,
            type=doc.type,
            name=doc.name,
            id_number=doc.id_number,
            issuing_country=doc.issuing_country,
            issue_date=doc.issue_date,
            expiry_date=doc.expiry_date,
            authenticity=doc.authenticity,
            notify_before_expiry=doc.notify_before_expiry,
            classification=doc.classification,
            metadata=doc.metadata,
            files=[FileOut.of(f) for f in doc.files],
            processing=processing.stages,
            processing_reasons=processing.reasons,
            extracted=extracted,
            authenticity_score=processing.authenticity_score,
            authenticity_status=processing.authenticity_status,
            authenticity_reason=processing.authenticity_reason,
            authenticity_signals=[SignalOut(**s) for s in processing.signals],
            review=ReviewOut.of(doc.review),
            created_at=doc.created_at,
            created_by=doc.created_by,
            updated_at=doc.updated_at,
            updated_by=doc.updated_by,
        )


class DocumentTypeOut(BaseModel):
    name: str
    label: str
    category: Category
    roles: list[FileRole]
    aliases: dict[str, str]
    builtin: bool

    @classmethod
    def of(cls, doc_type: DocumentType) -> DocumentTypeOut:
        return cls(
            name=doc_type.name,
            label=doc_type.label,
            category=doc_type.category,
            roles=list(doc_type.roles),
            aliases=dict(doc_type.aliases),
            builtin=doc_type.builtin,
        )


class AuditEventOut(BaseModel):
    """One recorded access or change. ``seq`` is its number in the tenant's hash chain;
    ``actor`` is a key id (``kvk_…``), ``worker``, ``link:…`` or ``cli``, never a secret."""

    id: UUID
    seq: int | None
    at: datetime
    actor: str | None
    action: str
    outcome: str
    target_type: str | None
    target_id: UUID | None
    subject_id: UUID | None
    document_id: UUID | None
    file_id: UUID | None
    client_address: str | None
    request_id: str | None
    details: dict[str, Any]

    @classmethod
    def of(cls, event: AuditEvent) -> AuditEventOut:
        return cls.model_validate(event, from_attributes=True)


class EventOut(BaseModel):
    """One event of the log (see ``services/events.py`` for what ``data`` holds)."""

    id: UUID
    type: str
    created_at: datetime
    tenant_id: UUID
    sequence: int
    data: dict[str, Any]

    @classmethod
    def of(cls, event: Event) -> EventOut:
        return cls.model_validate(event, from_attributes=True)


class PageOut(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None
    prev_cursor: str | None
    has_more: bool

    @classmethod
    def of(cls, page: Page[Any], items: list[T]) -> PageOut[T]:
        return cls(
            data=items,
            next_cursor=page.next_cursor,
            prev_cursor=page.prev_cursor,
            has_more=page.has_more,
        )


class NumberedPageOut(BaseModel, Generic[T]):
    data: list[T]
    page: int
    per_page: int
    total_count: int
    total_pages: int


class ListOut(BaseModel, Generic[T]):
    data: list[T]


class Health(BaseModel):
    status: str
    checks: dict[str, str] = Field(default_factory=dict)


class DocumentTypeCreate(_Input):
    label: str = Field(max_length=200, json_schema_extra={"pattern": r"\S"})
    name: str | None = Field(default=None, max_length=64)
    category: Category = Category.OTHER
    roles: list[FileRole] = Field(default_factory=list, max_length=10)


class DownloadLinkOut(BaseModel):
    download_url: str
    expires_at: datetime
    filename: str
    content_type: str
    size: int


class ProcessingSettingsOut(BaseModel):
    classification: bool
    ocr: bool
    authenticity: bool
    classification_overwrites_type: bool = Field(
        description="a confident classification replaces the declared type (Argyle's way)"
    )
    searchable_text: bool = Field(description="extracted text is found by the listing search")


class ProcessingSettingsPatch(_Input):
    classification: StrictBool | None = None
    ocr: StrictBool | None = None
    authenticity: StrictBool | None = None
    classification_overwrites_type: StrictBool | None = None
    searchable_text: StrictBool | None = None


class DocumentTextOut(BaseModel):
    document_id: UUID
    text: str
    characters: int


class NoFields(_Input):
    """Multipart requests whose only form fields are the per-file ones."""


class LegalHoldCreate(_Input):
    subject_id: UUID | None = None
    document_id: UUID | None = None
    reason: str = Field(max_length=500, description="why: free text, 1 to 500 characters")


class LegalHoldOut(BaseModel):
    id: UUID
    subject_id: UUID | None
    document_id: UUID | None
    reason: str
    placed_at: datetime
    placed_by: str | None
    lifted_at: datetime | None
    lifted_by: str | None

    @classmethod
    def of(cls, hold: LegalHold) -> LegalHoldOut:
        return cls(
            id=hold.id,
            subject_id=hold.subject_id,
            document_id=hold.document_id,
            reason=hold.reason,
            placed_at=hold.placed_at,
            placed_by=hold.placed_by,
            lifted_at=hold.lifted_at,
            lifted_by=hold.lifted_by,
        )
