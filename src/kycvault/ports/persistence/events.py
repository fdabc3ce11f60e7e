"""The event log's part of the persistence port: the record of one event, the filters of a
listing, and the repository.

An event is written in the transaction of the change it reports (a transactional outbox).
Its ``sequence`` is given when that transaction ends: per tenant it grows by one with each
event, in the order the transactions commit, so a client that reads the log in sequence
order from a cursor never misses an event committed after it looked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from kycvault.ports.persistence.records import Seek


@dataclass(frozen=True, slots=True)
class Event:
    id: UUID
    tenant_id: UUID
    type: str
    created_at: datetime
    data: dict[str, Any] = field(default_factory=dict)
    # The objects the event is about, for filtering (also inside ``data``).
    subject_id: UUID | None = None
    document_id: UUID | None = None
    # None until the event's transaction ends (see the module docstring).
    sequence: int | None = None


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Filters that combine (all must hold); ``created_from`` and ``created_to`` inclusive."""

    types: tuple[str, ...] = ()
    subject_id: UUID | None = None
    document_id: UUID | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


class EventRepository(Protocol):
    async def add(self, event: Event) -> None:
        """Record ``event`` when the unit of work ends, with the tenant's next sequence."""
        ...

    async def get(self, tenant_id: UUID, event_id: UUID) -> Event | None: ...
    async def page(self, tenant_id: UUID, where: EventFilter, seek: Seek) -> list[Event]:
        """Events matching ``where``, keyset-paged on ``sequence`` (``seek.sort``)."""
        ...

    async def purge_before(self, before: datetime, limit: int) -> int:
        """Remove up to ``limit`` of the oldest events created before ``before``; how many."""
        ...
