"""/v1/documents (and /v1/subjects/{id}/documents)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from kycvault.api.deps import ActorDep, JsonBody, VaultDep
from kycvault.api.forms import FILE_PARTS, parse_json, receive_upload, split_form
from kycvault.api.schemas import DocumentCreate, DocumentOut, DocumentPatch, PageOut
from kycvault.api.uploads import is_multipart
from kycvault.domain.models import Document
from kycvault.services import documents

router = APIRouter(tags=["documents"])

_DOCUMENT_FIELDS = {
    "type": {"type": "string", "description": "document type name or alias"},
    "subject_id": {"type": "string", "format": "uuid"},
    "name": {"type": "string"},
    "id_number": {"type": "string"},
    "issuing_country": {"type": "string", "description": "ISO 3166-1 alpha-2 or alpha-3"},
    "issue_date": {"type": "string", "format": "date"},
    "expiry_date": {"type": "string", "format": "date"},
    "authenticity": {"type": "string", "enum": ["ORIGINAL", "CERTIFIED_COPY", "COPY"]},
    "notify_before_expiry": {"type": "boolean"},
    "metadata": {"type": "string", "description": "a JSON object"},
}
_CREATE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": DocumentCreate.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["type", "file"],
                    "properties": {**_DOCUMENT_FIELDS, **FILE_PARTS},
                }
            },
        },
    }
}


def _created(response: Response, doc: Document) -> DocumentOut:
    response.headers["location"] = f"/v1/documents/{doc.id}"
    return DocumentOut.of(doc)


@router.post(
    "/v1/documents", status_code=201, response_model=DocumentOut, openapi_extra=_CREATE_BODY
)
async def create_document(
    request: Request, vault: VaultDep, actor: ActorDep, response: Response
) -> DocumentOut:
    """Create a document from JSON metadata, or from form fields plus 1-5 ``file`` parts."""
    if not is_multipart(request.headers.get("content-type")):
        body = await parse_json(request, DocumentCreate)
        doc = await documents.create_document(vault, actor, body.model_dump(exclude_unset=True))
        return _created(response, doc)
    limits = request.app.state.upload_limits
    async with receive_upload(request, vault, actor, limits) as (session, fields):
        meta, per_file = split_form(fields, DocumentCreate)
        doc = await documents.create_document(
            vault,
            actor,
            meta.model_dump(exclude_unset=True),
            upload=session,
            roles=per_file.role,
            hashes=per_file.sha256,
        )
    return _created(response, doc)


@router.get("/v1/documents", response_model=PageOut[DocumentOut])
async def list_documents(
    vault: VaultDep,
    actor: ActorDep,
    subject_id: UUID | None = None,
    type: Annotated[list[str], Query(max_length=50)] = [],  # noqa: B006
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> PageOut[DocumentOut]:
    page = await documents.list_documents(
        vault, actor, subject_id=subject_id, types=type, limit=limit, cursor=cursor
    )
    return PageOut.of(page, [DocumentOut.of(d) for d in page.items])


@router.get("/v1/subjects/{subject_id}/documents", response_model=PageOut[DocumentOut])
async def list_subject_documents(
    subject_id: UUID,
    vault: VaultDep,
    actor: ActorDep,
    type: Annotated[list[str], Query(max_length=50)] = [],  # noqa: B006
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> PageOut[DocumentOut]:
    page = await documents.list_documents(
        vault,
        actor,
        subject_id=subject_id,
        types=type,
        limit=limit,
        cursor=cursor,
        subject_must_exist=True,
    )
    return PageOut.of(page, [DocumentOut.of(d) for d in page.items])


@router.get("/v1/documents/{document_id}", response_model=DocumentOut)
async def get_document(document_id: UUID, vault: VaultDep, actor: ActorDep) -> DocumentOut:
    return DocumentOut.of(await documents.get_document(vault, actor, document_id))


@router.patch("/v1/documents/{document_id}", response_model=DocumentOut, dependencies=[JsonBody])
async def update_document(
    document_id: UUID, body: DocumentPatch, vault: VaultDep, actor: ActorDep
) -> DocumentOut:
    changes = body.model_dump(exclude_unset=True)
    return DocumentOut.of(await documents.update_document(vault, actor, document_id, changes))


@router.delete("/v1/documents/{document_id}", status_code=204)
async def delete_document(document_id: UUID, vault: VaultDep, actor: ActorDep) -> Response:
    await documents.delete_document(vault, actor, document_id)
    return Response(status_code=204)
