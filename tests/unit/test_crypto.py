from __future__ import annotations

import os
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kycvault.adapters.crypto import HEADER_SIZE, AesGcmCipher, frame_count
from kycvault.errors import IntegrityFailure
from kycvault.ports.cipher import TENANT_KEY_KIND

CHUNK_SHIFT = 10  # 1 KiB frames keep the property tests fast


def _cipher(shift: int = CHUNK_SHIFT) -> AesGcmCipher:
    return AesGcmCipher(os.urandom(32), chunk_shift=shift, root=os.urandom(32))


def seal(
    cipher: AesGcmCipher, tenant_key: bytes, context: bytes, plain: bytes
) -> tuple[bytes, bytes]:
    sealer, wrapped = cipher.new_sealer(tenant_key, context)
    size = cipher.chunk_size
    chunks = [plain[i : i + size] for i in range(0, len(plain), size)] or [b""]
    blob = sealer.header() + b"".join(
        sealer.seal(chunk, final=i == len(chunks) - 1) for i, chunk in enumerate(chunks)
    )
    assert len(blob) == cipher.sealed_size(len(plain))
    return blob, wrapped


def open_all(
    cipher: AesGcmCipher, tenant_key: bytes, wrapped: bytes, context: bytes, blob: bytes, size: int
) -> bytes:
    opener = cipher.opener(tenant_key, wrapped, context, blob[:HEADER_SIZE])
    frames = frame_count(size, cipher.chunk_size)
    out = []
    for index in range(frames):
        start = HEADER_SIZE + index * (cipher.chunk_size + 16)
        length = min(cipher.chunk_size, size - index * cipher.chunk_size) + 16
        out.append(opener.open(index, blob[start : start + length], final=index == frames - 1))
    return b"".join(out)


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=5000))
def test_round_trip(plain: bytes) -> None:
    cipher = _cipher()
    tenant_key, _ = cipher.new_tenant_key(b"t", b"r")
    blob, wrapped = seal(cipher, tenant_key, b"ctx", plain)
    assert open_all(cipher, tenant_key, wrapped, b"ctx", blob, len(plain)) == plain


def test_ciphertext_holds_no_plaintext() -> None:
    cipher = _cipher()
    tenant_key, _ = cipher.new_tenant_key(b"t", b"r")
    plain = b"P<GBRSPECIMEN<<ADA<<<<<<<<<<<<<<<<<<<<<<<<<" * 50
    blob, _ = seal(cipher, tenant_key, b"ctx", plain)
    assert b"SPECIMEN" not in blob


def test_same_plaintext_encrypts_differently() -> None:
    cipher = _cipher()
    tenant_key, _ = cipher.new_tenant_key(b"t", b"r")
    assert (
        seal(cipher, tenant_key, b"c", b"x" * 3000)[0]
        != seal(cipher, tenant_key, b"c", b"x" * 3000)[0]
    )


def _tamper_cases(blob: bytes) -> dict[str, bytes]:
    frame = 1024 + 16
    one, two = HEADER_SIZE, HEADER_SIZE + frame
    return {
        "flip a byte": blob[:40] + bytes([blob[40] ^ 1]) + blob[41:],
        "swap frames": blob[:one] + blob[two : two + frame] + blob[one:two] + blob[two + frame :],
        "flip the header": blob[:10] + bytes([blob[10] ^ 1]) + blob[11:],
    }


@pytest.mark.parametrize("case", ["flip a byte", "swap frames", "flip the header"])
def test_tampering_is_detected(case: str) -> None:
    cipher = _cipher()
    tenant_key, _ = cipher.new_tenant_key(b"t", b"r")
    plain = os.urandom(3 * 1024 + 100)
    blob, wrapped = seal(cipher, tenant_key, b"ctx", plain)
    with pytest.raises(IntegrityFailure):
        open_all(cipher, tenant_key, wrapped, b"ctx", _tamper_cases(blob)[case], len(plain))


def test_truncation_is_detected() -> None:
    """Dropping the last frame: the previous frame was not sealed as final."""
    cipher = _cipher()
    tenant_key, _ = cipher.new_tenant_key(b"t", b"r")
    plain = os.urandom(3 * 1024)
    blob, wrapped = seal(cipher, tenant_key, b"ctx", plain)
    with pytest.raises(IntegrityFailure):
        open_all(cipher, tenant_key, wrapped, b"ctx", blob[: HEADER_SIZE + 2 * 1040], 2 * 1024)


def test_blob_moved_to_another_file_or_tenant_fails() -> None:
    cipher = _cipher()
    tenant_key, _ = cipher.new_tenant_key(b"t", b"r")
    blob, wrapped = seal(cipher, tenant_key, b"tenant-a|file-1", b"secret" * 10)
    with pytest.raises(IntegrityFailure):
        open_all(cipher, tenant_key, wrapped, b"tenant-a|file-2", blob, 60)
    other_key, _ = cipher.new_tenant_key(b"t2", b"r")
    with pytest.raises(IntegrityFailure):
        open_all(cipher, other_key, wrapped, b"tenant-a|file-1", blob, 60)


def test_tenant_keys_need_the_right_master_key() -> None:
    cipher = _cipher()
    tenant, record = uuid.UUID(int=1).bytes, uuid.UUID(int=3).bytes
    key, wrapped = cipher.new_tenant_key(tenant, record)
    kid = cipher.master_key_id
    assert cipher.master_unwrap(TENANT_KEY_KIND, wrapped, tenant + record, master_key_id=kid) == key
    for other in (_cipher(), AesGcmCipher(os.urandom(32), previous=[os.urandom(32)])):
        with pytest.raises(IntegrityFailure) as refused:
            other.master_unwrap(TENANT_KEY_KIND, wrapped, tenant + record, master_key_id=kid)
        assert refused.value.code == "master_key_mismatch"
    for context in (uuid.UUID(int=2).bytes + record, tenant + uuid.UUID(int=4).bytes):
        with pytest.raises(IntegrityFailure) as moved:
            cipher.master_unwrap(TENANT_KEY_KIND, wrapped, context, master_key_id=kid)
        assert moved.value.code == "key_unwrap_failed"


def test_frame_size_is_bound_to_the_blob() -> None:
    small, large = AesGcmCipher(b"k" * 32, chunk_shift=10), AesGcmCipher(b"k" * 32, chunk_shift=12)
    tenant_key, _ = small.new_tenant_key(b"t", b"r")
    blob, wrapped = seal(small, tenant_key, b"c", b"abc")
    with pytest.raises(IntegrityFailure):
        large.opener(tenant_key, wrapped, b"c", blob[:HEADER_SIZE])


def test_derived_secrets_are_stable_and_distinct() -> None:
    cipher = _cipher()
    assert cipher.derive_secret("a") == cipher.derive_secret("a")
    assert cipher.derive_secret("a") != cipher.derive_secret("b")
    assert len(cipher.derive_secret("a")) == 32
