"""/v1/documents/{id}/files: attach, list, read, share and delete files."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter, Request, Response

from kycvault.api.bodies import FILE_PARTS, receive_upload, split_form
from kycvault.api.deps import ActorDep, ContextDep
from kycvault.api.dialects import upload_limits
from kycvault.api.file_serving import (
    FILE_RESPONSES,
    display_filename,
    head_response,
    stream_response,
)
from kycvault.api.idempotency import Once, Written, form_payload, json_response
from kycvault.api.multipart import multipart_boundary
from kycvault.api.routing import CheckedRoute
from kycvault.api.schemas import DownloadLinkOut, FileOut, ListOut, NoFields
from kycvault.domain.scopes import Scope
from kycvault.services import downloads, files

router = APIRouter(
    prefix="/v1/documents/{document_id}/files", tags=["files"], route_class=CheckedRoute
)

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
# The content's headers (HEAD) need what the content itself needs.
DOWNLOAD = Scope.DOCUMENTS_DOWNLOAD


@router.post("", status_code=201, response_model=ListOut[FileOut], openapi_extra=_UPLOAD_BODY)
async def add_files(
    document_id: UUID, request: Request, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """Attach 1-5 files (parts named ``file``); a document holds at most 10."""
    multipart_boundary(request.headers.get("content-type"))
    await files.prepare_file_upload(ctx, actor, document_id)
    limits = upload_limits(request)
    async with receive_upload(request, ctx, actor, limits) as (session, fields):
        _, per_file = split_form(fields, NoFields)

        async def write() -> Written:
            added = await files.add_files(
                ctx, actor, document_id, session, roles=per_file.role, hashes=per_file.sha256
            )
            listed = ListOut[FileOut](data=[FileOut.of(f) for f in added])
            return Written(json_response(listed, status_code=201))

        return await once(actor, write, payload=form_payload(fields, session.staged))


@router.get("", response_model=ListOut[FileOut])
async def list_files(document_id: UUID, ctx: ContextDep, actor: ActorDep) -> ListOut[FileOut]:
    """The document's files, in the order they were added."""
    attached = await files.list_files(ctx, actor, document_id)
    return ListOut(data=[FileOut.of(f) for f in attached])


@router.get("/{file_id}", response_model=FileOut)
async def get_file(document_id: UUID, file_id: UUID, ctx: ContextDep, actor: ActorDep) -> FileOut:
    """The file's metadata (``GET …/content`` serves its bytes)."""
    return FileOut.of(await files.get_file(ctx, actor, document_id, file_id))


@router.api_route(
    "/{file_id}/content", methods=["GET", "HEAD"], response_class=Response, responses=FILE_RESPONSES
)
async def get_file_content(
    document_id: UUID,
    file_id: UUID,
    request: Request,
    ctx: ContextDep,
    actor: ActorDep,
    disposition: Literal["inline", "attachment"] = "attachment",
) -> Response:
    """The decrypted file, with its stored content type; supports single byte ranges."""
    if request.method == "HEAD":
        stored = await files.get_file(ctx, actor, document_id, file_id, scope=DOWNLOAD)
        return head_response(stored, disposition)
    content = await files.open_content(ctx, actor, document_id, file_id)
    return await stream_response(request, content, disposition)


@router.post("/{file_id}/download-link", status_code=201, response_model=DownloadLinkOut)
async def create_download_link(
    document_id: UUID, file_id: UUID, request: Request, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """A single-use URL that serves the file once, without authentication, for 15 minutes
    (configurable). Later requests get 410."""

    async def write() -> Written:
        issued = await downloads.create_link(ctx, actor, document_id, file_id)
        base = request.app.state.public_url
        link = DownloadLinkOut(
            download_url=f"{base}/v1/downloads/{issued.token}",
            expires_at=issued.link.expires_at,
            filename=display_filename(issued.file),
            content_type=issued.file.content_type,
            size=issued.file.size,
        )
        return Written(json_response(link, status_code=201))

    return await once(actor, write)


@router.delete("/{file_id}", status_code=204)
async def delete_file(
    document_id: UUID, file_id: UUID, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """Delete the file (shredded), unless a legal hold or a retention rule keeps its document
    (409)."""

    async def write() -> Written:
        await files.delete_file(ctx, actor, document_id, file_id)
        return Written(Response(status_code=204))

    return await once(actor, write)
