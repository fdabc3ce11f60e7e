"""The cipher port: envelope encryption of blobs and small records.

Every method blocks (CPU-heavy crypto): the services call it from worker threads, as they
do the blob store, never on the event loop.
"""

from __future__ import annotations

from typing import Protocol


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
    master_key_id: str

    def new_tenant_key(self, tenant_context: bytes) -> tuple[bytes, bytes]:
        """A new tenant key: (plain key, key wrapped by the master key)."""
        ...

    def unwrap_tenant_key(self, wrapped: bytes, tenant_context: bytes) -> bytes: ...

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
        """A 32-byte secret derived from the master key for ``label`` (API-key pepper,
        cursor signing key), so one key file is all an operator must keep."""
        ...
