"""/v1/documents: create (metadata alone, or with files streamed from disk), find, change,
review, reprocess and delete documents."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any, Literal, TypedDict, Unpack
from uuid import UUID

from kycvault.client._http import Call, as_text, body, changes, joined, model, nothing, query
from kycvault.client._runner import AsyncResource, Resource
from kycvault.client.models import Document, DocumentText, Page
from kycvault.client.pagination import AsyncPaginator, Paginator
from kycvault.client.uploads import FileInput, MultipartBody, Progress

PATH = "/v1/documents"
ReviewStatus = Literal["approved", "rejected", "resubmission_requested"]


class DocumentFields(TypedDict, total=False):
    name: str | None
    id_number: str | None
    issuing_country: str | None  # ISO 3166 alpha-2 or alpha-3
    issue_date: date | str | None
    expiry_date: date | str | None
    authenticity: str | None  # ORIGINAL, CERTIFIED_COPY or COPY
    notify_before_expiry: bool | None
    metadata: dict[str, Any] | None


class DocumentChanges(DocumentFields, total=False):
    type: str | None
    subject_id: UUID | str | None


class SubjectDocumentFilters(TypedDict, total=False):
    type: str | Sequence[str]
    created_from: date | str
    created_to: date | str
    search: str
    expires_before: date | str
    expires_after: date | str
    classification: str
    has_files: bool
    review_status: str | Sequence[str]
    sort: str  # created_at, -created_at, name, -name, expiry_date, -expiry_date
    limit: int  # per page


class DocumentFilters(SubjectDocumentFilters, total=False):
    subject_id: UUID | str


def _form(fields: dict[str, Any]) -> list[tuple[str, str]]:
    """Form fields as the multipart route reads them (``metadata`` a JSON object)."""
    return [
        (name, json.dumps(value) if name == "metadata" else as_text(value))
        for name, value in fields.items()
        if value is not None
    ]


def _create(
    fields: dict[str, Any],
    files: Sequence[FileInput] | None,
    progress: Progress | None,
    key: str | None,
) -> Call[Document]:
    if not files:
        return Call("POST", PATH, model(Document), json=body(**fields), idempotency_key=key)
    upload = MultipartBody(_form(fields), files, progress)
    return Call("POST", PATH, model(Document), upload=upload, idempotency_key=key)


def _list(filters: DocumentFilters) -> Call[Page[Document]]:
    return Call("GET", PATH, model(Page[Document]), params=query(**filters))


def _get(document_id: UUID | str) -> Call[Document]:
    return Call("GET", joined([PATH, document_id]), model(Document))


def _update(document_id: UUID | str, fields: DocumentChanges) -> Call[Document]:
    return Call("PATCH", joined([PATH, document_id]), model(Document), json=changes(fields))


def _delete(document_id: UUID | str) -> Call[None]:
    return Call("DELETE", joined([PATH, document_id]), nothing)


def _review(
    document_id: UUID | str, status: ReviewStatus, reason_code: str | None, reason: str | None
) -> Call[Document]:
    decision = body(status=status, reason_code=reason_code, reason=reason)
    return Call("POST", joined([PATH, document_id, "review"]), model(Document), json=decision)


def _reprocess(document_id: UUID | str) -> Call[Document]:
    return Call("POST", joined([PATH, document_id, "reprocess"]), model(Document))


def _text_of(document_id: UUID | str) -> Call[DocumentText]:
    return Call("GET", joined([PATH, document_id, "text"]), model(DocumentText))


class Documents(Resource):
    def create(
        self,
        *,
        type: str,
        subject_id: UUID | str | None = None,
        files: Sequence[FileInput] | None = None,
        progress: Progress | None = None,
        idempotency_key: str | None = None,
        **fields: Unpack[DocumentFields],
    ) -> Document:
        """A new document; with ``files`` (1-5 paths, file objects or ``Upload``s) they are
        streamed from disk in one multipart request, ``progress(sent, total)`` told as it
        goes."""
        given = {"type": type, "subject_id": subject_id, **fields}
        return self._run.request(_create(given, files, progress, idempotency_key))

    def list(self, **filters: Unpack[DocumentFilters]) -> Paginator[Document]:
        """Every document matching the filters, in ``sort`` order, page after page."""
        return self._run.paginate(_list(filters))

    def get(self, document_id: UUID | str) -> Document:
        return self._run.request(_get(document_id))

    def update(self, document_id: UUID | str, **fields: Unpack[DocumentChanges]) -> Document:
        """Change the fields given (None clears one)."""
        return self._run.request(_update(document_id, fields))

    def delete(self, document_id: UUID | str) -> None:
        self._run.request(_delete(document_id))

    def review(
        self,
        document_id: UUID | str,
        status: ReviewStatus,
        *,
        reason_code: str | None = None,
        reason: str | None = None,
    ) -> Document:
        return self._run.request(_review(document_id, status, reason_code, reason))

    def reprocess(self, document_id: UUID | str) -> Document:
        return self._run.request(_reprocess(document_id))

    def text(self, document_id: UUID | str) -> DocumentText:
        return self._run.request(_text_of(document_id))


class AsyncDocuments(AsyncResource):
    async def create(
        self,
        *,
        type: str,
        subject_id: UUID | str | None = None,
        files: Sequence[FileInput] | None = None,
        progress: Progress | None = None,
        idempotency_key: str | None = None,
        **fields: Unpack[DocumentFields],
    ) -> Document:
        given = {"type": type, "subject_id": subject_id, **fields}
        return await self._run.request(_create(given, files, progress, idempotency_key))

    def list(self, **filters: Unpack[DocumentFilters]) -> AsyncPaginator[Document]:
        return self._run.paginate(_list(filters))

    async def get(self, document_id: UUID | str) -> Document:
        return await self._run.request(_get(document_id))

    async def update(self, document_id: UUID | str, **fields: Unpack[DocumentChanges]) -> Document:
        return await self._run.request(_update(document_id, fields))

    async def delete(self, document_id: UUID | str) -> None:
        await self._run.request(_delete(document_id))

    async def review(
        self,
        document_id: UUID | str,
        status: ReviewStatus,
        *,
        reason_code: str | None = None,
        reason: str | None = None,
    ) -> Document:
        return await self._run.request(_review(document_id, status, reason_code, reason))

    async def reprocess(self, document_id: UUID | str) -> Document:
        return await self._run.request(_reprocess(document_id))

    async def text(self, document_id: UUID | str) -> DocumentText:
        return await self._run.request(_text_of(document_id))
