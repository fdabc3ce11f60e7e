"""Webhook delivery's rules on real SQLite and PostgreSQL, with a scripted network (the
receiver's addresses and answers) and a clock moved by hand: an endpoint whose attempts all
fail for five days is disabled and that is audited, a success in between starts the count
again, and an address the guard refuses at delivery time (DNS changed since the endpoint
was made) is a failed attempt that sends nothing."""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest

from kycvault.config import Settings
from kycvault.domain.webhooks import IPAddress, ReceiverUrl
from kycvault.ports.webhooks import Reply
from kycvault.services import events, webhook_delivery, webhooks
from kycvault.services.context import Actor, AppContext
from tests.backends import Backend
from tests.helpers import audit_events, backend_settings
from tests.unit.clock import Clock

PUBLIC = ipaddress.ip_address("93.184.216.34")
PRIVATE = ipaddress.ip_address("10.0.0.5")


class ScriptedNetwork:
    """Resolves every host to ``addresses``; answers each post with ``status``."""

    def __init__(self) -> None:
        self.addresses: list[IPAddress] = [PUBLIC]
        self.status = 500
        self.posts: list[IPAddress] = []

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        return list(self.addresses)

    async def post(
        self, url: ReceiverUrl, address: IPAddress, headers: Mapping[str, str], body: bytes
    ) -> Reply:
        self.posts.append(address)
        return Reply(self.status, b"")


@pytest.fixture
def settings(backend_pair: Backend, tmp_path: Path) -> Settings:
    return backend_settings(backend_pair, tmp_path)


@pytest.fixture
def network() -> ScriptedNetwork:
    return ScriptedNetwork()


@pytest.fixture
def wctx(ctx: AppContext, network: ScriptedNetwork) -> AppContext:
    return dataclasses.replace(ctx, webhook_sender=network)


async def _change(ctx: AppContext, actor: Actor) -> None:
    async with ctx.store.write() as uow:
        await events.record(ctx, uow, actor, events.SUBJECT_DELETED, {"subject_id": None})


async def _endpoint_state(ctx: AppContext, actor: Actor, endpoint_id: UUID) -> tuple[bool, str]:
    found = await webhooks.get_endpoint(ctx, actor, endpoint_id)
    return found.enabled, found.disabled_reason or ""


@pytest.mark.anyio
async def test_five_days_of_failures_disable_the_endpoint(
    wctx: AppContext, actor: Actor, clock: Clock, network: ScriptedNetwork
) -> None:
    made = await webhooks.create_endpoint(
        wctx, actor, {"url": "https://receiver.example/hook", "events": ["*"]}
    )
    endpoint_id = made.endpoint.id
    await _change(wctx, actor)
    assert await webhook_delivery.deliver_due(wctx, "w") == 1  # fails: failing from now
    clock.now += timedelta(days=2)
    network.status = 204
    await _change(wctx, actor)
    assert await webhook_delivery.deliver_due(wctx, "w") == 2  # the retry and the new one
    network.status = 500
    clock.now += timedelta(days=1)
    await _change(wctx, actor)
    await webhook_delivery.deliver_due(wctx, "w")  # fails: failing from day 3
    clock.now += timedelta(days=4, hours=23)
    await _change(wctx, actor)
    await webhook_delivery.deliver_due(wctx, "w")
    # Failing for 4 days 23 hours: still on (the success on day 2 started the count again).
    assert await _endpoint_state(wctx, actor, endpoint_id) == (True, "")
    clock.now += timedelta(hours=1)
    await _change(wctx, actor)
    await webhook_delivery.deliver_due(wctx, "w")
    enabled, reason = await _endpoint_state(wctx, actor, endpoint_id)
    assert not enabled and "5 days" in reason
    disabled = [
        e for e in await audit_events(wctx, actor.tenant_id) if e.action.endswith(".disabled")
    ]
    assert [(e.action, e.target_id, e.actor) for e in disabled] == [
        ("webhook_endpoint.disabled", endpoint_id, webhook_delivery.WORKER_ACTOR)
    ]
    # Disabled: nothing more is sent, and new changes queue nothing for it.
    sent = len(network.posts)
    await _change(wctx, actor)
    clock.now += timedelta(days=1)
    await webhook_delivery.deliver_due(wctx, "w")
    assert len(network.posts) == sent


@pytest.mark.anyio
async def test_an_address_refused_at_delivery_time_is_a_failed_attempt(
    wctx: AppContext, actor: Actor, clock: Clock, network: ScriptedNetwork
) -> None:
    made = await webhooks.create_endpoint(
        wctx, actor, {"url": "https://receiver.example/hook", "events": ["*"]}
    )
    network.addresses = [PUBLIC, PRIVATE]  # the name now also points inside
    await _change(wctx, actor)
    assert await webhook_delivery.deliver_due(wctx, "w") == 1
    assert network.posts == []  # nothing left the vault
    page = await webhooks.list_attempts(wctx, actor, made.endpoint.id)
    [attempt] = page.items
    assert attempt.status == "failed" and attempt.response_code is None
    assert attempt.error is not None and attempt.error.startswith("webhook_url_private")
    assert attempt.next_retry_at is not None  # retried: the name may point outside again
    network.addresses = [PUBLIC]
    network.status = 200
    clock.now = attempt.next_retry_at + timedelta(seconds=1)
    assert await webhook_delivery.deliver_due(wctx, "w") == 1
    assert network.posts == [PUBLIC]
    newest = (await webhooks.list_attempts(wctx, actor, made.endpoint.id)).items[0]
    assert newest.status == "delivered"
