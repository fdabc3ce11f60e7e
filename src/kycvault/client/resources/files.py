"""/v1/documents/{id}/files: attach more files, list them, stream one to disk, delete one."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from kycvault.client._http import Call, joined, listed, model, nothing
from kycvault.client._runner import AsyncResource, Resource
from kycvault.client.downloads import Destination
from kycvault.client.models import File
from kycvault.client.uploads import FileInput, MultipartBody, Progress


def _path(document_id: UUID | str, *rest: UUID | str) -> str:
    return joined(["/v1/documents", document_id, "files", *rest])


def _add(
    document_id: UUID | str,
    files: Sequence[FileInput],
    progress: Progress | None,
    key: str | None,
) -> Call[list[File]]:
    upload = MultipartBody([], files, progress)
    return Call("POST", _path(document_id), listed(File), upload=upload, idempotency_key=key)


def _list(document_id: UUID | str) -> Call[list[File]]:
    return Call("GET", _path(document_id), listed(File))


def _get(document_id: UUID | str, file_id: UUID | str) -> Call[File]:
    return Call("GET", _path(document_id, file_id), model(File))


def _content(document_id: UUID | str, file_id: UUID | str) -> Call[None]:
    return Call("GET", _path(document_id, file_id, "content"), nothing)


def _delete(document_id: UUID | str, file_id: UUID | str) -> Call[None]:
    return Call("DELETE", _path(document_id, file_id), nothing)


class Files(Resource):
    def add(
        self,
        document_id: UUID | str,
        files: Sequence[FileInput],
        *,
        progress: Progress | None = None,
        idempotency_key: str | None = None,
    ) -> list[File]:
        """Attach 1-5 files, streamed from disk; the files added."""
        return self._run.request(_add(document_id, files, progress, idempotency_key))

    def list(self, document_id: UUID | str) -> list[File]:
        return self._run.request(_list(document_id))

    def get(self, document_id: UUID | str, file_id: UUID | str) -> File:
        return self._run.request(_get(document_id, file_id))

    def download(
        self,
        document_id: UUID | str,
        file_id: UUID | str,
        destination: Destination,
        *,
        progress: Progress | None = None,
    ) -> int:
        """The file's content streamed to a path or a binary file object; its size."""
        return self._run.download(_content(document_id, file_id), destination, progress)

    def delete(self, document_id: UUID | str, file_id: UUID | str) -> None:
        self._run.request(_delete(document_id, file_id))


class AsyncFiles(AsyncResource):
    async def add(
        self,
        document_id: UUID | str,
        files: Sequence[FileInput],
        *,
        progress: Progress | None = None,
        idempotency_key: str | None = None,
    ) -> list[File]:
        return await self._run.request(_add(document_id, files, progress, idempotency_key))

    async def list(self, document_id: UUID | str) -> list[File]:
        return await self._run.request(_list(document_id))

    async def get(self, document_id: UUID | str, file_id: UUID | str) -> File:
        return await self._run.request(_get(document_id, file_id))

    async def download(
        self,
        document_id: UUID | str,
        file_id: UUID | str,
        destination: Destination,
        *,
        progress: Progress | None = None,
    ) -> int:
        return await self._run.download(_content(document_id, file_id), destination, progress)

    async def delete(self, document_id: UUID | str, file_id: UUID | str) -> None:
        await self._run.request(_delete(document_id, file_id))
