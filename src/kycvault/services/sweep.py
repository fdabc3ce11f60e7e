"""Leftovers of interrupted work, found and removed.

Two kinds, both ciphertext nobody can reach through the API:

- **Staging files** of uploads that never finished (the process died, or a client vanished
  and the discard failed). One is a leftover when the process that wrote it is known to have
  ended (removed at once), or when it is older than the staging grace period.
- **Orphan blobs**: published, but no file row points at them — the transaction that was to
  record them did not commit (a crash between publishing and committing), or a deletion
  committed and the process died before removing the blob. One is removed only when it is
  older than the orphan grace period (an upload between its publication and its commit is
  never older than a few seconds), and only when its tenant exists: an import publishes
  blobs before it commits its tenants, so a blob of an unknown tenant may belong to an
  import still running. Those are reported (``unowned``) and removed only by ``fsck
  --repair``, on an operator's word (an import that died and will not be run again).

Orphans matter beyond disk space: an erased document's blob must not outlive its rows.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from dataclasses import dataclass, field
from uuid import UUID

import structlog

from kycvault.errors import Unavailable
from kycvault.ports.storage import BlobStoreError, StagingFile, StoredBlob
from kycvault.services import metrics
from kycvault.services.context import AppContext

log = structlog.get_logger("kycvault.sweep")

_BATCH = 500


@dataclass(frozen=True, slots=True)
class Grace:
    """How old an unreferenced blob, and a staging file of a live writer, must be."""

    orphan_seconds: float
    staging_seconds: float


@dataclass(slots=True)
class Leftovers:
    orphans: list[StoredBlob] = field(default_factory=list)
    staging: list[StagingFile] = field(default_factory=list)
    # Past the grace period, but of a tenant the database does not know (see above).
    unowned: list[StoredBlob] = field(default_factory=list)
    # Unreferenced blobs still within the grace period (an upload about to commit).
    recent_orphans: int = 0
    blobs_seen: int = 0

    @property
    def bytes(self) -> int:
        return sum(b.size for b in self.orphans) + sum(s.size for s in self.staging)


def _tenant_of(key: str) -> UUID | None:
    try:
        return uuid.UUID(hex=key.split("/", 1)[0])
    except ValueError:
        return None


async def find(ctx: AppContext, grace: Grace, *, limit: int | None = None) -> Leftovers:
    """Every leftover past its grace period (up to ``limit`` orphans)."""
    leftovers = Leftovers()
    staging = await asyncio.to_thread(lambda: list(ctx.blobs.staging_files()))
    leftovers.staging = [
        s for s in staging if s.owner_gone or s.age_seconds > grace.staging_seconds
    ]
    async with ctx.store.read() as uow:
        tenants = await uow.integrity.tenant_ids()
    listing = ctx.blobs.list_blobs()
    while limit is None or len(leftovers.orphans) < limit:
        batch = await asyncio.to_thread(lambda: list(itertools.islice(listing, _BATCH)))
        if not batch:
            break
        leftovers.blobs_seen += len(batch)
        async with ctx.store.read() as uow:
            referenced = await uow.integrity.referenced([b.key for b in batch])
        for blob in batch:
            if blob.key in referenced:
                continue
            if blob.age_seconds <= grace.orphan_seconds:
                leftovers.recent_orphans += 1
            elif _tenant_of(blob.key) in tenants:
                leftovers.orphans.append(blob)
            else:
                leftovers.unowned.append(blob)
    if limit is not None:
        del leftovers.orphans[limit:]
    return leftovers


async def remove(ctx: AppContext, leftovers: Leftovers, *, unowned: bool = False) -> int:
    """Remove what ``find`` found (with ``unowned``, blobs of unknown tenants too); how many
    went. Each blob is checked again just before it goes, so a row committed meanwhile keeps
    its blob."""
    keys = [b.key for b in leftovers.orphans + (leftovers.unowned if unowned else [])]
    removed = 0
    for start in range(0, len(keys), _BATCH):
        chunk = keys[start : start + _BATCH]
        async with ctx.store.read() as uow:
            referenced = await uow.integrity.referenced(chunk)
        for key in chunk:
            if key in referenced:
                continue
            await asyncio.to_thread(ctx.blobs.delete, key)
            removed += 1
    for leftover in leftovers.staging:
        await asyncio.to_thread(ctx.blobs.remove_staging, leftover.name)
        removed += 1
    return removed


async def sweep(ctx: AppContext, grace: Grace, *, limit: int = 10_000) -> Leftovers:
    """Find and remove leftovers (at most ``limit`` orphans a run); never raises for a store
    that is away (the next run tries again)."""
    try:
        leftovers = await find(ctx, grace, limit=limit)
        if leftovers.orphans or leftovers.staging:
            await remove(ctx, leftovers)
            metrics.LEFTOVERS_SWEPT.labels(kind="unreferenced_blob").inc(len(leftovers.orphans))
            metrics.LEFTOVERS_SWEPT.labels(kind="staging_file").inc(len(leftovers.staging))
            log.info(
                "leftovers_swept",
                orphan_blobs=len(leftovers.orphans),
                staging_files=len(leftovers.staging),
                bytes=leftovers.bytes,
            )
        return leftovers
    except (BlobStoreError, Unavailable) as exc:
        log.warning("sweep_failed", error=str(exc))
        return Leftovers()
