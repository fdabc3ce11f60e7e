"""Argyle's ``UserUpload`` object and the list envelope, rendered from vault documents.

A user upload is a document of a subject (the Argyle user) with a file; it shows its first
file. ``account`` is the subject's id: a user's uploads live in one document-upload account,
as Argyle Link keeps them. ``processing`` shows the stage statuses the worker recorded;
``metadata`` carries what the stages found, once each has completed. Timestamps are written
as Argyle's examples show them, ``2024-07-08T13:43:49.864Z``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from kycvault.api.dialects import Aliases
from kycvault.api.file_serving import display_filename
from kycvault.domain.catalog import Catalog, DocumentType
from kycvault.domain.models import Document
from kycvault.domain.processing import Stage, StageStatus
from kycvault.domain.types import Category

ALIASES = Aliases("argyle")
MISCELLANEOUS = "miscellaneous"
# Argyle's six document types; a type the catalog gives no Argyle name shows as its
# category's (a passport that classification put in place of "paystubs" is an identity
# document), or as miscellaneous.
DOCUMENT_TYPES = ("paystubs", "W-2", "1099", "proof-of-identity", "proof-of-address", MISCELLANEOUS)
_BY_CATEGORY = {Category.IDENTITY: "proof-of-identity", Category.ADDRESS: "proof-of-address"}


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def argyle_type(doc_type: DocumentType | None) -> str:
    if doc_type is None:
        return MISCELLANEOUS
    return ALIASES.of_type(doc_type) or _BY_CATEGORY.get(doc_type.category, MISCELLANEOUS)


def types_shown_as(catalog: Catalog, name: str) -> tuple[str, ...]:
    """The catalog's types that show as Argyle's ``name`` (the ``document_type`` filter)."""
    return tuple(t.name for t in catalog if argyle_type(t) == name)


class Metadata(BaseModel):
    employment: dict[str, Any] | None
    ocr_data: dict[str, Any] | None
    ocr_authenticity: dict[str, Any] | None
    ocr_authenticity_score: int | None


class ProcessingOut(BaseModel):
    classification: StageStatus
    ocr: StageStatus
    authenticity: StageStatus


class UserUpload(BaseModel):
    id: UUID
    account: UUID
    document_type: str
    file_url: str
    file_name: str
    metadata: Metadata
    processing: ProcessingOut
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, catalog: Catalog, doc: Document, file_url: str) -> UserUpload:
        assert doc.subject_id is not None  # uploads are subjects' documents with a file
        processing = doc.processing
        stages = processing.stages
        ocr_done = stages[Stage.OCR] is StageStatus.COMPLETED
        checked = stages[Stage.AUTHENTICITY] is StageStatus.COMPLETED
        updated = doc.updated_at
        if processing.processed_at:
            # Stored results change the object too.
            updated = max(updated, datetime.fromisoformat(processing.processed_at))
        return cls(
            id=doc.id,
            account=doc.subject_id,
            document_type=argyle_type(catalog.get(doc.type)),
            file_url=file_url,
            file_name=display_filename(doc.files[0]),
            metadata=Metadata(
                employment=None,  # deprecated by Argyle; payroll data has no place here
                ocr_data=dict(processing.extracted) if ocr_done else None,
                ocr_authenticity={"signals": list(processing.signals)} if checked else None,
                ocr_authenticity_score=processing.authenticity_score if checked else None,
            ),
            processing=ProcessingOut(
                classification=stages[Stage.CLASSIFICATION],
                ocr=stages[Stage.OCR],
                authenticity=stages[Stage.AUTHENTICITY],
            ),
            created_at=stamp(doc.created_at),
            updated_at=stamp(updated),
        )


class UserUploadPage(BaseModel):
    results: list[UserUpload]
    next: str | None
    previous: str | None
