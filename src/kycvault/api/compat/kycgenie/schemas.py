"""KYC Genie's objects as its SDK reads them (``DocumentOutput``, ``DocumentDownloadResponse``,
``FileAnswer``, ``V2ResponseDetail`` and the list envelopes), rendered from vault entities.

Timestamps are written as KYC Genie's examples show them: ``created_at`` as
``2026-01-30T14:23:45Z``, ``expires_at`` as ``2026-01-30T14:38:45+00:00``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal

from pydantic import BaseModel

from kycvault.api.file_serving import display_filename
from kycvault.domain.catalog import Catalog
from kycvault.domain.models import Document, QuestionnaireResponse, Subject
from kycvault.services.downloads import IssuedLink
from kycvault.services.questionnaires import AnsweredFile


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expiry_stamp(at: datetime) -> str:
    return at.astimezone(UTC).replace(microsecond=0).isoformat()


def type_label(catalog: Catalog, type_name: str) -> str:
    doc_type = catalog.get(type_name)
    return doc_type.label if doc_type else type_name


def entity_name(subject: Subject) -> str:
    return subject.display_name or subject.external_id or ""


class DocumentOut(BaseModel):
    id: str
    name: str
    size: int | None
    content_type: str | None
    document_type_name: str
    classification: str
    uploaded_by_email: str | None
    created_at: str
    expiry_date: date | None

    @classmethod
    def of(cls, doc: Document, label: str) -> DocumentOut:
        """``label``: the document type's (``type_label``)."""
        first = doc.files[0] if doc.files else None
        return cls(
            id=str(doc.id),
            name=doc.name or (display_filename(first) if first else ""),
            size=first.size if first else None,
            content_type=first.content_type if first else None,
            document_type_name=label,
            classification=doc.classification.value,
            # Keys carry no e-mail address; the field stays null.
            uploaded_by_email=None,
            created_at=stamp(doc.created_at),
            expiry_date=doc.expiry_date,
        )


class DownloadOut(BaseModel):
    download_url: str
    expires_at: str
    filename: str
    content_type: str
    size: int

    @classmethod
    def of(cls, issued: IssuedLink, url: str) -> DownloadOut:
        return cls(
            download_url=url,
            expires_at=expiry_stamp(issued.link.expires_at),
            filename=display_filename(issued.file),
            content_type=issued.file.content_type,
            size=issued.file.size,
        )


class AnswerDownloadOut(DownloadOut):
    attachment_id: str


class LibraryPageV1(BaseModel):
    count: int
    documents: list[DocumentOut]


class LibraryPageV2(BaseModel):
    has_more: bool
    next_cursor: str | None
    prev_cursor: str | None
    results: list[DocumentOut]


class EntityDocumentsV1(BaseModel):
    count: int
    entity_id: str
    entity_name: str
    documents: list[DocumentOut]


class EntityDocumentsV2(BaseModel):
    count: int
    entity_id: str
    entity_name: str
    results: list[DocumentOut]


class FileAnswerOut(BaseModel):
    attachment_id: str
    response_id: str
    document: DocumentOut
    file_question_id: int | None
    file_question_type: str | None
    # The vault keeps no questionnaire templates, so it knows nothing of the question.
    file_question_description: str | None = None
    file_question_required: bool | None = None
    file_question_multiple: bool | None = None
    is_flagged: bool = False
    is_submitted: bool
    created_at: str
    updated_at: str

    @classmethod
    def of(
        cls, answered: AnsweredFile, response: QuestionnaireResponse, catalog: Catalog
    ) -> FileAnswerOut:
        answer, doc = answered.answer, answered.document
        return cls(
            attachment_id=str(answer.id),
            response_id=str(answer.response_id),
            document=DocumentOut.of(doc, type_label(catalog, doc.type)),
            file_question_id=answer.question_id,
            file_question_type=type_label(catalog, doc.type),
            is_submitted=response.status.submitted,
            created_at=stamp(answer.created_at),
            updated_at=stamp(answer.updated_at),
        )


class AnswersV1(BaseModel):
    count: int
    documents: list[FileAnswerOut]


class AnswerFiles(BaseModel):
    count: int
    data: list[FileAnswerOut]


class ResponseDocuments(BaseModel):
    count: int
    results: list[FileAnswerOut]


class QuestionnaireOut(BaseModel):
    id: str
    name: str
    questionnaire_type: Literal["ddq"] = "ddq"


class SubjectEntityOut(BaseModel):
    id: str
    name: str
    entity_type: str


class ResponseDetailOut(BaseModel):
    id: str
    questionnaire: QuestionnaireOut
    subject_entity: SubjectEntityOut
    pending_verification: None = None
    created_at: str
    submitted_at: str | None = None
    reviewed_at: str | None = None
    manager_reviewed_at: str | None = None
    updated_at: str
    response_name: str | None
    status: str

    @classmethod
    def of(cls, response: QuestionnaireResponse, subject: Subject) -> ResponseDetailOut:
        return cls(
            id=str(response.id),
            # Only the client's reference to the questionnaire is kept: it is its id and name.
            questionnaire=QuestionnaireOut(id=response.questionnaire, name=response.questionnaire),
            subject_entity=SubjectEntityOut(
                id=str(subject.id), name=entity_name(subject), entity_type=subject.type.value
            ),
            created_at=stamp(response.created_at),
            updated_at=stamp(response.updated_at),
            response_name=response.name,
            status=response.status.value,
        )
