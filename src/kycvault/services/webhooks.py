"""Webhook endpoints: where a tenant's events are pushed (``webhook_delivery.py`` pushes
them). Each endpoint has a secret, shown once when made or rotated and stored sealed; a
rotated-out secret keeps signing beside the new one for a day, so receivers can switch over
without losing a message. Every change is audited."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from kycvault.domain import webhook_formats as formats
from kycvault.domain import webhooks as rules
from kycvault.domain.scopes import Scope
from kycvault.errors import Conflict, InvalidInput, NotFound
from kycvault.ports.persistence.records import Seek
from kycvault.ports.persistence.webhooks import WILDCARD, Attempt, Endpoint
from kycvault.services import audit, events
from kycvault.services.authorization import require
from kycvault.services.context import Actor, AppContext
from kycvault.services.pagination import Page, check_limit, cursor_codec, paginate

MAX_ENDPOINTS = 20
MAX_DESCRIPTION = 500
ROTATION_OVERLAP = timedelta(hours=24)
_SECRET_LABEL = "webhook-secret"  # noqa: S105 (a label for the sealing key)
MUTABLE_FIELDS = frozenset({"url", "events", "description", "enabled"})


@dataclass(frozen=True, slots=True)
class WithSecret:
    endpoint: Endpoint
    secret: str


def endpoint_not_found() -> NotFound:
    return NotFound("no such webhook endpoint", code="webhook_endpoint_not_found")


def _aad(endpoint: Endpoint, which: str) -> bytes:
    return endpoint.tenant_id.bytes + endpoint.id.bytes + which.encode()


def _seal(ctx: AppContext, endpoint: Endpoint, secret: str, which: str) -> bytes:
    return ctx.cipher.seal_record(_SECRET_LABEL, secret.encode(), _aad(endpoint, which))


def signing_secrets(ctx: AppContext, endpoint: Endpoint) -> list[str]:
    """The current secret, and during a rotation's overlap the previous one too."""
    current = ctx.cipher.open_record(_SECRET_LABEL, endpoint.sealed_secret, _aad(endpoint, "1"))
    found = [current.decode()]
    until = endpoint.previous_secret_until
    if endpoint.sealed_previous_secret and until is not None and ctx.clock() < until:
        sealed = endpoint.sealed_previous_secret
        found.append(ctx.cipher.open_record(_SECRET_LABEL, sealed, _aad(endpoint, "0")).decode())
    return found


async def check_receiver(
    ctx: AppContext, url: str
) -> tuple[rules.ReceiverUrl, list[rules.IPAddress]]:
    """``url`` as a receiver and the addresses its host has now, all checked (the SSRF
    guard: at creation, and again before each delivery attempt, which connects to one of
    these addresses rather than resolving the host again)."""
    settings = ctx.webhooks
    receiver = rules.parse_url(url, allowed_http_hosts=settings.allowed_http_hosts)
    if ctx.webhook_sender is None:
        raise Conflict("webhooks are not available here", code="webhooks_unavailable")
    addresses = await ctx.webhook_sender.resolve(receiver.host, receiver.port)
    rules.check_addresses(addresses, allow_private=settings.allow_private)
    return receiver, addresses


def _event_types(raw: Any) -> list[str]:
    if not isinstance(raw, list) or not raw or not all(isinstance(t, str) for t in raw):
        raise InvalidInput.field("events", "invalid_events", "a non-empty list of event types")
    unknown = sorted(set(raw) - events.TYPES - {WILDCARD})
    if unknown:
        raise InvalidInput.field("events", "unknown_event_type", f"no event type {unknown[0]!r}")
    return sorted(set(raw))


