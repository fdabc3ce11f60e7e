"""The vault's root secret and master-key rotation.

Every secret the vault derives (API-key pepper, record keys, cursor and audit-chain keys,
export fingerprint) comes from the root secret, stored in ``vault_keys`` wrapped (format 2)
by the master key. A vault made before the root existed took the master key's own bytes as
its root, so everything derived until then stays as it was; a new vault's root is random.

Rotating the master key re-wraps that row and every tenant key under the new key: one row per
short transaction, each only if it still holds the wrap that was read, so a rotation can be
interrupted and run again, or run beside another, and never loses a key. Until every row is
under the new key, processes must have both keys configured (the row names the master key
that wraps it); ``status`` shows how many rows are under which key.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from kycvault import crashpoints
from kycvault.errors import IntegrityFailure
from kycvault.ports.cipher import TENANT_KEY_KIND, VAULT_KEY_KIND, WRAP_V2, Cipher
from kycvault.ports.persistence.master_wraps import ROOT_PURPOSE, VaultKeyRecord, WrapCount

__all__ = ["Rotation", "WrapCount", "load_root", "rotate_master", "status"]
from kycvault.ports.cipher import tenant_key_context
from kycvault.ports.persistence.records import TenantKeyRecord
from kycvault.ports.persistence.store import UnitOfWork
from kycvault.services import audit
from kycvault.services.context import AppContext

ROOT_VERSION = 1
_BATCH = 100


@dataclass(frozen=True, slots=True)
class Rotation:
    """What one ``rotate_master`` run did: rows it re-wrapped, and rows it found under the
    target key already (a run that resumed, or a concurrent one)."""

    target: str
    vault_keys: int
    tenant_keys: int


def vault_key_context(record: VaultKeyRecord) -> bytes:
    """What a vault key's wrap is bound to: its row, version and purpose."""
    return record.id.bytes + struct.pack(">I", record.version) + record.purpose.encode()


def new_root(cipher: Cipher, secret: bytes, at: datetime) -> VaultKeyRecord:
    """The row of a root secret, wrapped under the current master key."""
    record = VaultKeyRecord(uuid.uuid4(), ROOT_PURPOSE, ROOT_VERSION, b"", "", at)
    wrapped = cipher.master_wrap(VAULT_KEY_KIND, secret, vault_key_context(record))
    return VaultKeyRecord(record.id, ROOT_PURPOSE, ROOT_VERSION, wrapped, cipher.master_key_id, at)


def open_vault_key(cipher: Cipher, record: VaultKeyRecord) -> bytes:
    if record.master_key_id not in cipher.master_key_ids:
        raise IntegrityFailure(
            f"the vault's {record.purpose} key is wrapped by master key {record.master_key_id}, "
            "which is not configured",
            code="master_key_mismatch",
        )
    return cipher.master_unwrap(
        VAULT_KEY_KIND,
        record.wrapped,
        vault_key_context(record),
        master_key_id=record.master_key_id,
    )


def current_root(records: list[VaultKeyRecord]) -> VaultKeyRecord:
    roots = [r for r in records if r.purpose == ROOT_PURPOSE and r.retired_at is None]
    if not roots:
        raise IntegrityFailure("the vault has no root secret", code="vault_root_missing")
    return max(roots, key=lambda r: r.version)


async def load_root(ctx: AppContext) -> None:
    """Unwrap the vault's root secret and hand it to the cipher."""
    async with ctx.store.read() as uow:
        records = await uow.master_wraps.vault_keys()
    ctx.cipher.use_root(open_vault_key(ctx.cipher, current_root(records)))


async def replace_root(ctx: AppContext) -> None:
    """A new random root for a vault that holds nothing (``Store.holds_nothing``)."""
    secret = ctx.cipher.new_root_secret()
    record = new_root(ctx.cipher, secret, ctx.clock())
    async with ctx.store.write() as uow:
        await uow.master_wraps.replace_vault_keys([record])
    ctx.cipher.use_root(secret)


