"""Argyle's webhook subscriptions (``/v2/webhooks``): subscribe, list, get, delete.

A subscription is a vault webhook endpoint in Argyle's format (``services/webhooks.py``
keeps the rules: the receiver guard, the endpoint limit, audit; ``domain/webhook_formats.py``
the message and its ``X-Argyle-Signature``). Argyle's ``"*"`` subscribes to every event
there is here, its three user-upload ones. ``config`` (Argyle's option to embed an account
object in some payloads) names nothing a user upload has, so only an empty one is taken.
The client's ``secret`` is shown in the answer to the subscription and never again.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from kycvault.api.compat.argyle.schemas import stamp
from kycvault.api.compat.shared import path_id
from kycvault.api.deps import ActorDep, ContextDep, JsonBody
from kycvault.api.idempotency import Once, Written, json_response
from kycvault.api.routing import CheckedRoute
from kycvault.api.schemas import _Input
from kycvault.domain.webhook_formats import ARGYLE, ARGYLE_EVENTS
from kycvault.errors import InvalidInput
from kycvault.ports.persistence.webhooks import Endpoint
from kycvault.services import webhooks

WEBHOOKS = "/v2/webhooks"
ALL = "*"

router = APIRouter(route_class=CheckedRoute)


class Subscription(_Input):
    events: list[str] | str = Field(max_length=50)
    name: str = Field(min_length=1, max_length=200)
    url: str = Field(max_length=2048)
    secret: str | None = Field(default=None, min_length=1, max_length=500)
    config: dict[str, Any] | None = None


class Webhook(BaseModel):
    id: UUID
    events: list[str]
    name: str
    url: str
    secret: str | None
    config: dict[str, Any] | None
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, endpoint: Endpoint, secret: str | None = None) -> Webhook:
        return cls(
            id=endpoint.id,
            events=list(endpoint.vendor_events or ()),
            name=endpoint.name or "",
            url=endpoint.url,
            secret=secret,
            config=None,
            created_at=stamp(endpoint.created_at),
            updated_at=stamp(endpoint.updated_at),
        )


class WebhookPage(BaseModel):
    results: list[Webhook]
    next: str | None
    previous: str | None


def _events(raw: list[str] | str) -> list[str]:
    if raw == ALL or raw == [ALL]:
        return sorted(ARGYLE_EVENTS)
    if isinstance(raw, str):
        raise InvalidInput.field("events", "invalid_events", 'a list of events, or "*"')
    return raw


async def _subscription(ctx: ContextDep, actor: ActorDep, webhook_id: str) -> Endpoint:
    """An Argyle subscription of the tenant (its other endpoints are not Argyle's)."""
    endpoint = await webhooks.get_endpoint(
        ctx, actor, path_id(webhook_id, webhooks.endpoint_not_found)
    )
    if endpoint.format != ARGYLE:
        raise webhooks.endpoint_not_found()
    return endpoint


@router.post(WEBHOOKS, status_code=201, response_model=Webhook, dependencies=[JsonBody])
async def subscribe(body: Subscription, ctx: ContextDep, actor: ActorDep, once: Once) -> Response:
    """Subscribe ``url`` to Argyle's user-upload events."""
    if body.config:
        raise InvalidInput.field(
            "config", "unsupported_config", "user-upload webhooks take no configuration"
        )

    async def write() -> Written:
        endpoint = await webhooks.subscribe_argyle(
            ctx,
            actor,
            url=body.url,
            vendor_events=_events(body.events),
            name=body.name,
            secret=body.secret,
        )
        out = Webhook.of(endpoint, body.secret)
        return Written(json_response(out, status_code=201), endpoint.id)

    return await once(actor, write)


@router.get(WEBHOOKS, response_model=WebhookPage)
async def list_subscriptions(ctx: ContextDep, actor: ActorDep) -> WebhookPage:
    """The tenant's Argyle subscriptions, oldest first, on one page (a tenant has at most
    ``MAX_ENDPOINTS``)."""
    found = await webhooks.list_endpoints(ctx, actor)
    mine = [Webhook.of(e) for e in found if e.format == ARGYLE]
    return WebhookPage(results=mine, next=None, previous=None)


@router.get(WEBHOOKS + "/{webhook_id}", response_model=Webhook)
async def get_subscription(webhook_id: str, ctx: ContextDep, actor: ActorDep) -> Webhook:
    """The webhook subscription (its secret is not shown again)."""
    return Webhook.of(await _subscription(ctx, actor, webhook_id))


@router.delete(WEBHOOKS + "/{webhook_id}", status_code=204)
async def unsubscribe(webhook_id: str, ctx: ContextDep, actor: ActorDep, once: Once) -> Response:
    """Delete the subscription: no more deliveries to it."""

    async def write() -> Written:
        endpoint = await _subscription(ctx, actor, webhook_id)
        await webhooks.delete_endpoint(ctx, actor, endpoint.id)
        return Written(Response(status_code=204))

    return await once(actor, write)
