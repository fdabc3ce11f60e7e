"""The console's subjects: the search (``/console/subjects``) and one subject's page
(``/console/subjects/{id}``: its fields, its documents by type, its KYB tree, its holds).
Every read goes through the services with the login session's actor, which audit it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from kycvault.api.console.auth import ConsoleSessionDep
from kycvault.api.console.rendering import render
from kycvault.api.deps import ContextDep
from kycvault.api.routing import CheckedRoute
from kycvault.domain.models import Document, Subject
from kycvault.domain.review import ReviewStatus
from kycvault.domain.scopes import Scope
from kycvault.errors import NotFound
from kycvault.ports.persistence.holds import LegalHold
from kycvault.services import document_listing, expiry, legal_holds, subject_search, subjects
from kycvault.services.context import Actor, AppContext
from kycvault.services.subject_search import EXPIRING_DAYS, SubjectFilters

router = APIRouter(prefix="/console", include_in_schema=False, route_class=CheckedRoute)

# How many holds the subject page looks through (the tenant's active holds, newest first).
_HOLDS_READ = 100


@router.get("/subjects")
async def subjects_page(
    request: Request,
    ctx: ContextDep,
    session: ConsoleSessionDep,
    q: Annotated[str | None, Query(max_length=subject_search.MAX_SEARCH_LENGTH)] = None,
    type: Annotated[str | None, Query(max_length=20)] = None,
    expiring: Annotated[str | None, Query(max_length=5)] = None,
    review_status: Annotated[str | None, Query(max_length=40)] = None,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> HTMLResponse:
    filters = SubjectFilters(
        text=(q or "").strip() or None,
        type=subject_search.parse_type(type),
        expiring=expiring in {"1", "on", "true"},
        review_status=subject_search.parse_review_status(review_status),
    )
    found = await subject_search.search_subjects(ctx, session.actor, filters, cursor=cursor)
    return render(
        request,
        "subjects.html",
        session,
        section="subjects",
        q=filters.text or "",
        type=type or "",
        expiring=filters.expiring,
        expiring_days=EXPIRING_DAYS,
        review_status=review_status or "",
        review_statuses=[status.value for status in ReviewStatus],
        filtered=filters.active,
        found=found,
        first_page=cursor is None,
    )


@dataclass(frozen=True, slots=True)
class DocumentRow:
    document: Document
    expired: bool
    expiring_soon: bool
    held: bool


def _rows(documents: list[Document], today: date, held: set[UUID]) -> dict[str, list[DocumentRow]]:
    soon = today + timedelta(days=EXPIRING_DAYS)
    grouped: dict[str, list[DocumentRow]] = defaultdict(list)
    for doc in documents:
        expires = doc.expiry_date
        grouped[doc.type].append(
            DocumentRow(
                doc,
                expired=expires is not None and expires < today,
                expiring_soon=expires is not None and today <= expires <= soon,
                held=doc.id in held,
            )
        )
    return dict(sorted(grouped.items()))


async def _holds(ctx: AppContext, actor: Actor) -> list[LegalHold]:
    """The tenant's active holds, for a reader who may see them (no refusal is provoked)."""
    if not actor.allows(Scope.DOCUMENTS_READ):
        return []
    return (await legal_holds.list_holds(ctx, actor, limit=_HOLDS_READ)).items


async def _parent(ctx: AppContext, actor: Actor, subject: Subject) -> Subject | None:
    if subject.parent_id is None:
        return None
    try:
        return await subjects.get_subject(ctx, actor, subject.parent_id)
    except NotFound:
        return None


@router.get("/subjects/{subject_id}")
async def subject_page(
    subject_id: UUID, request: Request, ctx: ContextDep, session: ConsoleSessionDep
) -> HTMLResponse:
    actor = session.actor
    subject = await subjects.get_subject(ctx, actor, subject_id)
    documents = await document_listing.documents_of_subject(ctx, actor, subject.id)
    members = await subject_search.members_of(ctx, actor, subject.id)
    parent = await _parent(ctx, actor, subject)
    doc_ids = {doc.id for doc in documents}
    holds = [
        hold
        for hold in await _holds(ctx, actor)
        if hold.subject_id == subject.id or hold.document_id in doc_ids
    ]
    held_docs = {hold.document_id for hold in holds if hold.document_id is not None}
    return render(
        request,
        "subject.html",
        session,
        section="subjects",
        subject=subject,
        groups=_rows(documents, expiry.today(ctx), held_docs),
        document_count=len(documents),
        members=members,
        parent=parent,
        holds=holds,
        expiring_days=EXPIRING_DAYS,
    )
