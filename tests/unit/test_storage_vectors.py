"""The storage-format test vectors (tests/vectors/storage_format.json, written by
scripts/storage_vectors.py, specified in docs/storage-format.md): the project's code makes
every one of them again byte for byte; each is also recomputed from the specification alone,
with direct AES-GCM, HMAC and HKDF calls; and every negative vector fails to open."""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import struct
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kycvault.adapters.crypto import AesGcmCipher, frame_count
from kycvault.errors import IntegrityFailure

ROOT_DIR = Path(__file__).resolve().parents[2]
VECTORS: dict[str, Any] = json.loads((ROOT_DIR / "tests/vectors/storage_format.json").read_text())
KEYS = {
    name: bytes.fromhex(value) for name, value in VECTORS["keys"].items() if name != "master_key_id"
}
CHUNK = 1 << VECTORS["chunk_shift"]


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "storage_vectors", ROOT_DIR / "scripts/storage_vectors.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _hkdf(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key)


def _hex(value: str) -> bytes:
    return bytes.fromhex(value)


def test_the_code_makes_every_vector_again() -> None:
    assert _generator().vectors() == VECTORS


def test_master_key_id_kek_and_derived_secrets_by_the_spec() -> None:
    master = KEYS["master_key"]
    key_id = hmac.new(master, b"kycvault/key-id", hashlib.sha256).hexdigest()[:16]
    assert VECTORS["keys"]["master_key_id"] == key_id
    assert KEYS["master_kek"] == _hkdf(master, b"kycvault/master-kek/v1")
    for label, value in VECTORS["derived"].items():
        assert _hex(value) == _hkdf(KEYS["root"], b"kycvault/" + label.encode())


