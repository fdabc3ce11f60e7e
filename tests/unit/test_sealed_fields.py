"""Sealed fields (``KVF1``) and blind indexes: the byte format, what makes a value fail to
open, and the field codec over a tenant's key records (a newer key seals, an older one still
opens, the blind index does not move)."""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kycvault.adapters.crypto import FIELD_MAGIC, AesGcmCipher, derive_key
from kycvault.adapters.db.field_codec import FieldCodec
from kycvault.adapters.db.sealed_fields import RowFields
from kycvault.adapters.db.tables import metadata, tenant_keys, tenants
from kycvault.errors import IntegrityFailure

KEY_ID = uuid.UUID("00112233-4455-6677-8899-aabbccddeeff")


def test_a_field_opens_with_its_key_and_aad_and_says_which_key_sealed_it() -> None:
    cipher, key = AesGcmCipher(os.urandom(32)), os.urandom(32)
    sealed = cipher.seal_field(key, KEY_ID, b"L898902C3", b"document-1")
    assert sealed[:4] == FIELD_MAGIC and sealed[4] == 0 and sealed[5:21] == KEY_ID.bytes
    assert len(sealed) == 4 + 1 + 16 + 12 + len(b"L898902C3") + 16
    assert cipher.field_key_id(sealed) == KEY_ID
    assert cipher.open_field(key, sealed, b"document-1") == b"L898902C3"
    # The layout, checked with AES-GCM directly: the head is authenticated with the AAD.
    nonce, body = sealed[21:33], sealed[33:]
    assert AESGCM(key).decrypt(nonce, body, sealed[:21] + b"document-1") == b"L898902C3"
    assert cipher.seal_field(key, KEY_ID, b"L898902C3", b"document-1") != sealed  # fresh nonce


@pytest.mark.parametrize("change", ["aad", "key", "key_id", "kind", "body", "short", "magic"])
def test_a_changed_field_does_not_open(change: str) -> None:
    cipher, key = AesGcmCipher(os.urandom(32)), os.urandom(32)
    sealed = bytearray(cipher.seal_field(key, KEY_ID, b"ERIKSSON", b"document-1"))
    aad, opening_key = b"document-1", key
    if change == "aad":
        aad = b"document-2"
    elif change == "key":
        opening_key = os.urandom(32)
    elif change == "key_id":
        sealed[5:21] = uuid.uuid4().bytes
    elif change == "kind":
        sealed[4] = 1
    elif change == "body":
        sealed[-1] ^= 1
    elif change == "short":
        sealed = sealed[:30]
    else:
        sealed[0:4] = b"KVF9"
    with pytest.raises(IntegrityFailure) as caught:
        cipher.open_field(opening_key, bytes(sealed), aad)
    assert caught.value.code == "integrity_error"


def test_keys_are_derived_per_label_and_the_blind_index_is_hmac_sha256() -> None:
    cipher, key = AesGcmCipher(os.urandom(32)), os.urandom(32)
    a, b = cipher.derive_key(key, "field/v1/a"), cipher.derive_key(key, "field/v1/b")
    assert len(a) == 32 and a != b and a == derive_key(key, "field/v1/a")
    expected = hmac.new(a, b"L898902C3", hashlib.sha256).hexdigest()
    assert cipher.blind_index(a, "L898902C3") == expected
    assert cipher.blind_index(b, "L898902C3") != expected


@pytest.fixture
def conn() -> Iterator[sa.Connection]:
    engine = sa.create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as connection:
        yield connection
    engine.dispose()


def _tenant(conn: sa.Connection, cipher: AesGcmCipher, number: int) -> uuid.UUID:
    tenant_id = uuid.uuid4()
    conn.execute(
        tenants.insert().values(
            id=tenant_id, number=number, name=f"t{number}", settings={}, created_at=_at(0)
        )
    )
    _add_key(conn, cipher, tenant_id, _at(0))
    return tenant_id


def _at(days: int) -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=days)


def _add_key(
    conn: sa.Connection, cipher: AesGcmCipher, tenant_id: uuid.UUID, at: datetime
) -> uuid.UUID:
    key_id = uuid.uuid4()
    _key, wrapped = cipher.new_tenant_key(tenant_id.bytes, key_id.bytes)
    conn.execute(
        tenant_keys.insert().values(
            id=key_id,
            tenant_id=tenant_id,
            wrapped_key=wrapped,
            master_key_id=cipher.master_key_id,
            created_at=at,
            wrap_format=2,
        )
    )
    return key_id


def test_a_newer_tenant_key_seals_while_older_fields_open_and_indexes_stay(
    conn: sa.Connection,
) -> None:
    cipher = AesGcmCipher(os.urandom(32))
    codec = FieldCodec(cipher)
    tenant = _tenant(conn, cipher, 1)
    old = codec.seal(conn, tenant, "document/id-number", b"L898902C3", b"doc")
    index = codec.index(conn, tenant, "document-number", "L898902C3")
    newer = _add_key(conn, cipher, tenant, _at(30))
    conn.execute(
        tenant_keys.update()
        .where(tenant_keys.c.tenant_id == tenant, tenant_keys.c.id != newer)
        .values(retired_at=_at(30))
    )
    # Another process (a fresh codec, no cache) after the rotation.
    fresh = FieldCodec(cipher)
    new = fresh.seal(conn, tenant, "document/id-number", b"L898902C3", b"doc")
    assert cipher.field_key_id(new) == newer != cipher.field_key_id(old)
    for sealed in (old, new):
        assert fresh.open(conn, tenant, "document/id-number", sealed, b"doc") == b"L898902C3"
    assert fresh.index(conn, tenant, "document-number", "L898902C3") == index
    # Bound to the tenant and the label as well as the caller's AAD.
    other = _tenant(conn, cipher, 2)
    assert fresh.index(conn, other, "document-number", "L898902C3") != index
    with pytest.raises(IntegrityFailure):
        fresh.open(conn, tenant, "file/sha256", old, b"doc")
    with pytest.raises(IntegrityFailure) as caught:
        fresh.open(conn, other, "document/id-number", old, b"doc")
    assert caught.value.code == "tenant_key_missing"  # the key id is not the other tenant's


def test_processing_findings_are_bound_to_their_generation(conn: sa.Connection) -> None:
    cipher = AesGcmCipher(os.urandom(32))
    tenant, document = _tenant(conn, cipher, 1), uuid.uuid4()
    rows = RowFields(FieldCodec(cipher), conn)
    found = {"generation": 2, "stages": {}, "extracted": {"mrz": {"surname": "ERIKSSON"}}}
    values = rows.processing_values(tenant, document, found)
    assert (
        "extracted" not in values["processing"] and b"ERIKSSON" not in values["processing_sealed"]
    )
    row = {"id": document, **values}
    assert rows.processing(tenant, row).extracted == {"mrz": {"surname": "ERIKSSON"}}  # type: ignore[arg-type]
    # An older result copied over a newer state (generation 3) fails.
    replayed = {**row, "processing": {**values["processing"], "generation": 3}}
    with pytest.raises(IntegrityFailure):
        rows.processing(tenant, replayed)  # type: ignore[arg-type]
    assert rows.number_index(tenant, "l89 8902<c3") == rows.number_index(tenant, "L898902C3")
    assert rows.number_index(tenant, " << ") is None
