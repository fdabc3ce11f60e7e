"""Housekeeping that keeps the store tidy without an operator."""

from __future__ import annotations

import asyncio

import structlog

from kycvault.ports import BlobStoreError
from kycvault.services.context import Vault

log = structlog.get_logger("kycvault.maintenance")


async def sweep_staging(vault: Vault, *, older_than_seconds: float) -> int:
    """Remove staging leftovers of uploads interrupted by a crash or a dropped connection.

    Only files older than the grace period go, so an upload still in flight is never touched.
    """
    try:
        removed = await asyncio.to_thread(vault.blobs.sweep_staging, older_than_seconds)
    except BlobStoreError as exc:
        log.warning("staging_sweep_failed", error=str(exc))
        return 0
    if removed:
        log.info("staging_swept", removed=removed)
    return removed


async def purge_expired(vault: Vault) -> None:
    """Forget expired download links and idempotency records (their bodies may hold PII)."""
    now = vault.clock()
    async with vault.store.write() as uow:
        links = await uow.download_links.purge_expired(now)
        keys = await uow.idempotency.purge_expired(now)
        await uow.auth_failures.purge_expired(now - vault.limits.auth_failure_window)
    if links or keys:
        log.info("expired_purged", download_links=links, idempotency_records=keys)


async def run_periodically(vault: Vault, *, grace_seconds: float, every_seconds: float) -> None:
    while True:
        await sweep_staging(vault, older_than_seconds=grace_seconds)
        await purge_expired(vault)
        await vault.store.optimize()
        await asyncio.sleep(every_seconds)
