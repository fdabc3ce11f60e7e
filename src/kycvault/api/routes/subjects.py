"""/v1/subjects"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import StreamingResponse

from kycvault.api.deps import ActorDep, ContextDep, JsonBody
from kycvault.api.idempotency import Once, Written, json_response
from kycvault.api.routing import CheckedRoute
from kycvault.api.schemas import DocumentOut, PageOut, SubjectCreate, SubjectOut, SubjectPatch
from kycvault.domain.listing import MAX_SEARCH_LENGTH, SubjectQuery
from kycvault.domain.types import SubjectType
from kycvault.services import subject_export, subjects

router = APIRouter(prefix="/v1/subjects", tags=["subjects"], route_class=CheckedRoute)

# What the export holds of a subject and a document: what these routes answer.
_VIEWS = subject_export.Views(
    subject=lambda subject: SubjectOut.of(subject).model_dump(mode="json"),
    document=lambda doc: DocumentOut.of(doc).model_dump(mode="json"),
)


@router.post("", status_code=201, response_model=SubjectOut, dependencies=[JsonBody])
async def create_subject(
    body: SubjectCreate, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """A subject: a person (``individual``) or a company (``company``, KYB), with the client's
    ``external_id`` and free ``metadata``. ``Location`` names it."""

    async def write() -> Written:
        subject = await subjects.create_subject(ctx, actor, body.model_dump(exclude_unset=True))
        location = f"/v1/subjects/{subject.id}"
        response = json_response(SubjectOut.of(subject), status_code=201, location=location)
        return Written(response, subject.id)

    return await once(actor, write)


async def _filters(
    external_id: Annotated[
        str | None, Query(max_length=255, description="exact; the client's id of the subject")
    ] = None,
    type: Annotated[
        list[SubjectType], Query(max_length=len(SubjectType), description="repeatable")
    ] = [],  # noqa: B006
    parent_id: Annotated[
        UUID | None, Query(description="the company whose members (KYB) to list")
    ] = None,
    search: Annotated[
        str | None,
        Query(
            max_length=MAX_SEARCH_LENGTH,
            description="case-insensitive part of the display name or external id, or the "
            "subject's number",
        ),
    ] = None,
) -> SubjectQuery:
    return SubjectQuery.of(external_id=external_id, types=type, parent_id=parent_id, search=search)


@router.get("", response_model=PageOut[SubjectOut])
async def list_subjects(
    ctx: ContextDep,
    actor: ActorDep,
    query: Annotated[SubjectQuery, Depends(_filters)],
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> PageOut[SubjectOut]:
    """Subjects matching every filter given, newest first, with cursors (``next_cursor``/
    ``prev_cursor``). Names and external ids are stored sealed, so ``search`` has no index:
    it reads the tenant's subjects in order and keeps those that match, up to 20,000 a
    page. Its cursors go forward only, and a page may be short (even empty) with a
    ``next_cursor`` when the read stopped at that bound: follow ``next_cursor`` until it
    is null."""
    page = await subjects.list_subjects(ctx, actor, query, limit=limit, cursor=cursor)
    return PageOut.of(page, [SubjectOut.of(s) for s in page.items])


@router.get("/{subject_id}", response_model=SubjectOut)
async def get_subject(subject_id: UUID, ctx: ContextDep, actor: ActorDep) -> SubjectOut:
    """The subject."""
    return SubjectOut.of(await subjects.get_subject(ctx, actor, subject_id))


@router.patch("/{subject_id}", response_model=SubjectOut, dependencies=[JsonBody])
async def update_subject(
    subject_id: UUID, body: SubjectPatch, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """Change the fields sent; those not sent stay as they are."""

    async def write() -> Written:
        changes = body.model_dump(exclude_unset=True)
        subject = await subjects.update_subject(ctx, actor, subject_id, changes)
        return Written(json_response(SubjectOut.of(subject)), subject.id)

    return await once(actor, write)


@router.delete("/{subject_id}", status_code=204)
async def delete_subject(
    subject_id: UUID, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """Delete the subject with its documents and their files (shredded), unless a legal hold or
    a retention rule keeps any of them (409)."""

    async def write() -> Written:
        await subjects.delete_subject(ctx, actor, subject_id)
        return Written(Response(status_code=204))

    return await once(actor, write)


@router.get(
    "/{subject_id}/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}}},
)
async def export_subject(subject_id: UUID, ctx: ContextDep, actor: ActorDep) -> StreamingResponse:
    """Everything the vault holds about the subject (a GDPR Art. 15 access request) as a zip
    streamed as it is read: the subject, its documents with what was extracted, every file's
    content, the audit events about them, and a signed manifest of SHA-256 digests."""
    export = await subject_export.start_export(ctx, actor, subject_id)
    return StreamingResponse(
        subject_export.stream(ctx, export, _VIEWS),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            "Cache-Control": "no-store",
        },
    )