async def status(ctx: AppContext) -> list[WrapCount]:
    async with ctx.store.read() as uow:
        return await uow.master_wraps.counts()


async def rotate_master(ctx: AppContext, target: str | None = None) -> Rotation:
    """Re-wrap the vault's keys and every tenant key under the master key ``target`` (by id;
    default: the current one). Every master key that wraps a row must be configured."""
    cipher = ctx.cipher
    target = target or cipher.master_key_id
    if target not in cipher.master_key_ids:
        raise IntegrityFailure(f"master key {target} is not configured", code="master_key_mismatch")
    async with ctx.store.read() as uow:
        records = await uow.master_wraps.vault_keys()
    vault_done = 0
    for record in records:
        if record.master_key_id != target:
            vault_done += await _rewrap_vault_key(ctx, record, target)
    tenant_done = 0
    while True:
        async with ctx.store.read() as uow:
            batch = await uow.master_wraps.tenant_keys_not_under(target, _BATCH)
        changed = 0
        for key in batch:
            changed += await _rewrap_tenant_key(ctx, key, target)
        tenant_done += changed
        # A batch that changed nothing was taken over by a concurrent rotation: what it left
        # is that rotation's to finish (this one would only chase it).
        if len(batch) < _BATCH or not changed:
            return Rotation(target, vault_done, tenant_done)


async def _rewrap_vault_key(ctx: AppContext, record: VaultKeyRecord, target: str) -> int:
    def swap(uow: UnitOfWork, wrapped: bytes) -> Awaitable[bool]:
        return uow.master_wraps.rewrap_vault_key(
            record.id, was=record.wrapped, wrapped=wrapped, master_key_id=target
        )

    secret = open_vault_key(ctx.cipher, record)
    row = _Row(VAULT_KEY_KIND, vault_key_context(record), None, record.id, record.master_key_id)
    return await _rewrap(ctx, row, secret, target, swap)


async def _rewrap_tenant_key(ctx: AppContext, record: TenantKeyRecord, target: str) -> int:
    def swap(uow: UnitOfWork, wrapped: bytes) -> Awaitable[bool]:
        return uow.master_wraps.rewrap_tenant_key(
            record.id,
            was=record.wrapped_key,
            wrapped=wrapped,
            master_key_id=target,
            wrap_format=WRAP_V2,
        )

    key = ctx.cipher.open_tenant_key(record)
    context = tenant_key_context(record)
    row = _Row(TENANT_KEY_KIND, context, record.tenant_id, record.id, record.master_key_id)
    return await _rewrap(ctx, row, key, target, swap)


@dataclass(frozen=True, slots=True)
class _Row:
    """A row wrapped by a master key, as a rotation re-wraps and audits it."""

    kind: str
    context: bytes
    tenant_id: uuid.UUID | None  # None: the vault's own key (the system chain's event)
    id: uuid.UUID
    master_key_id: str


async def _rewrap(
    ctx: AppContext,
    row: _Row,
    secret: bytes,
    target: str,
    swap: Callable[[UnitOfWork, bytes], Awaitable[bool]],
) -> int:
    """Wrap ``secret`` under ``target`` and store it with its audit event in one short
    transaction, if the row still holds the wrap that was read (``swap``)."""
    wrapped = ctx.cipher.master_wrap(row.kind, secret, row.context, master_key_id=target)
    async with ctx.store.write() as uow:
        changed = await swap(uow, wrapped)
        if changed:
            event = audit.new_event(
                ctx,
                None,
                "vault_key.rewrapped" if row.tenant_id is None else "tenant_key.rewrapped",
                tenant_id=row.tenant_id,
                target_type="key",
                target_id=row.id,
                details={"from_master_key": row.master_key_id, "to_master_key": target},
            )
            await uow.audit.add(event, audit.chain_key(ctx))
    crashpoints.reached("rotate_master.row_rewrapped")
    return int(changed)
