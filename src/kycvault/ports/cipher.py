"""The cipher port: envelope encryption of blobs and small records.

Every method blocks (CPU-heavy crypto): the services call it from worker threads, as they
do the blob store, never on the event loop.
"""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from kycvault.ports.persistence.records import TenantKeyRecord

# How a tenant key is wrapped (``tenant_keys.wrap_format``): 1, the first format (AES-GCM
# under the master key itself, AAD the tenant); 2, ``Cipher.master_wrap`` (the master KEK,
# the master key's id in the wrap, AAD the tenant and the key record). Told apart by the
# column, never by the bytes.
WRAP_LEGACY = 1
WRAP_V2 = 2
TENANT_KEY_KIND = "tenant-key/v2"
VAULT_KEY_KIND = "vault-key/v2"


class Sealer(Protocol):
    """Encrypts one blob as a sequence of frames (chunked AEAD)."""

    def header(self) -> bytes: ...

    def seal(self, chunk: bytes, *, final: bool) -> bytes:
        """Encrypt the next plaintext chunk; every chunk but the final one has exactly
        ``Cipher.chunk_size`` bytes."""
        ...


class Opener(Protocol):
    """Decrypts frames of one blob, verifying each frame's tag."""

    def open(self, index: int, frame: bytes, *, final: bool) -> bytes:
        """Raises ``IntegrityFailure`` when the frame was altered, moved or truncated."""
        ...


class Cipher(Protocol):
    """Envelope encryption: a fresh data key per blob, wrapped by the tenant's key, which is in
    turn wrapped by the master key. ``context`` binds ciphertext to its tenant and file, so a
    blob swapped between files or tenants fails to decrypt."""

    chunk_size: int
    header_size: int
    # The current master key's public id (new wraps); ``master_key_ids`` holds it and every
    # other master key configured (accepted for unwrapping during a rotation).
    master_key_id: str

    @property
    def master_key_ids(self) -> frozenset[str]: ...

    def new_tenant_key(self, tenant_context: bytes, record_id: bytes) -> tuple[bytes, bytes]:
        """A new tenant key: (plain key, key wrapped in format 2 by the current master key,
        bound to the tenant and the key record ``record_id``)."""
        ...

    def open_tenant_key(self, record: TenantKeyRecord) -> bytes:
        """The plain key of ``record``, by its wrap format and under the master key its row
        names; ``IntegrityFailure`` (``master_key_mismatch``) when that key is not
        configured."""
        ...

    def unwrap_tenant_key(
        self, wrapped: bytes, tenant_context: bytes, *, master_key_id: str | None = None
    ) -> bytes:
        """A tenant key wrapped in format 1 (``WRAP_LEGACY``) by the master key
        ``master_key_id`` (default: the current one)."""
        ...

    def master_wrap(
        self, kind: str, secret: bytes, context: bytes, *, master_key_id: str | None = None
    ) -> bytes:
        """``secret`` wrapped in format 2 under the master key ``master_key_id`` (default: the
        current one); ``kind`` and ``context`` bind it to what it is and whose."""
        ...

    def master_unwrap(
        self, kind: str, wrapped: bytes, context: bytes, *, master_key_id: str
    ) -> bytes:
        """What ``master_wrap`` made; ``master_key_mismatch`` when that master key is not
        configured, ``key_unwrap_failed`` when the wrap was altered or moved."""
        ...

    def new_root_secret(self) -> bytes:
        """32 random bytes: the root secret of a new vault."""
        ...

    def use_root(self, root: bytes) -> None:
        """The vault's root secret, which ``derive_secret`` and the record keys come from."""
        ...

    def new_sealer(self, tenant_key: bytes, context: bytes) -> tuple[Sealer, bytes]:
        """A sealer for a new blob, and its data key wrapped by ``tenant_key``."""
        ...

    def opener(
        self, tenant_key: bytes, wrapped_dek: bytes, context: bytes, header: bytes
    ) -> Opener:
        """An opener for the blob that starts with ``header``; a bad header or a data key
        that does not unwrap raises ``IntegrityFailure``."""
        ...

    def new_subject_key(self, tenant_key: bytes, context: bytes) -> tuple[bytes, bytes]:
        """A new subject key: (plain key, key wrapped by ``tenant_key``); ``context`` names
        the tenant, subject and key record it belongs to."""
        ...

    def unwrap_subject_key(self, tenant_key: bytes, wrapped: bytes, context: bytes) -> bytes: ...

    def rewrap_subject_key(
        self, old_tenant_key: bytes, new_tenant_key: bytes, wrapped: bytes, context: bytes
    ) -> bytes: ...

    def rewrap_data_key(
        self, old_key: bytes, new_key: bytes, wrapped_dek: bytes, context: bytes
    ) -> bytes:
        """A blob's data key, wrapped by ``old_key``, wrapped by ``new_key`` instead (the blob
        itself is not touched)."""
        ...

    def sealed_size(self, plain_size: int) -> int:
        """Size of the blob that holds ``plain_size`` bytes of plaintext."""
        ...

    def seal_record(self, label: str, data: bytes, aad: bytes) -> bytes:
        """Encrypt a small record (a stored response, a text) under a key derived for
        ``label``; ``aad`` binds it to its owner."""
        ...

    def open_record(self, label: str, sealed: bytes, aad: bytes) -> bytes:
        """Decrypt what ``seal_record`` made; ``IntegrityFailure`` if it was altered."""
        ...

    def derive_secret(self, label: str) -> bytes:
        """A 32-byte secret derived for ``label`` (API-key pepper, cursor signing key) from the
        vault's root secret (``use_root``), never from the master key: a new master key
        changes none of them."""
        ...

    def derive_key(self, key: bytes, label: str) -> bytes:
        """A 32-byte key derived from ``key`` (a tenant key) for one use: HKDF-SHA256 with
        info ``kycvault/<label>``."""
        ...

    def seal_field(self, key: bytes, key_id: UUID, data: bytes, aad: bytes) -> bytes:
        """Encrypt a small field under ``key``; the result names ``key_id`` (the tenant key
        the field key was derived from), so it opens after that key stops being current."""
        ...

    def field_key_id(self, sealed: bytes) -> UUID:
        """The key id ``sealed`` names; ``IntegrityFailure`` if it is not a sealed field."""
        ...

    def open_field(self, key: bytes, sealed: bytes, aad: bytes) -> bytes:
        """Decrypt what ``seal_field`` made; ``IntegrityFailure`` if it was altered or moved
        (``aad`` differs)."""
        ...

    def blind_index(self, key: bytes, value: str) -> str:
        """HMAC-SHA256 of ``value`` under ``key``, as hex: what exact-match lookups compare
        instead of the value."""
        ...


def tenant_key_context(record: TenantKeyRecord) -> bytes:
    """What a format-2 wrap of a tenant key is bound to: its tenant and its own record."""
    return record.tenant_id.bytes + record.id.bytes
