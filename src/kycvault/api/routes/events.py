"""/v1/events: the tenant's event log, oldest first, with filters and cursors."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from kycvault.api.deps import ActorDep, ContextDep
from kycvault.api.routing import CheckedRoute
from kycvault.api.schemas import EventOut, PageOut
from kycvault.ports.persistence.events import EventFilter
from kycvault.services import events

router = APIRouter(prefix="/v1/events", tags=["events"], route_class=CheckedRoute)


async def _filters(
    type: Annotated[list[str], Query(max_length=40, description="repeatable")] = [],  # noqa: B006
    subject_id: UUID | None = None,
    document_id: UUID | None = None,
    created_from: Annotated[
        str | None, Query(max_length=40, description="ISO 8601 time, or a date (UTC, inclusive)")
    ] = None,
    created_to: Annotated[
        str | None, Query(max_length=40, description="ISO 8601 time, or a date (UTC, inclusive)")
    ] = None,
) -> EventFilter:
    return EventFilter(
        types=tuple(type),
        subject_id=subject_id,
        document_id=document_id,
        created_from=events.parse_time(created_from, "created_from"),
        created_to=events.parse_time(created_to, "created_to", end=True),
    )


@router.get("", response_model=PageOut[EventOut])
async def list_events(
    ctx: ContextDep,
    actor: ActorDep,
    where: Annotated[EventFilter, Depends(_filters)],
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> PageOut[EventOut]:
    """Events matching every filter given, in the order they were committed. A page at the
    end of the log still has a ``next_cursor``: poll it for the events recorded later."""
    page = await events.list_events(ctx, actor, where, limit=limit, cursor=cursor)
    return PageOut.of(page, [EventOut.of(e) for e in page.items])


@router.get("/{event_id}", response_model=EventOut)
async def get_event(event_id: UUID, ctx: ContextDep, actor: ActorDep) -> EventOut:
    """One event of the log."""
    return EventOut.of(await events.get_event(ctx, actor, event_id))