@pytest.mark.parametrize("vector", VECTORS["blobs"], ids=lambda v: f"{v['size']}B")
def test_blobs_by_the_spec(vector: dict[str, Any]) -> None:
    plain, context = _hex(vector["plaintext"]), _hex(vector["context"])
    header = b"KVB1" + bytes([1, VECTORS["chunk_shift"], 0, 0, 0]) + KEYS["prefix"]
    aead = AESGCM(KEYS["dek"])
    pieces = [plain[i : i + CHUNK] for i in range(0, len(plain), CHUNK)]
    frames = [
        aead.encrypt(
            KEYS["prefix"] + struct.pack(">I", i) + bytes([i == len(pieces) - 1]),
            piece,
            context + header,
        )
        for i, piece in enumerate(pieces)
    ]
    assert _hex(vector["blob"]) == header + b"".join(frames)
    size = len(plain)
    assert len(_hex(vector["blob"])) == 16 + size + 16 * max(1, -(-size // CHUNK))
    nonce = KEYS["nonce"]
    dek_aad = b"kycvault/dek|" + context
    assert _hex(vector["wrapped_dek"]) == nonce + AESGCM(KEYS["tenant_key"]).encrypt(
        nonce, KEYS["dek"], dek_aad
    )
    assert _open(vector) == plain


def test_wraps_by_the_spec() -> None:
    wraps, nonce = VECTORS["wraps"], KEYS["nonce"]
    legacy = wraps["tenant_key_format_1"]
    assert _hex(legacy["wrapped"]) == nonce + AESGCM(KEYS["master_key"]).encrypt(
        nonce, KEYS["tenant_key"], _hex(legacy["aad"])
    )
    header = b"KVW2" + _hex(VECTORS["keys"]["master_key_id"])
    kek = AESGCM(KEYS["master_kek"])
    for name, secret in (("tenant_key_format_2", "tenant_key"), ("vault_root", "root")):
        wrap = wraps[name]
        aad = b"kycvault/" + wrap["kind"].encode() + b"|" + header + _hex(wrap["context"])
        assert _hex(wrap["wrapped"]) == header + nonce + kek.encrypt(nonce, KEYS[secret], aad)
    root = wraps["vault_root"]
    assert _hex(root["context"]) == (
        _uuid(root["vault_key_id"]) + struct.pack(">I", root["version"]) + root["purpose"].encode()
    )


def test_sealed_records_by_the_spec() -> None:
    for record in VECTORS["records"]:
        key = _hkdf(KEYS["root"], b"kycvault/record/" + record["label"].encode())
        nonce = KEYS["nonce"]
        sealed = nonce + AESGCM(key).encrypt(nonce, _hex(record["data"]), _hex(record["aad"]))
        assert _hex(record["sealed"]) == sealed
        cipher = AesGcmCipher(KEYS["master_key"], root=KEYS["root"])
        assert cipher.open_record(record["label"], sealed, _hex(record["aad"])) == _hex(
            record["data"]
        )


@pytest.mark.parametrize("vector", VECTORS["negative_blobs"], ids=lambda v: v["name"])
def test_every_negative_vector_fails(vector: dict[str, Any]) -> None:
    with pytest.raises(IntegrityFailure):
        _open(vector)
    assert not _opens_by_the_spec(vector)


def test_the_format_2_wrap_is_bound_to_its_key_record_and_master_key() -> None:
    wrap = VECTORS["wraps"]["tenant_key_format_2"]
    cipher = AesGcmCipher(KEYS["master_key"], root=KEYS["root"])
    kid = VECTORS["keys"]["master_key_id"]
    context = _hex(wrap["context"])
    assert (
        cipher.master_unwrap(wrap["kind"], _hex(wrap["wrapped"]), context, master_key_id=kid)
        == (KEYS["tenant_key"])
    )
    other_record = context[:16] + bytes(16)
    with pytest.raises(IntegrityFailure):
        cipher.master_unwrap(wrap["kind"], _hex(wrap["wrapped"]), other_record, master_key_id=kid)
    with pytest.raises(IntegrityFailure):  # a vault key's kind on a tenant key's wrap
        cipher.master_unwrap("vault-key/v2", _hex(wrap["wrapped"]), context, master_key_id=kid)


def _uuid(text: str) -> bytes:
    import uuid

    return uuid.UUID(text).bytes


def _open(vector: dict[str, Any]) -> bytes:
    """A blob read as the spec's reader obligations say: the size first, then each frame
    verified, the last flag taken from the size on record, never from the blob."""
    cipher = AesGcmCipher(KEYS["master_key"], chunk_shift=VECTORS["chunk_shift"], root=KEYS["root"])
    blob, size, context = _hex(vector["blob"]), int(vector["size"]), _hex(vector["context"])
    if len(blob) != cipher.sealed_size(size):
        raise IntegrityFailure("the blob's size does not match the size on record")
    opener = cipher.opener(KEYS["tenant_key"], _hex(vector["wrapped_dek"]), context, blob[:16])
    frames = frame_count(size, CHUNK)
    out = []
    for index in range(frames):
        start = 16 + index * (CHUNK + 16)
        length = (CHUNK if index < frames - 1 else size - (frames - 1) * CHUNK) + 16
        out.append(opener.open(index, blob[start : start + length], final=index == frames - 1))
    return b"".join(out)


def _opens_by_the_spec(vector: dict[str, Any]) -> bool:
    """The same read with direct AES-GCM calls and the header checks the spec lists."""
    blob, size, context = _hex(vector["blob"]), int(vector["size"]), _hex(vector["context"])
    header = blob[:16]
    if header[:5] != b"KVB1\x01" or header[5] != VECTORS["chunk_shift"]:
        return False
    if len(blob) != 16 + size + 16 * max(1, -(-size // CHUNK)):
        return False
    aead, frames = AESGCM(KEYS["dek"]), max(1, -(-size // CHUNK))
    for index in range(frames):
        start = 16 + index * (CHUNK + 16)
        length = (CHUNK if index < frames - 1 else size - (frames - 1) * CHUNK) + 16
        nonce = header[9:16] + struct.pack(">I", index) + bytes([index == frames - 1])
        try:
            aead.decrypt(nonce, blob[start : start + length], context + header)
        except InvalidTag:
            return False
    return True
