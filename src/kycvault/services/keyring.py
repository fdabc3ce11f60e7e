"""Tenant keys: created with the tenant, wrapped by the master key (format 2 for new keys;
rows of format 1 still open), cached unwrapped in the process (keys only; nothing shared
across processes lives here)."""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from uuid import UUID

from kycvault.errors import IntegrityFailure
from kycvault.ports.cipher import WRAP_V2, Cipher
from kycvault.ports.persistence.records import TenantKeyRecord
from kycvault.ports.persistence.store import Store, UnitOfWork

# How long a process keeps using the key it last read as a tenant's current one: a rotation
# (``services/key_rotation.py``) waits this long before it re-wraps, so that every process
# wraps new data keys under the new key by then.
CURRENT_KEY_SECONDS = 10.0


class TenantKeyring:
    def __init__(
        self, store: Store, cipher: Cipher, *, current_for: float = CURRENT_KEY_SECONDS
    ) -> None:
        self._store = store
        self._cipher = cipher
        # Keyed by (tenant, key id): a key id alone would hand one tenant's key to a lookup
        # made for another tenant once it is cached.
        self._keys: dict[tuple[UUID, UUID], bytes] = {}
        self._current: dict[UUID, tuple[UUID, float]] = {}
        self.current_for = current_for

    async def create_for(self, uow: UnitOfWork, tenant_id: UUID, at: datetime) -> UUID:
        """Make and store the first (or a new) key of a tenant inside ``uow``."""
        record_id = uuid.uuid4()
        # Format 2, bound to the key record too: two keys of one tenant are not interchangeable.
        _key, wrapped = self._cipher.new_tenant_key(tenant_id.bytes, record_id.bytes)
        record = TenantKeyRecord(
            id=record_id,
            tenant_id=tenant_id,
            wrapped_key=wrapped,
            master_key_id=self._cipher.master_key_id,
            created_at=at,
            wrap_format=WRAP_V2,
        )
        await uow.tenants.add_key(record)
        return record.id

    async def current(self, tenant_id: UUID) -> tuple[UUID, bytes]:
        """The key new files of the tenant are encrypted under: (key id, key)."""
        known = self._current.get(tenant_id)
        if known is not None and known[1] > time.monotonic():
            return known[0], self._keys[tenant_id, known[0]]
        async with self._store.read() as uow:
            record = await uow.tenants.current_key(tenant_id)
        if record is None:
            raise IntegrityFailure("the tenant has no encryption key", code="tenant_key_missing")
        self._keys[tenant_id, record.id] = self._unwrap(record)
        self._current[tenant_id] = (record.id, time.monotonic() + self.current_for)
        return record.id, self._keys[tenant_id, record.id]

    def forget(self, tenant_id: UUID) -> None:
        """Read the tenant's current key afresh next time (after a rotation)."""
        self._current.pop(tenant_id, None)

    async def get(self, tenant_id: UUID, key_id: UUID) -> bytes:
        key = self._keys.get((tenant_id, key_id))
        if key is not None:
            return key
        async with self._store.read() as uow:
            record = await uow.tenants.get_key(tenant_id, key_id)
        if record is None:
            raise IntegrityFailure("a file's tenant key is missing", code="tenant_key_missing")
        self._keys[tenant_id, key_id] = self._unwrap(record)
        return self._keys[tenant_id, key_id]

    def _unwrap(self, record: TenantKeyRecord) -> bytes:
        return self._cipher.open_tenant_key(record)
