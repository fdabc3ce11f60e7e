"""Tenant-key rotation (``kycvault keys rotate TENANT``), online and resumable.

1. A new tenant key becomes current and every older one is retired, in one transaction
   (audited: ``tenant_key.rotated``). Retired keys are never destroyed: they still open
   whatever has not been re-wrapped yet, and sealed records that name them.
2. After ``TenantKeyring.current_for`` seconds every process wraps new keys under the new one.
3. The subject keys that a retired key wraps (in the subject-key store) are re-wrapped under
   the new key, one by one.
4. The files whose data key a retired key wraps directly (stored before subject keys
   existed) are re-wrapped in batches, each batch a transaction of its own: a file of a
   subject goes under its subject's key (so that erasing the subject shreds it from then
   on), any other under the new tenant key.

Only keys are re-wrapped; no blob is read or rewritten. An interrupted rotation is finished
with ``--resume`` (steps 3 and 4 again, over whatever a retired key still wraps), which is
also what to run if a long upload that began before the rotation committed after it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from uuid import UUID

from kycvault.services import audit
from kycvault.services.context import Actor, AppContext
from kycvault.services.subject_keys import file_context, key_context

OPERATOR = "cli"
BATCH = 200


@dataclass(slots=True)
class Rotation:
    tenant_id: UUID
    key_id: UUID  # the tenant's current key
    subject_keys: int = 0  # subject keys re-wrapped under it
    files: int = 0  # files re-wrapped under it, or under their subject's key
    remaining: int = 0  # what a retired key still wraps after the run (0: done)


async def rotate_tenant_key(
    ctx: AppContext, tenant_id: UUID, *, resume: bool = False, settle: float | None = None
) -> Rotation:
    if not resume:
        async with ctx.store.write() as uow:
            now = ctx.clock()
            new_id = await ctx.keyring.create_for(uow, tenant_id, now)
            await uow.tenants.retire_keys(tenant_id, new_id, now)
            await audit.record(
                ctx,
                uow,
                Actor(tenant_id=tenant_id, key_id=OPERATOR),
                "tenant_key.rotated",
                target_type="tenant_key",
                target_id=new_id,
            )
        ctx.keyring.forget(tenant_id)
        await asyncio.sleep(ctx.keyring.current_for if settle is None else settle)
    key_id, key = await ctx.keyring.current(tenant_id)
    async with ctx.store.read() as uow:
        retired = await uow.tenants.retired_keys(tenant_id)
    done = Rotation(tenant_id=tenant_id, key_id=key_id)
    done.subject_keys = await _subject_keys(ctx, tenant_id, retired, key_id, key)
    while moved := await _file_batch(ctx, tenant_id, retired, key_id, key):
        done.files += moved
    done.remaining = await _remaining(ctx, tenant_id, retired)
    return done


async def _subject_keys(
    ctx: AppContext, tenant_id: UUID, retired: list[UUID], key_id: UUID, key: bytes
) -> int:
    store, count = ctx.subject_keys.store, 0
    for old_id in retired:
        old = await ctx.keyring.get(tenant_id, old_id)
        while batch := await store.under_tenant_key(old_id, BATCH):
            for record in batch:
                context = key_context(record.tenant_id, record.subject_id, record.id)
                wrapped = ctx.cipher.rewrap_subject_key(old, key, record.wrapped_key, context)
                await store.replace_wrap(record.id, wrapped, key_id)
            count += len(batch)
    return count


async def _file_batch(
    ctx: AppContext, tenant_id: UUID, retired: list[UUID], key_id: UUID, key: bytes
) -> int:
    if not retired:
        return 0
    async with ctx.store.write() as uow:
        # Ordered with erasures: a file bound here to a subject key is either seen by an
        # erasure's re-keying or binds to the generation it made (services/subject_keys.py).
        await uow.tenants.lock(tenant_id)
        batch = await uow.files.under_tenant_keys(tenant_id, retired, BATCH)
        for stored, subject_id in batch:
            old = await ctx.keyring.get(tenant_id, stored.kek_id)
            new, subject_key_id = key, None
            if subject_id is not None:
                at = ctx.clock()
                subject_key_id, new = await ctx.subject_keys.current(tenant_id, subject_id, at)
            context = file_context(tenant_id, stored.id)
            wrapped = ctx.cipher.rewrap_data_key(old, new, stored.wrapped_dek, context)
            await uow.files.rewrap(tenant_id, stored.id, wrapped, subject_key_id, kek_id=key_id)
    return len(batch)


async def _remaining(ctx: AppContext, tenant_id: UUID, retired: list[UUID]) -> int:
    count = 0
    for old_id in retired:
        count += len(await ctx.subject_keys.store.under_tenant_key(old_id, BATCH))
    if retired:
        async with ctx.store.read() as uow:
            count += len(await uow.files.under_tenant_keys(tenant_id, retired, BATCH))
    return count
