"""Processing: reprocess a document, read the text extracted from it, and the tenant's
processing settings (/v1/settings/processing)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from kycvault.api.deps import ActorDep, ContextDep, JsonBody
from kycvault.api.idempotency import Once, Written, json_response
from kycvault.api.routing import CheckedRoute
from kycvault.api.schemas import (
    DocumentOut,
    DocumentTextOut,
    ProcessingSettingsOut,
    ProcessingSettingsPatch,
)
from kycvault.errors import NotFound
from kycvault.services import processing

router = APIRouter(tags=["processing"], route_class=CheckedRoute)


@router.post("/v1/documents/{document_id}/reprocess", status_code=202, response_model=DocumentOut)
async def reprocess_document(
    document_id: UUID, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """Queue the document's files to be read again (after a change of settings, say)."""

    async def write() -> Written:
        doc = await processing.reprocess(ctx, actor, document_id)
        return Written(json_response(DocumentOut.of(doc), status_code=202), doc.id)

    return await once(actor, write)


@router.get("/v1/documents/{document_id}/text", response_model=DocumentTextOut)
async def document_text(document_id: UUID, ctx: ContextDep, actor: ActorDep) -> DocumentTextOut:
    """The text OCR read from the document's files; 404 ``text_not_found`` until it has read
    some."""
    text = await processing.get_text(ctx, actor, document_id)
    if text is None:
        raise NotFound("no text has been read from this document", code="text_not_found")
    return DocumentTextOut(document_id=document_id, text=text, characters=len(text))


@router.get("/v1/settings/processing", response_model=ProcessingSettingsOut)
async def get_processing_settings(ctx: ContextDep, actor: ActorDep) -> ProcessingSettingsOut:
    """Which processing stages run on new uploads, for this tenant."""
    settings = await processing.get_settings(ctx, actor)
    return ProcessingSettingsOut(**settings.as_dict())


@router.patch(
    "/v1/settings/processing", response_model=ProcessingSettingsOut, dependencies=[JsonBody]
)
async def update_processing_settings(
    body: ProcessingSettingsPatch, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """Switch processing stages on or off for new uploads; the fields not sent stay as they are."""

    async def write() -> Written:
        changes = body.model_dump(exclude_none=True)
        settings = await processing.update_settings(ctx, actor, changes)
        return Written(json_response(ProcessingSettingsOut(**settings.as_dict())))

    return await once(actor, write)
