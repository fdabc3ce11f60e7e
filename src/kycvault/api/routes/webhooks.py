"""/v1/webhook-endpoints, and /v1/events/{id}/redeliver."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from kycvault.api.deps import ActorDep, ContextDep, JsonBody
from kycvault.api.idempotency import Once, Written, json_response
from kycvault.api.routing import CheckedRoute
from kycvault.api.schemas import PageOut
from kycvault.api.webhook_schemas import (
    RedeliveryOut,
    WebhookAttemptOut,
    WebhookEndpointCreate,
    WebhookEndpointList,
    WebhookEndpointOut,
    WebhookEndpointPatch,
)
from kycvault.services import webhooks

router = APIRouter(tags=["webhooks"], route_class=CheckedRoute)
PREFIX = "/v1/webhook-endpoints"


@router.post(PREFIX, status_code=201, response_model=WebhookEndpointOut, dependencies=[JsonBody])
async def create_endpoint(
    body: WebhookEndpointCreate, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """A new endpoint; the answer holds its ``secret``, which is never shown again."""

    async def write() -> Written:
        made = await webhooks.create_endpoint(ctx, actor, body.model_dump(exclude_unset=True))
        out = WebhookEndpointOut.of(made.endpoint, made.secret)
        location = f"{PREFIX}/{made.endpoint.id}"
        return Written(json_response(out, status_code=201, location=location), made.endpoint.id)

    return await once(actor, write)


@router.get(PREFIX, response_model=WebhookEndpointList)
async def list_endpoints(ctx: ContextDep, actor: ActorDep) -> WebhookEndpointList:
    """The tenant's webhook endpoints (their secrets are never shown again)."""
    found = await webhooks.list_endpoints(ctx, actor)
    return WebhookEndpointList(data=[WebhookEndpointOut.of(e) for e in found])


@router.get(PREFIX + "/{endpoint_id}", response_model=WebhookEndpointOut)
async def get_endpoint(endpoint_id: UUID, ctx: ContextDep, actor: ActorDep) -> WebhookEndpointOut:
    """The webhook endpoint."""
    return WebhookEndpointOut.of(await webhooks.get_endpoint(ctx, actor, endpoint_id))


@router.patch(PREFIX + "/{endpoint_id}", response_model=WebhookEndpointOut, dependencies=[JsonBody])
async def update_endpoint(
    endpoint_id: UUID, body: WebhookEndpointPatch, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """Change the fields sent; those not sent stay as they are."""

    async def write() -> Written:
        changes = body.model_dump(exclude_unset=True)
        endpoint = await webhooks.update_endpoint(ctx, actor, endpoint_id, changes)
        return Written(json_response(WebhookEndpointOut.of(endpoint)), endpoint.id)

    return await once(actor, write)


@router.delete(PREFIX + "/{endpoint_id}", status_code=204)
async def delete_endpoint(
    endpoint_id: UUID, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """Delete the endpoint: no more deliveries to it."""

    async def write() -> Written:
        await webhooks.delete_endpoint(ctx, actor, endpoint_id)
        return Written(Response(status_code=204))

    return await once(actor, write)


@router.post(PREFIX + "/{endpoint_id}/rotate-secret", response_model=WebhookEndpointOut)
async def rotate_secret(
    endpoint_id: UUID, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """A new secret, shown once; the previous one keeps signing beside it for 24 hours."""

    async def write() -> Written:
        rotated = await webhooks.rotate_secret(ctx, actor, endpoint_id)
        out = WebhookEndpointOut.of(rotated.endpoint, rotated.secret)
        return Written(json_response(out), rotated.endpoint.id)

    return await once(actor, write)


@router.get(PREFIX + "/{endpoint_id}/deliveries", response_model=PageOut[WebhookAttemptOut])
async def list_deliveries(
    endpoint_id: UUID,
    ctx: ContextDep,
    actor: ActorDep,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> PageOut[WebhookAttemptOut]:
    """The endpoint's delivery attempts, newest first."""
    page = await webhooks.list_attempts(ctx, actor, endpoint_id, limit=limit, cursor=cursor)
    return PageOut.of(page, [WebhookAttemptOut.of(a) for a in page.items])


@router.post("/v1/events/{event_id}/redeliver", status_code=202, response_model=RedeliveryOut)
async def redeliver(event_id: UUID, ctx: ContextDep, actor: ActorDep, once: Once) -> Response:
    """Send the event again, now, to every enabled endpoint subscribed to its type."""

    async def write() -> Written:
        chosen = await webhooks.redeliver(ctx, actor, event_id)
        out = RedeliveryOut(event_id=event_id, endpoint_ids=chosen)
        return Written(json_response(out, status_code=202))

    return await once(actor, write)
