"""Sealed fields and blind indexes of rows: what the repositories store instead of the
identity data a database dump would otherwise show (document numbers, the MRZ, file digests).

A field is sealed (``Cipher.seal_field``, format ``KVF1``) under a key derived from the
tenant's current key, with info ``kycvault/field/v1/<label>``; the sealed value names that
tenant key, so it still opens once another key is current. The AAD is the label, the tenant
and the caller's context (the row's id, for processing results also their generation), so a
value copied to another row, tenant or column fails to open.

A blind index is HMAC-SHA256 of a normalised value under a key derived from the tenant's
*first* key (``kycvault/blind-index/v1/<label>``): keys are retired, never destroyed, so the
index of a value stays the same across tenant-key rotation and exact-match lookups keep
working without re-indexing.

The codec runs inside the repositories, on their connection: it reads the tenant's key
records there (the same rows ``services/keyring.py`` reads), so a unit of work never waits
for a second connection. Unwrapped keys are cached for the process, as the keyring does.
"""

from __future__ import annotations

import time
from uuid import UUID

import sqlalchemy as sa

from kycvault.adapters.db.tables import tenant_keys
from kycvault.errors import IntegrityFailure
from kycvault.ports.cipher import Cipher
from kycvault.ports.persistence.records import TenantKeyRecord

_AAD = b"kycvault/field|"


class FieldCodec:
    def __init__(self, cipher: Cipher, *, current_for: float = 10.0) -> None:
        self._cipher = cipher
        self._current_for = current_for
        self._keys: dict[tuple[UUID, UUID], bytes] = {}
        self._derived: dict[tuple[UUID, UUID, str], bytes] = {}
        # What opening a field of (tenant, key, label) takes: its key and the AAD's fixed
        # head. A listing page opens some three hundred fields (numbers, metadata, findings,
        # digests): found in one look-up, not made again for each.
        self._openings: dict[tuple[UUID, UUID, str], tuple[bytes, bytes]] = {}
        self._first: dict[UUID, UUID] = {}
        # For ``current_for`` seconds, as the keyring keeps it: a key made current by a
        # rotation is taken up after that; meanwhile fields are sealed under the older key,
        # which is retired, never destroyed, and still opens them.
        self._current: dict[UUID, tuple[UUID, float]] = {}

    def seal(
        self, conn: sa.Connection, tenant_id: UUID, label: str, data: bytes, aad: bytes
    ) -> bytes:
        key_id, until = self._current.get(tenant_id, (None, 0.0))
        if key_id is None or time.monotonic() >= until:
            key_id = self._key_id(conn, tenant_id, first=False)
            self._current[tenant_id] = (key_id, time.monotonic() + self._current_for)
        key = self._field_key(conn, tenant_id, key_id, f"field/v1/{label}")
        return self._cipher.seal_field(key, key_id, data, _context(tenant_id, label, aad))

    def open(
        self, conn: sa.Connection, tenant_id: UUID, label: str, sealed: bytes, aad: bytes
    ) -> bytes:
        key_id = self._cipher.field_key_id(sealed)
        opening = self._openings.get((tenant_id, key_id, label))
        if opening is None:
            key = self._field_key(conn, tenant_id, key_id, f"field/v1/{label}")
            opening = self._openings[tenant_id, key_id, label] = (
                key,
                _context(tenant_id, label, b""),
            )
        key, context = opening
        return self._cipher.open_field(key, sealed, context + aad)

    def index(self, conn: sa.Connection, tenant_id: UUID, label: str, value: str) -> str:
        """The blind index of ``value`` (already normalised by the caller)."""
        first = self._first.get(tenant_id)
        if first is None:
            first = self._first[tenant_id] = self._key_id(conn, tenant_id, first=True)
        key = self._field_key(conn, tenant_id, first, f"blind-index/v1/{label}")
        return self._cipher.blind_index(key, value)

    def _key_id(self, conn: sa.Connection, tenant_id: UUID, *, first: bool) -> UUID:
        """The tenant's current key (the newest not retired) or its first (the oldest)."""
        stmt = sa.select(tenant_keys.c.id).where(tenant_keys.c.tenant_id == tenant_id)
        if first:
            stmt = stmt.order_by(tenant_keys.c.created_at.asc(), tenant_keys.c.id)
        else:
            stmt = stmt.where(tenant_keys.c.retired_at.is_(None)).order_by(
                tenant_keys.c.created_at.desc()
            )
        key_id = conn.execute(stmt.limit(1)).scalar()
        if not isinstance(key_id, UUID):
            raise IntegrityFailure("the tenant has no encryption key", code="tenant_key_missing")
        return key_id

    def _field_key(self, conn: sa.Connection, tenant_id: UUID, key_id: UUID, label: str) -> bytes:
        derived = self._derived.get((tenant_id, key_id, label))
        if derived is None:
            derived = self._cipher.derive_key(self._tenant_key(conn, tenant_id, key_id), label)
            self._derived[tenant_id, key_id, label] = derived
        return derived

    def _tenant_key(self, conn: sa.Connection, tenant_id: UUID, key_id: UUID) -> bytes:
        key = self._keys.get((tenant_id, key_id))
        if key is not None:
            return key
        row = (
            conn.execute(
                sa.select(tenant_keys).where(
                    tenant_keys.c.tenant_id == tenant_id, tenant_keys.c.id == key_id
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise IntegrityFailure(
                "a sealed field's tenant key is missing", code="tenant_key_missing"
            )
        # The keyring's own rule for every wrap format and configured master key.
        record = TenantKeyRecord(
            id=row["id"],
            tenant_id=row["tenant_id"],
            wrapped_key=bytes(row["wrapped_key"]),
            master_key_id=row["master_key_id"],
            created_at=row["created_at"],
            wrap_format=row["wrap_format"],
        )
        key = self._cipher.open_tenant_key(record)
        self._keys[tenant_id, key_id] = key
        return key


def _context(tenant_id: UUID, label: str, aad: bytes) -> bytes:
    # The label ends at the first "|" (labels never hold one); the tenant id has 16 bytes.
    return _AAD + label.encode() + b"|" + tenant_id.bytes + aad
