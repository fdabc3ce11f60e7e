"""The upload methods of the ``kycgenie`` SDK as they behave at run time.

The SDK's ``sdk_patch.py`` redefines ``upload``, ``upload_document`` and ``upload_file_answer``
(and their async twins) without annotations, behind ``type: ignore[no-redef]``, so that they
also take raw bytes with a ``filename``, an open file or a requests-style tuple. A type checker
sees only the generated signatures, which take the typed dict alone; these protocols state what
the patched methods accept, and ``uploads`` views the SDK through them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Protocol, cast

from kycgenie import KYCGenie, models

# Every form the patched methods coerce into the generated typed dict.
FileInput = (
    bytes
    | IO[bytes]
    | tuple[str, IO[bytes]]
    | tuple[str, IO[bytes], str]
    | models.DocumentsUploadFileTypedDict
)


class DocumentUploads(Protocol):
    def upload(
        self,
        *,
        file: FileInput,
        document_type: str,
        filename: str | None = None,
        content_type: str | None = None,
        idempotency_key: str | None = None,
    ) -> models.DocumentOutput: ...

    async def upload_async(
        self,
        *,
        file: FileInput,
        document_type: str,
        filename: str | None = None,
        content_type: str | None = None,
        idempotency_key: str | None = None,
    ) -> models.DocumentOutput: ...


class EntityUploads(Protocol):
    def upload_document(
        self,
        *,
        entity_id: str,
        document_type: str,
        file: FileInput,
        filename: str | None = None,
        content_type: str | None = None,
        idempotency_key: str | None = None,
    ) -> models.DocumentOutput: ...

    async def upload_document_async(
        self,
        *,
        entity_id: str,
        document_type: str,
        file: FileInput,
        filename: str | None = None,
        content_type: str | None = None,
        idempotency_key: str | None = None,
    ) -> models.DocumentOutput: ...


class AnswerUploads(Protocol):
    def upload_file_answer(
        self,
        *,
        response_id: str,
        fq_id: int,
        file: FileInput,
        filename: str | None = None,
        content_type: str | None = None,
        idempotency_key: str | None = None,
    ) -> models.FileAnswer: ...


@dataclass(frozen=True)
class Uploads:
    documents: DocumentUploads
    entities: EntityUploads
    questionnaire_responses: AnswerUploads


def uploads(sdk: KYCGenie) -> Uploads:
    """``sdk``'s upload methods with the signatures they have at run time."""
    return Uploads(
        documents=cast(DocumentUploads, sdk.documents),
        entities=cast(EntityUploads, sdk.entities),
        questionnaire_responses=cast(AnswerUploads, sdk.questionnaire_responses),
    )
