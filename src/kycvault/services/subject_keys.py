"""Subject keys: the key layer that makes erasing a subject shred it, backups included.

A file's data key is wrapped at intake by the tenant key (the subject is not always known
before the body has streamed), then, in the transaction that records the file, re-wrapped by
its subject's current key. Subject keys live in the subject-key store (``ports/keystore.py``),
apart from the database and the blob store and so from their backups. Erasure destroys them
there, and every backed-up copy of the subject's rows and blobs stops decrypting.

Ordering. The transaction that binds files to a subject key takes the tenant row's lock first
(document creation takes it anyway, to draw a number); an erasure that keeps some documents
re-wraps them under a new key generation in a transaction that takes the same lock, after it
retired the old generation in the store and before it destroys it. So a file is either bound
before the re-wrap (and re-wrapped with the rest) or after it (and sees the new generation):
none can stay wrapped by a destroyed key.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar
from uuid import UUID

from kycvault.domain.models import StoredFile
from kycvault.errors import IntegrityFailure
from kycvault.ports.cipher import Cipher
from kycvault.ports.keystore import SubjectKeyRecord, SubjectKeyStore
from kycvault.ports.persistence.store import UnitOfWork
from kycvault.services.keyring import TenantKeyring

if TYPE_CHECKING:
    from kycvault.services.context import AppContext
    from kycvault.services.intake import StagedFile


def key_context(tenant_id: UUID, subject_id: UUID, key_id: UUID) -> bytes:
    """What a subject key's wrap is bound to: a wrap moved to another record fails."""
    return tenant_id.bytes + subject_id.bytes + key_id.bytes


def file_context(tenant_id: UUID, file_id: UUID) -> bytes:
    """Associated data binding a blob's ciphertext (and its data key's wrap) to its tenant
    and file."""
    return tenant_id.bytes + file_id.bytes


def subject_key_destroyed() -> IntegrityFailure:
    return IntegrityFailure(
        "the file's subject key was destroyed (its subject was erased): it cannot be read",
        code="subject_key_destroyed",
    )


# Unwrapped subject keys a process keeps at most (least recently used go first).
CACHED_KEYS = 10_000


class SubjectKeyring:
    """Subject keys, unwrapped on first use and cached in the process by (tenant, key id)
    for ``keep_for`` seconds: a key another process destroyed (an erasure, a re-keying) is
    gone from this one's memory too within that time, and a row restored from a backup stops
    opening here as well. Which generation is current is always read from the store, never
    cached: another process may have retired it."""

    def __init__(
        self,
        store: SubjectKeyStore,
        tenant_keys: TenantKeyring,
        cipher: Cipher,
        *,
        keep_for: float = 10.0,
    ) -> None:
        self.store = store
        self._tenant_keys = tenant_keys
        self._cipher = cipher
        self._keep_for = keep_for
        self._keys: OrderedDict[tuple[UUID, UUID], tuple[bytes, float]] = OrderedDict()

    def _cached(self, tenant_id: UUID, key_id: UUID) -> bytes | None:
        found = self._keys.get((tenant_id, key_id))
        if found is None:
            return None
        if found[1] <= time.monotonic():
            del self._keys[tenant_id, key_id]
            return None
        self._keys.move_to_end((tenant_id, key_id))
        return found[0]

    def _keep(self, tenant_id: UUID, key_id: UUID, key: bytes) -> None:
        self._keys[tenant_id, key_id] = (key, time.monotonic() + self._keep_for)
        self._keys.move_to_end((tenant_id, key_id))
        while len(self._keys) > CACHED_KEYS:
            self._keys.popitem(last=False)

    async def current(self, tenant_id: UUID, subject_id: UUID, at: datetime) -> tuple[UUID, bytes]:
        """The key that wraps the subject's new data keys, made on first use."""
        record = await self.store.active(tenant_id, subject_id)
        while record is None or record.retired:
            # None live (a first upload, or after an erasure that kept nothing): the next
            # generation; two processes making it at once agree on the one stored first.
            known = await self.store.of_subject(tenant_id, subject_id)
            generation = max((k.generation for k in known), default=0) + 1
            record = await self.new_generation(tenant_id, subject_id, generation, at)
        return record.id, await self._unwrap(record)

    async def new_generation(
        self, tenant_id: UUID, subject_id: UUID, generation: int, at: datetime
    ) -> SubjectKeyRecord:
        tenant_key_id, tenant_key = await self._tenant_keys.current(tenant_id)
        key_id = uuid.uuid4()
        key, wrapped = self._cipher.new_subject_key(
            tenant_key, key_context(tenant_id, subject_id, key_id)
        )
        record = SubjectKeyRecord(
            id=key_id,
            tenant_id=tenant_id,
            subject_id=subject_id,
            generation=generation,
            wrapped_key=wrapped,
            tenant_key_id=tenant_key_id,
            created_at=at,
        )
        stored = await self.store.add(record)
        if stored.id == key_id:
            self._keep(tenant_id, key_id, key)
        return stored

    async def key(self, tenant_id: UUID, key_id: UUID) -> bytes:
        cached = self._cached(tenant_id, key_id)
        if cached is not None:
            return cached
        record = await self.store.get(tenant_id, key_id)
        if record is None:
            raise subject_key_destroyed()
        return await self._unwrap(record)

    async def destroy(self, tenant_id: UUID, key_ids: Sequence[UUID]) -> int:
        for key_id in key_ids:
            self._keys.pop((tenant_id, key_id), None)
        return await self.store.destroy(tenant_id, key_ids) if key_ids else 0

    async def _unwrap(self, record: SubjectKeyRecord) -> bytes:
        cached = self._cached(record.tenant_id, record.id)
        if cached is not None:
            return cached
        tenant_key = await self._tenant_keys.get(record.tenant_id, record.tenant_key_id)
        key = self._cipher.unwrap_subject_key(
            tenant_key,
            record.wrapped_key,
            key_context(record.tenant_id, record.subject_id, record.id),
        )
        self._keep(record.tenant_id, record.id, key)
        return key


