"""The vault root secret: a vault made before it takes the master key's own bytes as its
root, so every derived key stays byte for byte what it was and its first-format tenant key
still opens; rotating the master key then re-wraps that key in format 2 and changes nothing
derived. A new vault's root is random, and no derived key is a master sub-key."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kycvault.adapters.crypto import AesGcmCipher, derive, master_kek
from kycvault.adapters.db import migrate
from kycvault.adapters.key_files import write_master_key_file
from kycvault.bootstrap import build_container, prepare_schema
from kycvault.config import Settings
from kycvault.ports.cipher import WRAP_LEGACY, WRAP_V2
from kycvault.services import vault_keys

LABELS = ("api-key-pepper", "cursor", "audit-chain/v1", "export-fingerprint", "record/idempotency")


def _hkdf(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key)


async def _legacy_vault(data_dir: Path, master: bytes) -> tuple[uuid.UUID, bytes]:
    """A vault at the schema before the root existed, with one tenant whose key is wrapped
    the first way: AES-GCM under the master key itself, AAD the tenant."""
    write_master_key_file(data_dir / "master.key", master)
    container = build_container(Settings(data_dir=data_dir))
    try:
        chain_key = _hkdf(master, b"kycvault/audit-chain/v1")
        await migrate.upgrade(
            container.store.database, "0016", attributes={"audit_chain_key": chain_key}
        )
        tenant, key_row, key = uuid.uuid4(), uuid.uuid4(), os.urandom(32)
        nonce = os.urandom(12)
        wrapped = nonce + AESGCM(master).encrypt(nonce, key, b"kycvault/tenant-key|" + tenant.bytes)
        now = datetime.now(UTC)

        def insert(conn: sa.Connection) -> None:
            conn.execute(
                sa.text(
                    "INSERT INTO tenants (id, number, name, settings, created_at) "
                    "VALUES (:id, 1, 'old', '{}', :at)"
                ),
                {"id": tenant.hex, "at": now},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO tenant_keys (id, tenant_id, wrapped_key, master_key_id, "
                    "created_at) VALUES (:id, :tenant, :wrapped, :kid, :at)"
                ),
                {
                    "id": key_row.hex,
                    "tenant": tenant.hex,
                    "wrapped": wrapped,
                    "kid": AesGcmCipher(master).master_key_id,
                    "at": now,
                },
            )

        await container.store.database.run_sync(insert)
    finally:
        await container.close()
    return tenant, key


@pytest.mark.anyio
async def test_an_older_vault_keeps_every_derived_key_across_a_master_rotation(
    tmp_path: Path,
) -> None:
    master, new = os.urandom(32), os.urandom(32)
    data_dir = tmp_path / "data"
    tenant, key = await _legacy_vault(data_dir, master)
    container = build_container(Settings(data_dir=data_dir))
    try:
        await prepare_schema(container, upgrade=True)
        ctx = container.ctx
        for label in LABELS:  # the root is the old master key: nothing derived changed
            assert ctx.cipher.derive_secret(label) == _hkdf(master, b"kycvault/" + label.encode())
        assert (await ctx.keyring.current(tenant))[1] == key
        async with ctx.store.read() as uow:
            [record] = await uow.master_wraps.tenant_keys_not_under("none", 10)
        assert record.wrap_format == WRAP_LEGACY
    finally:
        await container.close()

    new_file = tmp_path / "new.key"
    write_master_key_file(new_file, new)
    both = Settings(data_dir=data_dir, previous_master_key_files=(new_file,))
    container = build_container(both)
    try:
        await prepare_schema(container, upgrade=True)
        target = AesGcmCipher(new).master_key_id
        done = await vault_keys.rotate_master(container.ctx, target)
        assert (done.vault_keys, done.tenant_keys) == (1, 1)
    finally:
        await container.close()

    container = build_container(Settings(data_dir=data_dir, master_key_file=new_file))
    try:
        await prepare_schema(container, upgrade=False)
        ctx = container.ctx
        async with ctx.store.read() as uow:
            assert await uow.master_wraps.tenant_keys_not_under(target, 10) == []
            [record] = await uow.master_wraps.tenant_keys_not_under("none", 10)
        assert (record.wrap_format, record.master_key_id) == (WRAP_V2, target)
        assert (await ctx.keyring.current(tenant))[1] == key
        for label in LABELS:
            assert ctx.cipher.derive_secret(label) == _hkdf(master, b"kycvault/" + label.encode())
    finally:
        await container.close()


@pytest.mark.anyio
async def test_a_new_vault_has_a_random_root_apart_from_its_master_key(tmp_path: Path) -> None:
    roots = []
    for name in ("a", "b"):
        master = os.urandom(32)
        write_master_key_file(tmp_path / name / "master.key", master)
        container = build_container(Settings(data_dir=tmp_path / name))
        try:
            await prepare_schema(container, upgrade=True)
            pepper = container.ctx.cipher.derive_secret("api-key-pepper")
            assert pepper != _hkdf(master, b"kycvault/api-key-pepper")
            async with container.store.read() as uow:
                record = vault_keys.current_root(await uow.master_wraps.vault_keys())
            # Format 2 under the master KEK (HKDF "kycvault/master-kek/v1"), never the raw key.
            kek = _hkdf(master, b"kycvault/master-kek/v1")
            assert kek == master_kek(master)
            header, body = record.wrapped[:12], record.wrapped[12:]
            aad = b"kycvault/vault-key/v2|" + header + vault_keys.vault_key_context(record)
            root = AESGCM(kek).decrypt(body[:12], body[12:], aad)
            assert derive(root, "api-key-pepper") == pepper
            roots.append(root)
        finally:
            await container.close()
    assert roots[0] != roots[1]


def test_no_derived_label_reaches_a_master_sub_key() -> None:
    for label in ("master-kek/v1", "key-id"):
        with pytest.raises(ValueError, match="reserved"):
            derive(os.urandom(32), label)
