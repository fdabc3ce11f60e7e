"""/v1/documents/{id}/files: attach, list, read and delete files."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Request, Response

from kycvault.api.deps import ActorDep, VaultDep
from kycvault.api.forms import FILE_PARTS, receive_upload, split_form
from kycvault.api.responses import head_response, stream_response
from kycvault.api.schemas import FileOut, ListOut, NoFields
from kycvault.api.uploads import multipart_boundary
from kycvault.services import files

router = APIRouter(prefix="/v1/documents/{document_id}/files", tags=["files"])

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "required": ["file"], "properties": FILE_PARTS}
            }
        },
    }
}
_BINARY: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/octet-stream": {}}, "description": "the file"}
}


@router.post("", status_code=201, response_model=ListOut[FileOut], openapi_extra=_UPLOAD_BODY)
async def add_files(
    document_id: UUID, request: Request, vault: VaultDep, actor: ActorDep
) -> ListOut[FileOut]:
    """Attach 1-5 files (parts named ``file``); a document holds at most 10."""
    multipart_boundary(request.headers.get("content-type"))
    await files.prepare_file_upload(vault, actor, document_id)
    limits = request.app.state.upload_limits
    async with receive_upload(request, vault, actor, limits) as (session, fields):
        _, per_file = split_form(fields, NoFields)
        added = await files.add_files(
            vault, actor, document_id, session, roles=per_file.role, hashes=per_file.sha256
        )
    return ListOut(data=[FileOut.of(f) for f in added])


@router.get("", response_model=ListOut[FileOut])
async def list_files(document_id: UUID, vault: VaultDep, actor: ActorDep) -> ListOut[FileOut]:
    found = await files.list_files(vault, actor, document_id)
    return ListOut(data=[FileOut.of(f) for f in found])


@router.get("/{file_id}", response_model=FileOut)
async def get_file(document_id: UUID, file_id: UUID, vault: VaultDep, actor: ActorDep) -> FileOut:
    return FileOut.of(await files.get_file(vault, actor, document_id, file_id))


@router.api_route(
    "/{file_id}/content", methods=["GET", "HEAD"], response_class=Response, responses=_BINARY
)
async def get_file_content(
    document_id: UUID,
    file_id: UUID,
    request: Request,
    vault: VaultDep,
    actor: ActorDep,
    disposition: Literal["inline", "attachment"] = "attachment",
) -> Response:
    """The decrypted file, with its stored content type; supports single byte ranges."""
    if request.method == "HEAD":
        return head_response(await files.get_file(vault, actor, document_id, file_id), disposition)
    content = await files.open_content(vault, actor, document_id, file_id)
    return await stream_response(request, content, disposition)


@router.delete("/{file_id}", status_code=204)
async def delete_file(
    document_id: UUID, file_id: UUID, vault: VaultDep, actor: ActorDep
) -> Response:
    await files.delete_file(vault, actor, document_id, file_id)
    return Response(status_code=204)
