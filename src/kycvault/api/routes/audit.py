"""/v1/audit-events: who did what to the tenant's documents, newest first, with filters and
cursors; the same as a streamed JSON-lines or CSV export; and one document's history."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from kycvault.api.deps import ActorDep, ContextDep
from kycvault.api.routing import CheckedRoute
from kycvault.api.schemas import AuditEventOut, PageOut
from kycvault.ports.persistence.records import AuditFilter
from kycvault.services import audit_trail
from kycvault.services.events import parse_time

router = APIRouter(tags=["audit"], route_class=CheckedRoute)

_TIME = "ISO 8601 time, or a date (UTC, inclusive)"


async def _filters(
    subject_id: UUID | None = None,
    document_id: UUID | None = None,
    actor: Annotated[str | None, Query(max_length=40)] = None,
    action: Annotated[list[str], Query(max_length=40, description="repeatable")] = [],  # noqa: B006
    outcome: Annotated[str | None, Query(max_length=20)] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40, description=_TIME)] = None,
    to: Annotated[str | None, Query(max_length=40, description=_TIME)] = None,
) -> AuditFilter:
    return AuditFilter(
        subject_id=subject_id,
        document_id=document_id,
        actor=actor,
        actions=tuple(action),
        outcome=outcome,
        at_from=parse_time(from_, "from"),
        at_to=parse_time(to, "to", end=True),
    )


@router.get(
    "/v1/audit-events",
    response_model=PageOut[AuditEventOut],
)
async def list_audit_events(
    ctx: ContextDep,
    actor: ActorDep,
    where: Annotated[AuditFilter, Depends(_filters)],
    limit: Annotated[int | None, Query(ge=1, le=audit_trail.MAX_PAGE)] = None,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> PageOut[AuditEventOut]:
    """The tenant's audit events matching every filter given, newest first (100 a page
    unless ``limit`` says otherwise, up to 500)."""
    page = await audit_trail.list_events(ctx, actor, where, limit=limit, cursor=cursor)
    return PageOut.of(page, [AuditEventOut.of(e) for e in page.items])


@router.get(
    "/v1/audit-events/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}, "text/csv": {}}}},
)
async def export_audit_events(
    ctx: ContextDep,
    actor: ActorDep,
    where: Annotated[AuditFilter, Depends(_filters)],
    format: Literal["jsonl", "csv"] = "jsonl",
) -> StreamingResponse:
    """Every matching event, newest first, streamed as JSON lines or CSV (same columns)."""
    await audit_trail.start_export(ctx, actor, where)
    media = "text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson"
    return StreamingResponse(
        audit_trail.export(ctx, actor, where, format),
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="audit-events.{format}"',
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/v1/documents/{document_id}/history",
    response_model=PageOut[AuditEventOut],
)
async def document_history(
    document_id: UUID,
    ctx: ContextDep,
    actor: ActorDep,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> PageOut[AuditEventOut]:
    """Every recorded access to and change of the document and its files, newest first."""
    page = await audit_trail.document_history(ctx, actor, document_id, limit=limit, cursor=cursor)
    return PageOut.of(page, [AuditEventOut.of(e) for e in page.items])
