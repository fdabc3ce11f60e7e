#!/usr/bin/env python3
"""Write the storage-format test vectors (docs/storage-format.md) with kycvault's own code:
``python scripts/storage_vectors.py > tests/vectors/storage_format.json``.

Every key, nonce, prefix and UUID is fixed, and frames are 16 bytes (chunk shift 4), so a
vector fits on a line. The cipher takes its randomness from a scripted source: each value it
draws is the next one listed here, of the length it asks for. The negative vectors are made
from the positive ones (and, where a frame must be sealed anew, with the data key) and must
all fail to open. ``tests/unit/test_storage_vectors.py`` recomputes the file with the code
and each positive vector independently with AES-GCM and HKDF, and opens every negative one.
"""

from __future__ import annotations

import json
import struct
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from kycvault.adapters.crypto import (
    HEADER_SIZE,
    AesGcmCipher,
    derive,
    master_kek,
    master_key_id,
)
from kycvault.ports.cipher import TENANT_KEY_KIND, VAULT_KEY_KIND

CHUNK_SHIFT = 4
LENGTHS = (1, 15, 16, 17, 40)
LABELS = (
    "api-key-pepper",
    "cursor",
    "audit-chain/v1",
    "export-fingerprint",
    "record/document-text",
    "record/idempotency",
    "record/webhook-secret",
)


def fixed(tag: int, size: int) -> bytes:
    """``size`` bytes counting up from ``tag``: 0x10 0x11 0x12 … (mod 256)."""
    return bytes((tag + i) % 256 for i in range(size))


MASTER = fixed(0x00, 32)
ROOT = fixed(0x20, 32)
TENANT_KEY = fixed(0x40, 32)
DEK = fixed(0x60, 32)
PREFIX = fixed(0x80, 7)
NONCE = fixed(0xA0, 12)
TENANT = uuid.UUID("00000000-0000-4000-8000-000000000001")
FILE = uuid.UUID("00000000-0000-4000-8000-000000000002")
KEY_RECORD = uuid.UUID("00000000-0000-4000-8000-000000000003")
VAULT_KEY_RECORD = uuid.UUID("00000000-0000-4000-8000-000000000004")
DOCUMENT = uuid.UUID("00000000-0000-4000-8000-000000000005")
OTHER_FILE = uuid.UUID("00000000-0000-4000-8000-000000000006")


class Scripted:
    """The cipher's randomness: the listed values, in order, each of the length asked for."""

    def __init__(self, *values: bytes) -> None:
        self._values: Iterator[bytes] = iter(values)

    def __call__(self, size: int) -> bytes:
        value = next(self._values)
        if len(value) != size:
            raise AssertionError(f"asked for {size} random bytes, scripted {len(value)}")
        return value


def cipher(*values: bytes, master: bytes = MASTER, root: bytes = ROOT) -> AesGcmCipher:
    return AesGcmCipher(master, chunk_shift=CHUNK_SHIFT, root=root, random_bytes=Scripted(*values))


def plaintext(n: int) -> bytes:
    return bytes((0x41 + i % 26) for i in range(n))  # "ABC…", easy to read in hex


def seal_blob(sealer_of: Callable[[], Any], plain: bytes, chunk: int) -> bytes:
    sealer = sealer_of()
    pieces = [plain[i : i + chunk] for i in range(0, len(plain), chunk)]
    frames = [sealer.seal(p, final=i == len(pieces) - 1) for i, p in enumerate(pieces)]
    return bytes(sealer.header() + b"".join(frames))


def blob(n: int) -> dict[str, Any]:
    made = cipher(DEK, PREFIX, NONCE)
    context = TENANT.bytes + FILE.bytes
    box: dict[str, Any] = {}

    def sealer_of() -> Any:
        sealer, wrapped = made.new_sealer(TENANT_KEY, context)
        box["wrapped"] = wrapped
        return sealer

    sealed = seal_blob(sealer_of, plaintext(n), made.chunk_size)
    assert len(sealed) == made.sealed_size(n)
    return {
        "plaintext": plaintext(n).hex(),
        "size": n,
        "context": context.hex(),
        "blob": sealed.hex(),
        "wrapped_dek": box["wrapped"].hex(),
    }


