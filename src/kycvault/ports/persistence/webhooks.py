"""Webhook endpoints and their deliveries: the records and the repository.

A delivery is one (event, endpoint) pair: made in the event's own transaction for every
enabled endpoint subscribed to the event's type, then claimed by workers with a lease (as
jobs are), attempted, and finished as delivered or failed. Each attempt is kept as a row of
its own for ``GET /v1/webhook-endpoints/{id}/deliveries``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from kycvault.ports.persistence.events import Event
from kycvault.ports.persistence.records import Seek

WILDCARD = "*"


@dataclass(slots=True)
class Endpoint:
    id: UUID
    tenant_id: UUID
    url: str
    events: list[str]
    description: str | None
    enabled: bool
    created_at: datetime
    updated_at: datetime
    # Sealed with the cipher (``Cipher.seal_record``); the previous one signs beside the
    # current one until ``previous_secret_until`` after a rotation.
    sealed_secret: bytes
    sealed_previous_secret: bytes | None = None
    previous_secret_until: datetime | None = None
    # Since when every attempt has failed (None: the last one succeeded, or none was made).
    failing_since: datetime | None = None
    disabled_reason: str | None = None
    # "standard" (Standard Webhooks), or a vendor's shape ("argyle": see
    # ``domain/webhook_formats.py``) with the subscription's name and the vendor's event
    # names; ``events`` are then the vault types those are views of.
    format: str = "standard"
    name: str | None = None
    vendor_events: list[str] | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """A claimed delivery: the event to send, to which endpoint, and how many attempts were
    made before this one."""

    event_id: UUID
    endpoint_id: UUID
    tenant_id: UUID
    sequence: int
    attempts: int


@dataclass(frozen=True, slots=True)
class Attempt:
    id: UUID
    tenant_id: UUID
    endpoint_id: UUID
    event_id: UUID
    attempted_at: datetime
    # "delivered" or "failed"
    status: str
    response_code: int | None
    duration_ms: int
    error: str | None = None
    next_retry_at: datetime | None = None


class WebhookRepository(Protocol):
    async def add_endpoint(self, endpoint: Endpoint) -> None: ...
    async def get_endpoint(self, tenant_id: UUID, endpoint_id: UUID) -> Endpoint | None: ...
    async def list_endpoints(self, tenant_id: UUID | None) -> list[Endpoint]:
        """The tenant's endpoints (every tenant's with None), oldest first."""
        ...

    async def count_endpoints(self, tenant_id: UUID) -> int: ...
    async def update_endpoint(self, endpoint: Endpoint) -> None:
        """Store ``endpoint`` as it is now, its subscriptions included."""
        ...

    async def set_health(
        self,
        tenant_id: UUID,
        endpoint_id: UUID,
        *,
        failing_since: datetime | None = None,
        enabled: bool | None = None,
        disabled_reason: str | None = None,
    ) -> bool:
        """Record how deliveries to the endpoint fare: ``failing_since`` (None: succeeding
        again), and disabled with a reason when ``enabled`` is False; whether it changed
        (disabling an endpoint already disabled changes nothing, also when another
        transaction disabled it meanwhile)."""
        ...

    async def delete_endpoint(self, tenant_id: UUID, endpoint_id: UUID) -> bool:
        """Remove the endpoint, its subscriptions, deliveries and attempts."""
        ...

    async def enqueue(self, event: Event) -> None:
        """When the unit ends (after the event has its sequence): a pending delivery of
        ``event`` to each enabled endpoint of its tenant subscribed to its type."""
        ...

    async def redeliver(self, event: Event, endpoint_ids: list[UUID], now: datetime) -> None:
        """Make the deliveries of ``event`` to ``endpoint_ids`` pending again, due now."""
        ...

    async def claim(
        self, worker: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[Delivery]:
        """Due pending deliveries, not leased (or their lease lapsed), none of them an
        endpoint's later event while an earlier one of that endpoint awaits its first
        attempt; leased to ``worker`` until ``lease_until``."""
        ...

    async def finish(self, delivery: Delivery, worker: str, attempt: Attempt, state: str) -> bool:
        """Record ``attempt`` and leave the delivery ``state`` ("pending": retried at the
        attempt's ``next_retry_at``), if ``worker`` still holds it; whether it did."""
        ...

    async def cancel(self, delivery: Delivery, worker: str) -> None:
        """Drop a delivery whose endpoint is gone or disabled."""
        ...

    async def purge_before(self, before: datetime, limit: int) -> int:
        """Remove up to ``limit`` deliveries of events recorded before ``before`` and up to
        ``limit`` attempts made before it (they go with the event log's retention); how
        many rows went."""
        ...

    async def attempts(self, tenant_id: UUID, endpoint_id: UUID, seek: Seek) -> list[Attempt]:
        """The endpoint's attempts keyset-paged on ``attempted_at`` (``seek.sort``)."""
        ...
