"""Envelope encryption with chunked AES-256-GCM (a STREAM construction).

Blob layout::

    header (16 bytes) = b"KVB1" | version (1) | log2(chunk size) (1) | 0 0 0 | nonce prefix (7)
    frame i           = AES-256-GCM(data key, nonce_i, chunk_i, aad) = ciphertext || tag (16)
    nonce_i           = nonce prefix (7) | i as 4-byte big-endian | 1 if last frame else 0
    aad               = context | header          (context = tenant id | file id)

Each frame is verified on its own, so a download can stream (and serve ranges) with bounded
memory. The frame index and the last-frame flag in the nonce make reordering and truncation
detectable, and the context in the AAD makes a blob copied to another file or tenant fail.
A fresh 256-bit data key per blob keeps every (key, nonce) pair unique by construction and far
below NIST SP 800-38D's limits.

Data keys are wrapped by the subject's key (or, for a document without a subject, the
tenant's), subject keys by the tenant key, tenant keys by a key-encryption key derived from
the master key (the master key itself encrypts nothing; see "Master keys" below). Subject keys
live in a store apart from the database (``ports/keystore.py``): destroying them shreds the
subject's blobs in every backup of the database and the blob store. Deleting a wrapped data
key alone shreds nothing, since backups of the database hold it.

Secrets the vault derives (API-key pepper, record keys, cursor and audit-chain keys) come from
the vault's root secret, which is stored wrapped like a tenant key: a new master key re-wraps
rows and changes nothing derived. docs/storage-format.md is the byte-level specification,
with test vectors.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import struct
from collections.abc import Callable, Sequence
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kycvault.errors import IntegrityFailure
from kycvault.ports.cipher import TENANT_KEY_KIND, WRAP_V2, tenant_key_context
from kycvault.ports.persistence.records import TenantKeyRecord

MAGIC = b"KVB1"
VERSION = 1
HEADER_SIZE = 16
TAG_SIZE = 16
KEY_SIZE = 32
DEFAULT_CHUNK_SHIFT = 20  # 1 MiB frames: large enough to be cheap, small enough to stream
_NONCE_SIZE = 12
_WRAP_DEK = b"kycvault/dek|"
_WRAP_TENANT = b"kycvault/tenant-key|"  # the legacy tenant-key wrap (format 1)
# Sealed fields (``seal_field``): magic, key kind, key id, nonce, then AES-256-GCM.
FIELD_MAGIC = b"KVF1"
FIELD_KEY_TENANT = 0  # sealed under a key derived from a tenant key
FIELD_KEY_SUBJECT = 1  # reserved: a subject key
_FIELD_HEAD = len(FIELD_MAGIC) + 1 + 16
_WRAP_SUBJECT = b"kycvault/subject-key|"
# Keys wrapped by the master key from format 2 on: b"KVW2" | master key id (8) | nonce | ct.
WRAP_V2_MAGIC = b"KVW2"
_WRAP_V2_HEADER = 4 + 8
# Contexts of the kinds (ports/cipher.py): TENANT_KEY_KIND, tenant id (16) | key record id
# (16); VAULT_KEY_KIND, vault_keys id (16) | version (4, big-endian) | purpose (ASCII).
_MASTER_KEK_INFO = b"kycvault/master-kek/v1"
_KEY_ID_LABEL = b"kycvault/key-id"
# Labels ``derive_secret`` refuses: where a vault's root is its former master key (vaults made
# before the root existed), HKDF(root, "kycvault/master-…") would be a master sub-key.
_RESERVED_LABEL_PREFIXES = ("master-", "key-id")


def _wrap(key: bytes, secret: bytes, aad: bytes, *, nonce: bytes | None = None) -> bytes:
    # ``nonce`` is given only by the test vectors (scripts/storage_vectors.py).
    nonce = secrets.token_bytes(_NONCE_SIZE) if nonce is None else nonce
    return nonce + AESGCM(key).encrypt(nonce, secret, aad)


def _unwrap(key: bytes, wrapped: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(wrapped[:_NONCE_SIZE], wrapped[_NONCE_SIZE:], aad)
    except (InvalidTag, ValueError):
        raise IntegrityFailure(
            "a stored key could not be unwrapped (wrong master key or altered data)",
            code="key_unwrap_failed",
        ) from None


class FrameSealer:
    def __init__(
        self, dek: bytes, context: bytes, chunk_shift: int, *, prefix: bytes | None = None
    ) -> None:
        self._aead = AESGCM(dek)
        # ``prefix`` is given only by the test vectors; every blob has its own data key, so a
        # random prefix is not what keeps nonces unique (see the module docstring).
        self._prefix = secrets.token_bytes(7) if prefix is None else prefix
        self._header = MAGIC + bytes([VERSION, chunk_shift, 0, 0, 0]) + self._prefix
        self._aad = context + self._header
        self._index = 0
        self._done = False

    def header(self) -> bytes:
        return self._header

    def seal(self, chunk: bytes, *, final: bool) -> bytes:
        if self._done:
            raise RuntimeError("the final frame was already sealed")
        nonce = self._prefix + struct.pack(">IB", self._index, 1 if final else 0)
        self._index += 1
        self._done = final
        return self._aead.encrypt(nonce, chunk, self._aad)


class FrameOpener:
    def __init__(self, dek: bytes, context: bytes, header: bytes) -> None:
        if len(header) != HEADER_SIZE or header[:4] != MAGIC or header[4] != VERSION:
            raise IntegrityFailure("the stored blob has no valid header", code="integrity_error")
        self._aead = AESGCM(dek)
        self._prefix = header[9:16]
        self._aad = context + header

    def open(self, index: int, frame: bytes, *, final: bool) -> bytes:
        nonce = self._prefix + struct.pack(">IB", index, 1 if final else 0)
        try:
            return self._aead.decrypt(nonce, frame, self._aad)
        except (InvalidTag, ValueError):
            raise IntegrityFailure(
                "stored data failed verification and was not served", code="integrity_error"
            ) from None


class AesGcmCipher:
    """The ``Cipher`` port over the configured master keys: the current one (new wraps) and
    any others accepted during a rotation (``previous``), told apart by their ids."""

    header_size = HEADER_SIZE

    def __init__(
        self,
        master_key: bytes,
        *,
        chunk_shift: int = DEFAULT_CHUNK_SHIFT,
        previous: Sequence[bytes] = (),
        root: bytes | None = None,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        if len(master_key) != KEY_SIZE or any(len(k) != KEY_SIZE for k in previous):
            raise ValueError("a master key must be 32 bytes")
        self._chunk_shift = chunk_shift
        self.chunk_size = 1 << chunk_shift
        self._secrets: dict[str, bytes] = {}
        # The one source of randomness: the test vectors pass a scripted one.
        self._random = random_bytes
        self._masters = {master_key_id(k): k for k in (*previous, master_key)}
        self.master_key_id = master_key_id(master_key)
        self._root = root

    @property
    def master_key_ids(self) -> frozenset[str]:
        return frozenset(self._masters)

    def _master(self, key_id: str | None) -> bytes:
        key = self._masters.get(key_id or self.master_key_id)
        if key is None:
            raise IntegrityFailure(
                f"a stored key is wrapped by master key {key_id}, which is not configured",
                code="master_key_mismatch",
            )
        return key

    def new_tenant_key(self, tenant_context: bytes, record_id: bytes) -> tuple[bytes, bytes]:
        key = self._random(KEY_SIZE)
        return key, self.master_wrap(TENANT_KEY_KIND, key, tenant_context + record_id)

    def open_tenant_key(self, record: TenantKeyRecord) -> bytes:
        if record.master_key_id not in self.master_key_ids:
            raise IntegrityFailure(
                f"a tenant key is wrapped by master key {record.master_key_id}, which is not "
                "configured",
                code="master_key_mismatch",
            )
        if record.wrap_format == WRAP_V2:
            return self.master_unwrap(
                TENANT_KEY_KIND,
                record.wrapped_key,
                tenant_key_context(record),
                master_key_id=record.master_key_id,
            )
        return self.unwrap_tenant_key(
            record.wrapped_key, record.tenant_id.bytes, master_key_id=record.master_key_id
        )

    def unwrap_tenant_key(
        self, wrapped: bytes, tenant_context: bytes, *, master_key_id: str | None = None
    ) -> bytes:
        """A tenant key in the first (legacy) wrap: the raw master key, AAD tenant only."""
        return _unwrap(self._master(master_key_id), wrapped, _WRAP_TENANT + tenant_context)

    def master_wrap(
        self, kind: str, secret: bytes, context: bytes, *, master_key_id: str | None = None
    ) -> bytes:
        kek_id = bytes.fromhex(master_key_id or self.master_key_id)
        kek = master_kek(self._master(master_key_id))
        header = WRAP_V2_MAGIC + kek_id
        nonce = self._random(_NONCE_SIZE)
        return header + _wrap(kek, secret, _v2_aad(kind, header, context), nonce=nonce)

    def master_unwrap(
        self, kind: str, wrapped: bytes, context: bytes, *, master_key_id: str
    ) -> bytes:
        header = wrapped[:_WRAP_V2_HEADER]
        if header != WRAP_V2_MAGIC + bytes.fromhex(master_key_id):
            raise IntegrityFailure(
                "a stored key's wrap does not name the master key its row records",
                code="key_unwrap_failed",
            )
        kek = master_kek(self._master(master_key_id))
        return _unwrap(kek, wrapped[_WRAP_V2_HEADER:], _v2_aad(kind, header, context))

    def new_sealer(self, tenant_key: bytes, context: bytes) -> tuple[FrameSealer, bytes]:
        dek = self._random(KEY_SIZE)
        sealer = FrameSealer(dek, context, self._chunk_shift, prefix=self._random(7))
        return sealer, _wrap(tenant_key, dek, _WRAP_DEK + context, nonce=self._random(_NONCE_SIZE))

    def opener(
        self, tenant_key: bytes, wrapped_dek: bytes, context: bytes, header: bytes
    ) -> FrameOpener:
        if len(header) > 5 and header[5] != self._chunk_shift:
            raise IntegrityFailure(
                "the blob was written with another frame size", code="integrity_error"
            )
        return FrameOpener(_unwrap(tenant_key, wrapped_dek, _WRAP_DEK + context), context, header)

    def new_subject_key(self, tenant_key: bytes, context: bytes) -> tuple[bytes, bytes]:
        key = self._random(KEY_SIZE)
        return key, _wrap(tenant_key, key, _WRAP_SUBJECT + context)

    def unwrap_subject_key(self, tenant_key: bytes, wrapped: bytes, context: bytes) -> bytes:
        return _unwrap(tenant_key, wrapped, _WRAP_SUBJECT + context)

    def rewrap_subject_key(
        self, old_tenant_key: bytes, new_tenant_key: bytes, wrapped: bytes, context: bytes
    ) -> bytes:
        key = _unwrap(old_tenant_key, wrapped, _WRAP_SUBJECT + context)
        return _wrap(new_tenant_key, key, _WRAP_SUBJECT + context)

    def rewrap_data_key(
        self, old_key: bytes, new_key: bytes, wrapped_dek: bytes, context: bytes
    ) -> bytes:
        dek = _unwrap(old_key, wrapped_dek, _WRAP_DEK + context)
        return _wrap(new_key, dek, _WRAP_DEK + context)

    def sealed_size(self, plain_size: int) -> int:
        return HEADER_SIZE + plain_size + TAG_SIZE * frame_count(plain_size, self.chunk_size)

    def seal_record(self, label: str, data: bytes, aad: bytes) -> bytes:
        key = self.derive_secret(f"record/{label}")
        return _wrap(key, data, aad, nonce=self._random(_NONCE_SIZE))

    def open_record(self, label: str, sealed: bytes, aad: bytes) -> bytes:
        return _unwrap(self.derive_secret(f"record/{label}"), sealed, aad)

    def new_root_secret(self) -> bytes:
        return self._random(KEY_SIZE)

    def use_root(self, root: bytes) -> None:
        if len(root) != KEY_SIZE:
            raise ValueError("the vault root secret must be 32 bytes")
        if root != self._root:
            self._root, self._secrets = root, {}

    def derive_key(self, key: bytes, label: str) -> bytes:
        return derive_key(key, label)

    def seal_field(self, key: bytes, key_id: UUID, data: bytes, aad: bytes) -> bytes:
        return seal_field(key, key_id, data, aad)

    def field_key_id(self, sealed: bytes) -> UUID:
        return field_key_id(sealed)

    def open_field(self, key: bytes, sealed: bytes, aad: bytes) -> bytes:
        return open_field(key, sealed, aad)

    def blind_index(self, key: bytes, value: str) -> str:
        return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()

    def derive_secret(self, label: str) -> bytes:
        if label not in self._secrets:
            if self._root is None:
                raise RuntimeError("the vault root secret is not loaded (bootstrap.open_vault)")
            self._secrets[label] = derive(self._root, label)
        return self._secrets[label]


def derive_key(key: bytes, label: str) -> bytes:
    """A 32-byte key for one use (``label``), derived from ``key`` by HKDF-SHA256."""
    info = b"kycvault/" + label.encode()
    return HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=info).derive(key)


def seal_field(key: bytes, key_id: UUID, data: bytes, aad: bytes) -> bytes:
    """``KVF1 | key kind (1) | key id (16) | nonce (12) | ciphertext | tag (16)``; the head
    (magic, kind, key id) is authenticated with ``aad``, so the key id cannot be swapped."""
    head = FIELD_MAGIC + bytes([FIELD_KEY_TENANT]) + key_id.bytes
    nonce = secrets.token_bytes(_NONCE_SIZE)
    return head + nonce + _field_aead(key).encrypt(nonce, data, head + aad)


# A listing page opens a field or more per document, each under one of a few field keys:
# the AES-GCM object of a key is made once (its key schedule costs as much as a decryption).
# It holds no state between calls, so threads share it.
@functools.lru_cache(maxsize=1024)
def _field_aead(key: bytes) -> AESGCM:
    return AESGCM(key)


def field_key_id(sealed: bytes) -> UUID:
    """The id of the tenant key a sealed field was made under (its key must be looked up
    before ``open_field``)."""
    _check_field(sealed)
    return _key_id(sealed[5:_FIELD_HEAD])


# The fields of a page name one tenant key or a few: each id is made a UUID once.
@functools.lru_cache(maxsize=1024)
def _key_id(raw: bytes) -> UUID:
    return UUID(bytes=raw)


def _check_field(sealed: bytes) -> None:
    if (
        len(sealed) < _FIELD_HEAD + _NONCE_SIZE + TAG_SIZE
        or sealed[:4] != FIELD_MAGIC
        or sealed[4] != FIELD_KEY_TENANT
    ):
        raise IntegrityFailure("a sealed field is not in a known format", code="integrity_error")


def open_field(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    _check_field(sealed)
    head, nonce = sealed[:_FIELD_HEAD], sealed[_FIELD_HEAD : _FIELD_HEAD + _NONCE_SIZE]
    try:
        return _field_aead(key).decrypt(nonce, sealed[_FIELD_HEAD + _NONCE_SIZE :], head + aad)
    except (InvalidTag, ValueError):
        raise IntegrityFailure(
            "a sealed field failed verification (altered, or moved from another row)",
            code="integrity_error",
        ) from None


def frame_count(plain_size: int, chunk_size: int) -> int:
    """Frames that hold ``plain_size`` bytes; an empty blob still has one (empty) frame."""
    return max(1, -(-plain_size // chunk_size))


def master_key_id(key: bytes) -> str:
    """A public fingerprint of a master key: what ``tenant_keys.master_key_id`` records."""
    return hmac.new(key, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


# --- Master keys: the key-encryption key, wrap format 2, derived secrets -----------------
#
# The master key has exactly two uses, each a PRF evaluation under its own label: its public
# id (HMAC-SHA256 under "kycvault/key-id", ``master_key_id``) and the key-encryption key
# (HKDF-SHA256 with info "kycvault/master-kek/v1"). Only the KEK encrypts (format-2 wraps of
# tenant keys and of the vault's root secret); everything else the vault derives comes from
# the root secret (``derive``), so replacing the master key re-wraps rows and nothing more.


def master_kek(master: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=KEY_SIZE, salt=None, info=_MASTER_KEK_INFO
    ).derive(master)


def derive(root: bytes, label: str) -> bytes:
    """HKDF-SHA256(root, info = "kycvault/" + label): one 32-byte secret per label."""
    if label.startswith(_RESERVED_LABEL_PREFIXES):
        raise ValueError(f"{label!r} is reserved for master-key derivations")
    return derive_key(root, label)


def _v2_aad(kind: str, header: bytes, context: bytes) -> bytes:
    # kind | "|" | header (magic, key id) | context: the kinds are fixed ASCII labels without
    # "|", and every context has a fixed length for its kind, so the encoding is unambiguous.
    return b"kycvault/" + kind.encode() + b"|" + header + context
