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
tenant's), subject keys by the tenant key, tenant keys by the master key. Subject keys live in
a store apart from the database (``ports/keystore.py``): destroying them shreds the subject's
blobs in every backup of the database and the blob store. Deleting a wrapped data key alone
shreds nothing, since backups of the database hold it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import stat
import struct
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kycvault.errors import IntegrityFailure

MAGIC = b"KVB1"
VERSION = 1
HEADER_SIZE = 16
TAG_SIZE = 16
KEY_SIZE = 32
DEFAULT_CHUNK_SHIFT = 20  # 1 MiB frames: large enough to be cheap, small enough to stream
_NONCE_SIZE = 12
_WRAP_DEK = b"kycvault/dek|"
_WRAP_TENANT = b"kycvault/tenant-key|"
_WRAP_SUBJECT = b"kycvault/subject-key|"


def _wrap(key: bytes, secret: bytes, aad: bytes) -> bytes:
    nonce = secrets.token_bytes(_NONCE_SIZE)
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
    def __init__(self, dek: bytes, context: bytes, chunk_shift: int) -> None:
        self._aead = AESGCM(dek)
        self._prefix = secrets.token_bytes(7)
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
    """The ``Cipher`` port over one master key."""

    header_size = HEADER_SIZE

    def __init__(self, master_key: bytes, *, chunk_shift: int = DEFAULT_CHUNK_SHIFT) -> None:
        if len(master_key) != KEY_SIZE:
            raise ValueError("the master key must be 32 bytes")
        self._master = master_key
        self._chunk_shift = chunk_shift
        self.chunk_size = 1 << chunk_shift
        self._secrets: dict[str, bytes] = {}
        self.master_key_id = master_key_id(master_key)

    def new_tenant_key(self, tenant_context: bytes) -> tuple[bytes, bytes]:
        key = secrets.token_bytes(KEY_SIZE)
        return key, _wrap(self._master, key, _WRAP_TENANT + tenant_context)

    def unwrap_tenant_key(self, wrapped: bytes, tenant_context: bytes) -> bytes:
        return _unwrap(self._master, wrapped, _WRAP_TENANT + tenant_context)

    def new_sealer(self, tenant_key: bytes, context: bytes) -> tuple[FrameSealer, bytes]:
        dek = secrets.token_bytes(KEY_SIZE)
        return FrameSealer(dek, context, self._chunk_shift), _wrap(
            tenant_key, dek, _WRAP_DEK + context
        )

    def opener(
        self, tenant_key: bytes, wrapped_dek: bytes, context: bytes, header: bytes
    ) -> FrameOpener:
        if len(header) > 5 and header[5] != self._chunk_shift:
            raise IntegrityFailure(
                "the blob was written with another frame size", code="integrity_error"
            )
        return FrameOpener(_unwrap(tenant_key, wrapped_dek, _WRAP_DEK + context), context, header)

    def new_subject_key(self, tenant_key: bytes, context: bytes) -> tuple[bytes, bytes]:
        key = secrets.token_bytes(KEY_SIZE)
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
        return _wrap(self.derive_secret(f"record/{label}"), data, aad)

    def open_record(self, label: str, sealed: bytes, aad: bytes) -> bytes:
        return _unwrap(self.derive_secret(f"record/{label}"), sealed, aad)

    def derive_secret(self, label: str) -> bytes:
        if label not in self._secrets:
            self._secrets[label] = HKDF(
                algorithm=hashes.SHA256(), length=32, salt=None, info=b"kycvault/" + label.encode()
            ).derive(self._master)
        return self._secrets[label]


def frame_count(plain_size: int, chunk_size: int) -> int:
    """Frames that hold ``plain_size`` bytes; an empty blob still has one (empty) frame."""
    return max(1, -(-plain_size // chunk_size))


class KeyFileRefused(ValueError):
    """A master key file that must not be used as it is; the message says what to do."""


def new_master_key() -> bytes:
    return secrets.token_bytes(KEY_SIZE)


def decode_master_key(value: str, source: str) -> bytes:
    """A master key given as base64 (``source`` names where it came from, for errors)."""
    return _decode_key(value, source)


def read_master_key_file(path: Path) -> bytes:
    """The key in ``path``, refused when other users may read or replace it: the file must
    belong to this process's user (or root) and have no group or other permission bits."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise KeyFileRefused(f"cannot read the master key file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "r") as handle:
        # Checked on the open file, so the file checked is the file read.
        status = os.fstat(handle.fileno())
        mode = stat.S_IMODE(status.st_mode)
        if mode & 0o077:
            raise KeyFileRefused(
                f"the master key file {path} is open to group or others (mode {mode:04o}): "
                f"run `chmod 600 {path}`"
            )
        if status.st_uid not in (os.geteuid(), 0):
            raise KeyFileRefused(
                f"the master key file {path} belongs to another user (uid {status.st_uid}): "
                f"run `chown {os.geteuid()} {path}`"
            )
        text = handle.read()
    return _decode_key(text.strip(), str(path))


def write_master_key_file(path: Path, key: bytes) -> None:
    """Store ``key`` in a new file (0600, never over an existing one), durably."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.b64encode(key).decode() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def master_key_id(key: bytes) -> str:
    """A public fingerprint of a master key: what ``tenant_keys.master_key_id`` records."""
    return hmac.new(key, b"kycvault/key-id", hashlib.sha256).hexdigest()[:16]


def _decode_key(text: str, source: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except ValueError:
        raise ValueError(f"the master key in {source} is not valid base64") from None
    if len(key) != KEY_SIZE:
        raise ValueError(f"the master key in {source} must decode to 32 bytes")
    return key
