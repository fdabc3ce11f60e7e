"""/v1/subjects: the people and companies documents belong to."""

from __future__ import annotations

from typing import Any, TypedDict, Unpack
from uuid import UUID

from kycvault.client._http import Call, body, changes, joined, model, nothing, query
from kycvault.client._runner import AsyncResource, Resource
from kycvault.client.downloads import Destination
from kycvault.client.models import Document, Page, Subject
from kycvault.client.pagination import AsyncPaginator, Paginator
from kycvault.client.resources.documents import SubjectDocumentFilters
from kycvault.client.uploads import Progress

PATH = "/v1/subjects"


class SubjectFields(TypedDict, total=False):
    type: str  # individual or company
    external_id: str | None
    display_name: str | None
    parent_id: UUID | str | None
    metadata: dict[str, Any] | None
    crypto_address: str | None


class SubjectFilters(TypedDict, total=False):
    external_id: str
    type: str | list[str]
    parent_id: UUID | str
    limit: int  # per page


def _create(key: str | None, fields: SubjectFields) -> Call[Subject]:
    return Call("POST", PATH, model(Subject), json=body(**fields), idempotency_key=key)


def _list(filters: SubjectFilters) -> Call[Page[Subject]]:
    return Call("GET", PATH, model(Page[Subject]), params=query(**filters))


def _get(subject_id: UUID | str) -> Call[Subject]:
    return Call("GET", joined([PATH, subject_id]), model(Subject))


def _update(subject_id: UUID | str, fields: SubjectFields) -> Call[Subject]:
    return Call("PATCH", joined([PATH, subject_id]), model(Subject), json=changes(fields))


def _delete(subject_id: UUID | str) -> Call[None]:
    return Call("DELETE", joined([PATH, subject_id]), nothing)


def _documents(subject_id: UUID | str, filters: SubjectDocumentFilters) -> Call[Page[Document]]:
    path = joined([PATH, subject_id, "documents"])
    return Call("GET", path, model(Page[Document]), params=query(**filters))


def _export(subject_id: UUID | str) -> Call[None]:
    return Call("GET", joined([PATH, subject_id, "export"]), nothing)


class Subjects(Resource):
    def create(
        self, *, idempotency_key: str | None = None, **fields: Unpack[SubjectFields]
    ) -> Subject:
        return self._run.request(_create(idempotency_key, fields))

    def list(self, **filters: Unpack[SubjectFilters]) -> Paginator[Subject]:
        """Every subject matching the filters, newest first, page after page."""
        return self._run.paginate(_list(filters))

    def get(self, subject_id: UUID | str) -> Subject:
        return self._run.request(_get(subject_id))

    def update(self, subject_id: UUID | str, **fields: Unpack[SubjectFields]) -> Subject:
        """Change the fields given (None clears one)."""
        return self._run.request(_update(subject_id, fields))

    def delete(self, subject_id: UUID | str) -> None:
        self._run.request(_delete(subject_id))

    def documents(
        self, subject_id: UUID | str, **filters: Unpack[SubjectDocumentFilters]
    ) -> Paginator[Document]:
        return self._run.paginate(_documents(subject_id, filters))

    def export(
        self, subject_id: UUID | str, destination: Destination, progress: Progress | None = None
    ) -> int:
        """The subject's access export (a zip) streamed to ``destination``; its size."""
        return self._run.download(_export(subject_id), destination, progress)


class AsyncSubjects(AsyncResource):
    async def create(
        self, *, idempotency_key: str | None = None, **fields: Unpack[SubjectFields]
    ) -> Subject:
        return await self._run.request(_create(idempotency_key, fields))

    def list(self, **filters: Unpack[SubjectFilters]) -> AsyncPaginator[Subject]:
        return self._run.paginate(_list(filters))

    async def get(self, subject_id: UUID | str) -> Subject:
        return await self._run.request(_get(subject_id))

    async def update(self, subject_id: UUID | str, **fields: Unpack[SubjectFields]) -> Subject:
        return await self._run.request(_update(subject_id, fields))

    async def delete(self, subject_id: UUID | str) -> None:
        await self._run.request(_delete(subject_id))

    def documents(
        self, subject_id: UUID | str, **filters: Unpack[SubjectDocumentFilters]
    ) -> AsyncPaginator[Document]:
        return self._run.paginate(_documents(subject_id, filters))

    async def export(
        self, subject_id: UUID | str, destination: Destination, progress: Progress | None = None
    ) -> int:
        return await self._run.download(_export(subject_id), destination, progress)
