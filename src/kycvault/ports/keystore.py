"""The subject-key store: where the keys that make crypto-shredding hold are kept.

A subject's files are encrypted under data keys wrapped by the subject's key, and the subject
key (itself wrapped by the tenant key) lives here, in a store kept apart from the database and
the blob store, and so apart from their backups. Erasing a subject destroys its keys here:
every copy of its rows and blobs, in any backup of the database or the blob store, is then
ciphertext under a key that no longer exists. A backup of this store holds the keys for as
long as it is kept, which is why it is backed up on its own, with a short retention
(README, "Compliance").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID


@dataclass(frozen=True, slots=True)
class SubjectKeyRecord:
    """One generation of a subject's key. The newest live generation wraps new data keys; an
    older one is retired while its files are re-wrapped, then destroyed."""

    id: UUID
    tenant_id: UUID
    subject_id: UUID
    generation: int
    wrapped_key: bytes
    tenant_key_id: UUID
    created_at: datetime
    retired: bool = False


class SubjectKeyStore(Protocol):
    async def active(self, tenant_id: UUID, subject_id: UUID) -> SubjectKeyRecord | None:
        """The subject's newest generation that is not retired, if any."""
        ...

    async def get(self, tenant_id: UUID, key_id: UUID) -> SubjectKeyRecord | None: ...

    async def add(self, record: SubjectKeyRecord) -> SubjectKeyRecord:
        """Store ``record``, unless the subject has a key of that generation already: then
        that one (two processes making a subject's first key at once agree on one)."""
        ...

    async def retire(self, tenant_id: UUID, key_ids: Sequence[UUID]) -> None:
        """Mark keys retired: they still open what they wrap, but wrap nothing new."""
        ...

    async def destroy(self, tenant_id: UUID, key_ids: Sequence[UUID]) -> int:
        """Delete the keys for good (overwritten where the engine allows); how many were."""
        ...

    async def of_subject(self, tenant_id: UUID, subject_id: UUID) -> list[SubjectKeyRecord]: ...

    async def under_tenant_key(self, tenant_key_id: UUID, limit: int) -> list[SubjectKeyRecord]:
        """Keys wrapped by ``tenant_key_id`` (re-wrapped by a tenant-key rotation)."""
        ...

    async def replace_wrap(self, key_id: UUID, wrapped_key: bytes, tenant_key_id: UUID) -> None: ...

    async def page(self, after: UUID | None, limit: int) -> list[SubjectKeyRecord]:
        """Every key of every tenant, by id, ``limit`` after ``after`` (an export)."""
        ...

    async def close(self) -> None: ...