def _frame(dek_cipher: AesGcmCipher, header: bytes, index: int, chunk: bytes, final: bool) -> bytes:
    """One frame sealed directly with the data key (for the negative vectors)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = header[9:16] + struct.pack(">IB", index, 1 if final else 0)
    return AESGCM(DEK).encrypt(nonce, chunk, TENANT.bytes + FILE.bytes + header)


def negatives(base: dict[str, Any]) -> list[dict[str, Any]]:
    """Altered copies of the 40-byte blob (three frames: 16, 16 and 8 bytes)."""
    sealed = bytes.fromhex(base["blob"])
    header, body = sealed[:HEADER_SIZE], sealed[HEADER_SIZE:]
    f0, f1, f2 = body[:32], body[32:64], body[64:]
    plain = bytes.fromhex(base["plaintext"])
    other = cipher(DEK, fixed(0x90, 7), NONCE)
    context = TENANT.bytes + FILE.bytes
    foreign = other.new_sealer(TENANT_KEY, context)[0].header()
    reserved, shift = bytearray(header), bytearray(header)
    reserved[6] ^= 0x01
    shift[5] = CHUNK_SHIFT + 1

    def case(
        name: str, why: str, blob: bytes, size: int = 40, ctx: bytes = context
    ) -> dict[str, Any]:
        return {
            "name": name,
            "why": why,
            "blob": blob.hex(),
            "size": size,
            "context": ctx.hex(),
            "wrapped_dek": base["wrapped_dek"],
        }

    return [
        case(
            "truncated_at_frame_boundary",
            "final frame dropped and the size rewritten to 32: frame 1 was sealed as not last",
            header + f0 + f1,
            size=32,
        ),
        case(
            "last_flag_cleared",
            "frame 2 sealed anew (with the data key) with last = 0",
            header + f0 + f1 + _frame(other, header, 2, plain[32:], False),
        ),
        case("frames_swapped", "frames 0 and 1 in each other's place", header + f1 + f0 + f2),
        case("frame_duplicated", "frame 0 in the place of frame 1", header + f0 + f0 + f2),
        case("foreign_header", "the header of another blob (another prefix)", foreign + body),
        case(
            "foreign_context",
            "opened as another file of the same tenant",
            sealed,
            ctx=TENANT.bytes + OTHER_FILE.bytes,
        ),
        case("reserved_byte_flipped", "header byte 6 (reserved) is 0x01", bytes(reserved) + body),
        case("wrong_chunk_shift", "header byte 5 says 32-byte frames", bytes(shift) + body),
        case(
            "extra_trailing_frame",
            "a fourth frame (index 3, last) appended, sealed with the data key, size 48",
            sealed + _frame(other, header, 3, plain[:8], True),
            size=48,
        ),
    ]


def wraps() -> dict[str, Any]:
    legacy_cipher = cipher()
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    legacy = NONCE + AESGCM(MASTER).encrypt(
        NONCE, TENANT_KEY, b"kycvault/tenant-key|" + TENANT.bytes
    )
    # The code opens what the spec's direct AES-GCM call made (format 1 is never written now).
    assert legacy_cipher.unwrap_tenant_key(legacy, TENANT.bytes) == TENANT_KEY
    _key, v2 = cipher(TENANT_KEY, NONCE).new_tenant_key(TENANT.bytes, KEY_RECORD.bytes)
    vault_context = VAULT_KEY_RECORD.bytes + struct.pack(">I", 1) + b"root"
    root = cipher(NONCE).master_wrap(VAULT_KEY_KIND, ROOT, vault_context)
    return {
        "tenant_key_format_1": {
            "tenant_id": str(TENANT),
            "aad": (b"kycvault/tenant-key|" + TENANT.bytes).hex(),
            "wrapped": legacy.hex(),
        },
        "tenant_key_format_2": {
            "kind": TENANT_KEY_KIND,
            "tenant_id": str(TENANT),
            "key_record_id": str(KEY_RECORD),
            "context": (TENANT.bytes + KEY_RECORD.bytes).hex(),
            "wrapped": v2.hex(),
        },
        "vault_root": {
            "kind": VAULT_KEY_KIND,
            "vault_key_id": str(VAULT_KEY_RECORD),
            "version": 1,
            "purpose": "root",
            "context": vault_context.hex(),
            "wrapped": root.hex(),
        },
    }


def records() -> list[dict[str, Any]]:
    aad = TENANT.bytes + DOCUMENT.bytes
    data = b"OCR text of a document"
    sealed = cipher(NONCE).seal_record("document-text", data, aad)
    empty = cipher(NONCE).seal_record("idempotency", b"", TENANT.bytes + b"key-1")
    return [
        {"label": "document-text", "aad": aad.hex(), "data": data.hex(), "sealed": sealed.hex()},
        {
            "label": "idempotency",
            "aad": (TENANT.bytes + b"key-1").hex(),
            "data": "",
            "sealed": empty.hex(),
        },
    ]


def vectors() -> dict[str, Any]:
    blobs = [blob(n) for n in LENGTHS]
    return {
        "about": "kycvault storage-format test vectors: see docs/storage-format.md",
        "chunk_shift": CHUNK_SHIFT,
        "keys": {
            "master_key": MASTER.hex(),
            "master_key_id": master_key_id(MASTER),
            "master_kek": master_kek(MASTER).hex(),
            "root": ROOT.hex(),
            "tenant_key": TENANT_KEY.hex(),
            "dek": DEK.hex(),
            "prefix": PREFIX.hex(),
            "nonce": NONCE.hex(),
        },
        "derived": {label: derive(ROOT, label).hex() for label in LABELS},
        "blobs": blobs,
        "wraps": wraps(),
        "records": records(),
        "negative_blobs": negatives(blobs[-1]),
    }


if __name__ == "__main__":
    json.dump(vectors(), sys.stdout, indent=1)
    sys.stdout.write("\n")