async def wrapping_key(ctx: AppContext, stored: StoredFile) -> bytes:
    """The key that unwraps ``stored``'s data key: its subject key, else its tenant key."""
    if stored.subject_key_id is not None:
        return await ctx.subject_keys.key(stored.tenant_id, stored.subject_key_id)
    return await ctx.keyring.get(stored.tenant_id, stored.kek_id)


Unbound = TypeVar("Unbound", "StagedFile", StoredFile)


async def bind(
    ctx: AppContext,
    uow: UnitOfWork,
    tenant_id: UUID,
    subject_id: UUID | None,
    files: Sequence[Unbound],
) -> list[Unbound]:
    """``files`` (not yet recorded, their data keys wrapped by the tenant key at intake) with
    their data keys re-wrapped by the subject's current key; call it in the write transaction
    that records them (see the module's note on ordering)."""
    if subject_id is None or not files:
        return list(files)
    await uow.tenants.lock(tenant_id)
    key_id, key = await ctx.subject_keys.current(tenant_id, subject_id, ctx.clock())
    bound = []
    for item in files:
        tenant_key = await ctx.keyring.get(tenant_id, item.kek_id)
        wrapped = ctx.cipher.rewrap_data_key(
            tenant_key, key, item.wrapped_dek, file_context(tenant_id, item.id)
        )
        bound.append(replace(item, wrapped_dek=wrapped, subject_key_id=key_id))
    return bound


async def rewrap_files(
    ctx: AppContext,
    uow: UnitOfWork,
    files: Sequence[StoredFile],
    subject_id: UUID | None,
    *,
    key: tuple[UUID, bytes] | None = None,
) -> list[StoredFile]:
    """Move ``files`` under ``subject_id``'s current key (``key`` when given), or under their
    tenant key when ``subject_id`` is None: a document that changes subject, or the kept
    documents of an erasure. Only the wrapped data keys change; the blobs are not touched."""
    if not files:
        return []
    tenant_id = files[0].tenant_id
    await uow.tenants.lock(tenant_id)
    if subject_id is not None and key is None:
        key = await ctx.subject_keys.current(tenant_id, subject_id, ctx.clock())
    moved = []
    for stored in files:
        old = await wrapping_key(ctx, stored)
        if key is not None:
            new_id, new = key
        else:
            new_id, new = None, await ctx.keyring.get(tenant_id, stored.kek_id)
        if new_id == stored.subject_key_id:
            moved.append(stored)
            continue
        wrapped = ctx.cipher.rewrap_data_key(
            old, new, stored.wrapped_dek, file_context(tenant_id, stored.id)
        )
        await uow.files.rewrap(tenant_id, stored.id, wrapped, new_id)
        moved.append(replace(stored, wrapped_dek=wrapped, subject_key_id=new_id))
    return moved
