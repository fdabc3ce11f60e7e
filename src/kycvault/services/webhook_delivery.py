"""Delivering events to webhook endpoints, in the worker processes (never in a request).

Each (event, endpoint) delivery is made in the event's own transaction
(``events.record``), so a committed change always has its deliveries and nothing is lost
between the commit and the send, whatever process dies when. Workers claim due deliveries
with a lease (``WebhookRepository.claim``), send them as the Standard Webhooks
specification says, and record the attempt only while they still hold the lease: a worker
that dies mid-send leaves the delivery to be claimed again when its lease lapses (the one
case where a receiver may get an event twice; receivers deduplicate on ``webhook-id``).

An answer 2xx delivers; 410 Gone disables the endpoint; anything else (or no answer, or a
receiver address refused by the SSRF guard) is a failed attempt, retried after the next
delay of the schedule until it is spent. An endpoint whose attempts have all failed for
``FAILING_DISABLES_AFTER`` is disabled, and that is audited.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from uuid import UUID

import structlog

from kycvault.domain import webhook_formats as formats
from kycvault.domain import webhooks as rules
from kycvault.errors import KycVaultError
from kycvault.ports.persistence.events import Event
from kycvault.ports.persistence.store import UnitOfWork
from kycvault.ports.persistence.webhooks import Attempt, Delivery, Endpoint
from kycvault.ports.webhooks import Reply, SendFailed
from kycvault.services import audit, metrics
from kycvault.services.context import Actor, AppContext
from kycvault.services.webhooks import check_receiver, signing_secrets

log = structlog.get_logger("kycvault.webhooks")

FAILING_DISABLES_AFTER = timedelta(days=5)
# Audit events of deliveries name this actor (as jobs' do): no API key did them.
WORKER_ACTOR = "worker"
USER_AGENT = "kycvault-webhooks/1"


def payload(event: Event) -> bytes:
    """The body of a delivery: the event as ``GET /v1/events/{id}`` shows it."""
    return json.dumps(
        {
            "id": str(event.id),
            "type": event.type,
            "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
            "tenant_id": str(event.tenant_id),
            "sequence": event.sequence,
            "data": event.data,
        },
        separators=(",", ":"),
    ).encode()


def signed_headers(secrets: list[str], message_id: str, body: bytes, now: float) -> dict[str, str]:
    timestamp = int(now)
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": rules.signature_header(secrets, message_id, timestamp, body),
    }


async def send(
    ctx: AppContext, url: str, message_id: str, body: bytes, secrets: list[str]
) -> Reply:
    """One POST to ``url`` signed as Standard Webhooks says, its receiver checked first
    (``InvalidInput`` if the guard refuses it, ``SendFailed`` without an answer)."""
    sign = lambda: signed_headers(secrets, message_id, body, time.time())  # noqa: E731
    return await post(ctx, url, body, sign)


async def post(
    ctx: AppContext, url: str, body: bytes, headers: Callable[[], dict[str, str]]
) -> Reply:
    """POST ``body`` to ``url`` once the guard has checked its receiver; ``headers`` are
    made just before the request leaves (a signature's timestamp is the send's)."""
    assert ctx.webhook_sender is not None
    receiver, addresses = await check_receiver(ctx, url)
    return await ctx.webhook_sender.post(receiver, addresses[0], headers(), body)


def argyle_headers(secret: str, body: bytes) -> dict[str, str]:
    headers = {"content-type": "application/json", "user-agent": USER_AGENT}
    if secret:
        headers[formats.ARGYLE_SIGNATURE_HEADER] = formats.argyle_signature(secret, body)
    return headers


async def message(
    ctx: AppContext, uow: UnitOfWork, endpoint: Endpoint, event: Event
) -> tuple[bytes, Callable[[], dict[str, str]]] | None:
    """The body of ``event``'s delivery to ``endpoint`` in the endpoint's format and how to
    make its headers; None when the event makes no message in that format (an Argyle
    subscription gets only the events that are views of user uploads)."""
    secrets = signing_secrets(ctx, endpoint)
    if endpoint.format != formats.ARGYLE:
        body = payload(event)
        return body, lambda: signed_headers(secrets, str(event.id), body, time.time())
    name = formats.argyle_event(event.type, event.data)
    if name is None or name not in (endpoint.vendor_events or ()):
        return None
    subject = await uow.subjects.get(event.tenant_id, UUID(str(event.data["subject_id"])))
    # The user as the client knows it: its own id for the person when it gave one.
    user = (subject.external_id if subject else None) or str(event.data["subject_id"])
    body = formats.argyle_message(endpoint.name or "", name, event.data, user)
    return body, lambda: argyle_headers(secrets[0], body)


async def deliver_due(ctx: AppContext, worker: str, limit: int = 8) -> int:
    """Claim the due deliveries (up to ``limit``) and attempt them at once; how many."""
    if ctx.webhook_sender is None:
        return 0
    now = ctx.clock()
    async with ctx.store.write() as uow:
        claimed = await uow.webhooks.claim(worker, now, now + ctx.jobs.lease, limit)
    await asyncio.gather(*(_attempt(ctx, worker, d) for d in claimed))
    return len(claimed)


async def _attempt(ctx: AppContext, worker: str, delivery: Delivery) -> None:
    try:
        await _deliver(ctx, worker, delivery)
    except Exception as exc:  # the database is away: the lease lapses and it is claimed again
        log.warning("webhook_delivery_error", error=type(exc).__name__, detail=str(exc)[:200])


async def _deliver(ctx: AppContext, worker: str, delivery: Delivery) -> None:
    outgoing = None
    async with ctx.store.read() as uow:
        endpoint = await uow.webhooks.get_endpoint(delivery.tenant_id, delivery.endpoint_id)
        event = await uow.events.get(delivery.tenant_id, delivery.event_id)
        if endpoint is not None and endpoint.enabled and event is not None:
            outgoing = await message(ctx, uow, endpoint, event)
    if endpoint is None or outgoing is None:
        async with ctx.store.write() as uow:
            await uow.webhooks.cancel(delivery, worker)
        return
    body, headers = outgoing
    started = time.monotonic()
    reply: Reply | None = None
    error: str | None = None
    try:
        reply = await post(ctx, endpoint.url, body, headers)
    except KycVaultError as exc:  # the SSRF guard refused the receiver's address
        error = f"{exc.code}: {exc.detail}"
    except SendFailed as exc:
        error = str(exc)
    duration_ms = int((time.monotonic() - started) * 1000)
    await _record(ctx, worker, delivery, endpoint, reply, error, duration_ms)


async def _record(
    ctx: AppContext,
    worker: str,
    delivery: Delivery,
    endpoint: Endpoint,
    reply: Reply | None,
    error: str | None,
    duration_ms: int,
) -> None:
    now = ctx.clock()
    delivered = reply is not None and 200 <= reply.status < 300
    gone = reply is not None and reply.status == 410
    failures = delivery.attempts + 1
    retry = None if delivered or gone else rules.retry_after(ctx.webhooks.schedule, failures)
    if error is None and reply is not None and not delivered:
        error = f"answered {reply.status}"
    attempt = Attempt(
        id=uuid.uuid4(),
        tenant_id=delivery.tenant_id,
        endpoint_id=delivery.endpoint_id,
        event_id=delivery.event_id,
        attempted_at=now,
        status="delivered" if delivered else "failed",
        response_code=reply.status if reply else None,
        duration_ms=duration_ms,
        error=error,
        next_retry_at=now + retry if retry is not None else None,
    )
    state = "delivered" if delivered else ("pending" if retry is not None else "failed")
    disable: str | None = None
    if gone:
        disable = "the receiver answered 410 Gone"
    elif (
        not delivered
        and endpoint.failing_since is not None
        and now - endpoint.failing_since >= FAILING_DISABLES_AFTER
    ):
        disable = "every delivery failed for 5 days"
    async with ctx.store.write() as uow:
        if not await uow.webhooks.finish(delivery, worker, attempt, state):
            return  # the lease lapsed and another worker took the delivery over
        metrics.WEBHOOK_ATTEMPTS.labels("retry" if state == "pending" else state).inc()
        failing = None if delivered else (endpoint.failing_since or now)
        if disable or failing != endpoint.failing_since:
            changed = await uow.webhooks.set_health(
                endpoint.tenant_id,
                endpoint.id,
                failing_since=failing,
                enabled=False if disable else None,
                disabled_reason=disable,
            )
            # Attempts finishing together may all find the endpoint due to be disabled:
            # only the one whose change disabled it audits that.
            if disable and changed:
                await audit.record(
                    ctx,
                    uow,
                    Actor(tenant_id=endpoint.tenant_id, key_id=WORKER_ACTOR),
                    "webhook_endpoint.disabled",
                    target_type="webhook_endpoint",
                    target_id=endpoint.id,
                    reason=disable,
                )
    log.info(
        "webhook_attempt",
        endpoint=str(endpoint.id),
        event_id=str(delivery.event_id),
        status=attempt.status,
        code=attempt.response_code,
        ms=duration_ms,
    )
