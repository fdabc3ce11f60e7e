"""Records the persistence port reads and writes besides the domain's own objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID


@dataclass(frozen=True, slots=True)
class TenantKeyRecord:
    id: UUID
    tenant_id: UUID
    wrapped_key: bytes
    master_key_id: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AuditEvent:
    id: UUID
    tenant_id: UUID | None
    at: datetime
    actor: str | None
    action: str
    outcome: str
    target_type: str | None = None
    target_id: UUID | None = None
    request_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Seek:
    """One keyset page request: rows after (or, ``backward``, before) ``position`` in the
    order given by ``sort`` (a column name, ``-`` for descending), ties broken by id; with
    ``inclusive`` the row at ``position`` itself too."""

    sort: str
    limit: int
    position: tuple[Any, UUID] | None = None
    backward: bool = False
    inclusive: bool = False


@dataclass(frozen=True, slots=True)
class DownloadLink:
    """A single-use link to one file; only the token's SHA-256 is stored."""

    id: UUID
    tenant_id: UUID
    token_hash: bytes
    document_id: UUID
    file_id: UUID
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    created_by: str | None = None


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """What one ``Idempotency-Key`` did: ``in_progress`` while its request runs (renewing
    ``lease_until``), then ``completed`` with the response to replay. ``created_at`` is the
    claim's identity."""

    tenant_id: UUID
    key: str
    fingerprint: str
    state: str
    created_at: datetime
    expires_at: datetime
    lease_until: datetime | None = None
    status_code: int | None = None
    content_type: str | None = None
    location: str | None = None
    body: bytes | None = None
    target_id: UUID | None = None
    # The scopes the request was allowed, which a replay needs too (None: stored before
    # keys had scopes, by a key that held them all).
    scopes: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class CountMismatch:
    """A stored count that disagrees with the rows it counts: a document's ``file_count``
    (``document_id`` set), or a tenant's document count."""

    tenant_id: UUID
    document_id: UUID | None
    recorded: int
    actual: int