def _description(raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or len(raw) > MAX_DESCRIPTION:
        raise InvalidInput.field(
            "description", "invalid_description", f"text of at most {MAX_DESCRIPTION} characters"
        )
    return raw


def _url(raw: Any) -> str:
    if not isinstance(raw, str):
        raise InvalidInput.field("url", "invalid_url", "an absolute https URL")
    return raw


async def _manage(ctx: AppContext, actor: Actor, endpoint_id: UUID | None = None) -> None:
    """Every use case here needs ``webhooks:manage``."""
    await require(
        ctx, actor, Scope.WEBHOOKS_MANAGE, target_type="webhook_endpoint", target_id=endpoint_id
    )


async def create_endpoint(ctx: AppContext, actor: Actor, body: Mapping[str, Any]) -> WithSecret:
    await _manage(ctx, actor)
    unknown = sorted(set(body) - {"url", "events", "description"})
    if unknown:
        raise InvalidInput.field(unknown[0], "unknown_field", "this field cannot be set")
    if "url" not in body or "events" not in body:
        missing = "url" if "url" not in body else "events"
        raise InvalidInput.field(missing, "required", "this field is required")
    url, types = _url(body["url"]), _event_types(body["events"])
    description = _description(body.get("description"))
    secret = rules.new_secret()
    endpoint = await _add(ctx, actor, url, types, secret, description=description)
    return WithSecret(endpoint, secret)


async def subscribe_argyle(
    ctx: AppContext,
    actor: Actor,
    *,
    url: str,
    vendor_events: list[str],
    name: str,
    secret: str | None,
) -> Endpoint:
    """An endpoint that gets Argyle's user-upload webhooks (``vendor_events``, Argyle's
    names), in Argyle's shape and signed with the client's ``secret`` (unsigned without
    one): ``domain/webhook_formats.py``."""
    await _manage(ctx, actor)
    unknown = sorted(set(vendor_events) - set(formats.ARGYLE_EVENTS))
    if not vendor_events or unknown:
        what = f"no event {unknown[0]!r}" if unknown else "at least one event"
        raise InvalidInput.field("events", "unknown_event_type", what)
    chosen = sorted(set(vendor_events))
    return await _add(
        ctx,
        actor,
        _url(url),
        formats.native_types(chosen),
        secret or "",
        format=formats.ARGYLE,
        name=name,
        vendor_events=chosen,
    )


async def _add(
    ctx: AppContext,
    actor: Actor,
    url: str,
    types: list[str],
    secret: str,
    *,
    description: str | None = None,
    format: str = formats.STANDARD,
    name: str | None = None,
    vendor_events: list[str] | None = None,
) -> Endpoint:
    await check_receiver(ctx, url)
    now = ctx.clock()
    endpoint = Endpoint(
        id=uuid.uuid4(),
        tenant_id=actor.tenant_id,
        url=url,
        events=types,
        description=description,
        enabled=True,
        created_at=now,
        updated_at=now,
        sealed_secret=b"",
        format=format,
        name=name,
        vendor_events=vendor_events,
    )
    endpoint.sealed_secret = _seal(ctx, endpoint, secret, "1")
    async with ctx.store.write() as uow:
        if await uow.webhooks.count_endpoints(actor.tenant_id) >= MAX_ENDPOINTS:
            raise Conflict(
                f"a tenant has at most {MAX_ENDPOINTS} webhook endpoints",
                code="too_many_webhook_endpoints",
            )
        await uow.webhooks.add_endpoint(endpoint)
        await audit.record(
            ctx,
            uow,
            actor,
            "webhook_endpoint.created",
            target_type="webhook_endpoint",
            target_id=endpoint.id,
            events=vendor_events or types,
            format=format,
        )
    return endpoint


async def list_endpoints(ctx: AppContext, actor: Actor) -> list[Endpoint]:
    await _manage(ctx, actor)
    async with ctx.store.read() as uow:
        return await uow.webhooks.list_endpoints(actor.tenant_id)


async def get_endpoint(ctx: AppContext, actor: Actor, endpoint_id: UUID) -> Endpoint:
    await _manage(ctx, actor, endpoint_id)
    async with ctx.store.read() as uow:
        endpoint = await uow.webhooks.get_endpoint(actor.tenant_id, endpoint_id)
    if endpoint is None:
        raise endpoint_not_found()
    return endpoint


async def update_endpoint(
    ctx: AppContext, actor: Actor, endpoint_id: UUID, changes: Mapping[str, Any]
) -> Endpoint:
    await _manage(ctx, actor, endpoint_id)
    unknown = sorted(set(changes) - MUTABLE_FIELDS)
    if unknown:
        raise InvalidInput.field(unknown[0], "unknown_field", "this field cannot be set")
    values: dict[str, Any] = {}
    if "url" in changes:
        values["url"] = _url(changes["url"])
        await check_receiver(ctx, values["url"])
    if "events" in changes:
        values["events"] = _event_types(changes["events"])
    if "description" in changes:
        values["description"] = _description(changes["description"])
    if "enabled" in changes:
        if not isinstance(changes["enabled"], bool):
            raise InvalidInput.field("enabled", "invalid_boolean", "true or false")
        values["enabled"] = changes["enabled"]
        if changes["enabled"]:  # switched on again: a fresh start
            values.update(disabled_reason=None, failing_since=None)
    async with ctx.store.write() as uow:
        endpoint = await uow.webhooks.get_endpoint(actor.tenant_id, endpoint_id)
        if endpoint is None:
            raise endpoint_not_found()
        if "events" in values and endpoint.format != formats.STANDARD:
            raise Conflict(
                f"this endpoint gets {endpoint.format}'s events; subscribe again to change them",
                code="webhook_endpoint_vendor_events",
            )
        endpoint = replace(endpoint, **values, updated_at=ctx.clock())
        if values.get("enabled") is False:
            endpoint.disabled_reason = "disabled by the client"
        await uow.webhooks.update_endpoint(endpoint)
        await audit.record(
            ctx,
            uow,
            actor,
            "webhook_endpoint.updated",
            target_type="webhook_endpoint",
            target_id=endpoint.id,
            fields=sorted(values),
        )
    return endpoint


async def delete_endpoint(ctx: AppContext, actor: Actor, endpoint_id: UUID) -> None:
    await _manage(ctx, actor, endpoint_id)
    async with ctx.store.write() as uow:
        if not await uow.webhooks.delete_endpoint(actor.tenant_id, endpoint_id):
            raise endpoint_not_found()
        await audit.record(
            ctx,
            uow,
            actor,
            "webhook_endpoint.deleted",
            target_type="webhook_endpoint",
            target_id=endpoint_id,
        )


async def rotate_secret(ctx: AppContext, actor: Actor, endpoint_id: UUID) -> WithSecret:
    """A new secret (shown once); the current one keeps signing for ``ROTATION_OVERLAP``."""
    await _manage(ctx, actor, endpoint_id)
    secret = rules.new_secret()
    async with ctx.store.write() as uow:
        endpoint = await uow.webhooks.get_endpoint(actor.tenant_id, endpoint_id)
        if endpoint is None:
            raise endpoint_not_found()
        current = signing_secrets(ctx, endpoint)[0]
        now = ctx.clock()
        endpoint.sealed_previous_secret = _seal(ctx, endpoint, current, "0")
        endpoint.previous_secret_until = now + ROTATION_OVERLAP
        endpoint.sealed_secret = _seal(ctx, endpoint, secret, "1")
        endpoint.updated_at = now
        await uow.webhooks.update_endpoint(endpoint)
        await audit.record(
            ctx,
            uow,
            actor,
            "webhook_endpoint.secret_rotated",
            target_type="webhook_endpoint",
            target_id=endpoint.id,
        )
    return WithSecret(endpoint, secret)


async def list_attempts(
    ctx: AppContext,
    actor: Actor,
    endpoint_id: UUID,
    *,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[Attempt]:
    """The endpoint's delivery attempts, newest first."""
    await get_endpoint(ctx, actor, endpoint_id)

    async def fetch(seek: Seek) -> list[Attempt]:
        async with ctx.store.read() as uow:
            return await uow.webhooks.attempts(actor.tenant_id, endpoint_id, seek)

    return await paginate(
        fetch,
        codec=cursor_codec(ctx.cipher),
        tenant_id=actor.tenant_id,
        scope=f"webhook-attempts|{endpoint_id}",
        sort="-attempted_at",
        key=lambda a: (a.attempted_at, a.id),
        parse=datetime.fromisoformat,
        limit=check_limit(limit),
        cursor=cursor,
    )


async def redeliver(ctx: AppContext, actor: Actor, event_id: UUID) -> list[UUID]:
    """Send the event again to every enabled endpoint subscribed to its type, now; the ids
    of those endpoints."""
    await _manage(ctx, actor)
    event = await events.get_event(ctx, actor, event_id)
    async with ctx.store.write() as uow:
        endpoints = await uow.webhooks.list_endpoints(actor.tenant_id)
        chosen = [
            e.id
            for e in endpoints
            if e.enabled and (event.type in e.events or WILDCARD in e.events)
        ]
        await uow.webhooks.redeliver(event, chosen, ctx.clock())
        await audit.record(
            ctx,
            uow,
            actor,
            "event.redelivered",
            target_type="event",
            target_id=event.id,
            endpoints=[str(e) for e in chosen],
        )
    return chosen
