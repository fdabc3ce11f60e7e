"""/v1/audit-events: who did what to the tenant's documents, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kycvault.api.deps import ActorDep, ContextDep
from kycvault.api.routing import CheckedRoute
from kycvault.api.schemas import AuditEventOut, ListOut
from kycvault.services import audit

router = APIRouter(prefix="/v1/audit-events", tags=["audit"], route_class=CheckedRoute)


@router.get("", response_model=ListOut[AuditEventOut])
async def list_audit_events(
    ctx: ContextDep, actor: ActorDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> ListOut[AuditEventOut]:
    events = await audit.events_for(ctx, actor, limit=limit)
    return ListOut(data=[AuditEventOut.of(e) for e in events])
