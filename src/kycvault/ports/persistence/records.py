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
    # ports/cipher.py: WRAP_LEGACY (1) or WRAP_V2 (2); told apart by this, never by the bytes.
    wrap_format: int = 1


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One access or change. ``seq``, ``prev_mac`` and ``mac`` are its place in the tenant's
    chain (``domain/audit_chain.py``), given by the store when the event is written."""

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
    subject_id: UUID | None = None
    document_id: UUID | None = None
    file_id: UUID | None = None
    client_address: str | None = None
    seq: int | None = None
    prev_mac: bytes | None = None
    mac: bytes | None = None

    def chained_fields(self, chain_id: UUID, seq: int) -> dict[str, Any]:
        """The event as its chain link covers it (``audit_chain.CHAINED_FIELDS``) and as
        its row stores it."""
        return {
            "id": self.id,
            "chain_id": chain_id,
            "seq": seq,
            "tenant_id": self.tenant_id,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "outcome": self.outcome,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "subject_id": self.subject_id,
            "document_id": self.document_id,
            "file_id": self.file_id,
            "client_address": self.client_address,
            "request_id": self.request_id,
            "details": self.details,
        }


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What ``GET /v1/audit-events`` may select on; every given field must match."""

    subject_id: UUID | None = None
    document_id: UUID | None = None
    actor: str | None = None
    actions: tuple[str, ...] = ()
    outcome: str | None = None
    at_from: datetime | None = None
    at_to: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditChainHead:
    """Where a chain ends: the number and MAC of its newest event (``None``: a chain of
    events written before the chain existed, not sealed yet)."""

    chain_id: UUID
    last_seq: int
    last_mac: bytes | None


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


@dataclass(frozen=True, slots=True)
class JobBacklog:
    """The unfinished jobs of one kind in one state (queued, running, dead): how many, and
    when the oldest was queued."""

    kind: str
    state: str
    count: int
    oldest: datetime
