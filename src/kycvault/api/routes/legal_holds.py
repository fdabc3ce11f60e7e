"""/v1/legal-holds: place, list, read and lift holds (the rules are in
``services/legal_holds.py``)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from kycvault.api.deps import ActorDep, ContextDep, JsonBody
from kycvault.api.idempotency import Once, Written, json_response
from kycvault.api.routing import CheckedRoute
from kycvault.api.schemas import LegalHoldCreate, LegalHoldOut, PageOut
from kycvault.services import legal_holds

router = APIRouter(tags=["legal holds"], route_class=CheckedRoute)
PREFIX = "/v1/legal-holds"


@router.post(PREFIX, status_code=201, response_model=LegalHoldOut, dependencies=[JsonBody])
async def place_hold(
    body: LegalHoldCreate, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """Put a subject (and so each of its documents) or one document under a legal hold:
    nothing of it can be deleted until every hold on it is lifted. Needs ``admin``."""

    async def write() -> Written:
        hold = await legal_holds.place_hold(
            ctx,
            actor,
            subject_id=body.subject_id,
            document_id=body.document_id,
            reason=body.reason,
        )
        out = LegalHoldOut.of(hold)
        return Written(json_response(out, status_code=201, location=f"{PREFIX}/{hold.id}"), hold.id)

    return await once(actor, write)


@router.get(PREFIX, response_model=PageOut[LegalHoldOut])
async def list_holds(
    ctx: ContextDep,
    actor: ActorDep,
    include_lifted: bool = False,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> PageOut[LegalHoldOut]:
    """The active holds, newest first (``include_lifted=true``: lifted ones too)."""
    page = await legal_holds.list_holds(
        ctx, actor, include_lifted=include_lifted, limit=limit, cursor=cursor
    )
    return PageOut.of(page, [LegalHoldOut.of(h) for h in page.items])


@router.get(PREFIX + "/{hold_id}", response_model=LegalHoldOut)
async def get_hold(hold_id: UUID, ctx: ContextDep, actor: ActorDep) -> LegalHoldOut:
    """The legal hold, lifted or not."""
    return LegalHoldOut.of(await legal_holds.get_hold(ctx, actor, hold_id))


@router.delete(PREFIX + "/{hold_id}", response_model=LegalHoldOut)
async def lift_hold(hold_id: UUID, ctx: ContextDep, actor: ActorDep, once: Once) -> Response:
    """Lift the hold (its record stays, with when and by whom it was lifted). Needs
    ``admin``."""

    async def write() -> Written:
        hold = await legal_holds.lift_hold(ctx, actor, hold_id)
        return Written(json_response(LegalHoldOut.of(hold)), hold.id)

    return await once(actor, write)
