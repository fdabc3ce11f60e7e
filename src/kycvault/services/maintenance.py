"""Housekeeping that keeps the store tidy without an operator."""

from __future__ import annotations

import asyncio

import structlog

from kycvault.errors import Unavailable
from kycvault.services import events, sweep
from kycvault.services.context import AppContext

log = structlog.get_logger("kycvault.maintenance")


async def purge_expired(ctx: AppContext) -> None:
    """Forget expired download links and idempotency records (their bodies may hold PII),
    console login sessions long over, and events past their retention."""
    now = ctx.clock()
    async with ctx.store.write() as uow:
        links = await uow.download_links.purge_expired(now)
        keys = await uow.idempotency.purge_expired(now)
        await uow.signature_uses.purge_expired(now)  # Sila signatures past their window
        # The console's login counters run in a window of their own.
        await uow.auth_failures.purge_expired(
            now - ctx.limits.auth_failure_window,
            console_before=now - ctx.console.login_failure_window,
        )
        # Console login sessions that ended, or can no longer be resumed.
        await uow.console_sessions.purge_ended(now - ctx.console.absolute_timeout)
    if links or keys:
        log.info("expired_purged", download_links=links, idempotency_records=keys)
    await events.purge_old(ctx)


async def run_periodically(ctx: AppContext, *, grace: sweep.Grace, every_seconds: float) -> None:
    """Sweep leftovers, forget what expired and refresh statistics: once at start (a process
    that restarts after a crash removes its predecessor's staging files at once), then every
    ``every_seconds``."""
    while True:
        await sweep.sweep(ctx, grace)
        try:
            await purge_expired(ctx)
            await ctx.store.optimize()
        except Unavailable as exc:
            log.warning("housekeeping_failed", error=str(exc))
        await asyncio.sleep(every_seconds)
