"""The scrub: like a filesystem's, it re-reads every stored file in full once per cycle
(``JobSettings.scrub_cycle``), so that a blob damaged or lost at rest is noticed by the
operator — an audit event and a metric — rather than by a customer at download time.

Workers scrub when they have no job to run, one file at a time, at a bounded pace
(``scrub_bytes_per_second``). A file is claimed by moving its ``verified_at`` to now, so no
two workers read the same file in one cycle. The check after each upload sets
``verified_at`` too, so a new file's cycle starts from its upload.
"""

from __future__ import annotations

import asyncio

import structlog

from kycvault.domain.models import StoredFile
from kycvault.errors import Unavailable
from kycvault.services import audit, metrics, verification
from kycvault.services.context import Actor, AppContext

log = structlog.get_logger("kycvault.scrub")

SCRUB_ACTOR = "scrub"


async def report_damage(ctx: AppContext, stored: StoredFile, problem: str, source: str) -> None:
    """Record a damaged or missing stored file: an audit event of its tenant, a metric, a log
    line (ids only)."""
    metrics.INTEGRITY_FAILURES.labels(source=source, problem=problem).inc()
    log.error(
        "stored_file_damaged",
        problem=problem,
        source=source,
        tenant=str(stored.tenant_id),
        document=str(stored.document_id),
        file=str(stored.id),
    )
    async with ctx.store.write() as uow:
        await audit.record(
            ctx,
            uow,
            Actor(tenant_id=stored.tenant_id, key_id=SCRUB_ACTOR),
            "file.integrity_failed",
            target_type="file",
            target_id=stored.id,
            outcome="failure",
            document_id=stored.document_id,
            problem=problem,
            source=source,
        )


async def step(ctx: AppContext) -> int:
    """Scrub at most one file that is due; how many were read (0: none due, or off)."""
    cycle = ctx.jobs.scrub_cycle
    if cycle is None:
        return 0
    now = ctx.clock()
    # Looked for in a read unit: an idle worker asks often, and mostly finds nothing due.
    async with ctx.store.read() as uow:
        due = await uow.integrity.due_for_scrub(now - cycle, 1)
    claimed = []
    for candidate in due:
        async with ctx.store.write() as uow:
            if await uow.integrity.claim_for_scrub(candidate.id, now - cycle, now):
                claimed.append(candidate)
    for stored in claimed:
        try:
            problem = await verification.verify(ctx, stored)
        except Unavailable as exc:
            # Nothing learnt: the file is due again at once.
            log.warning("scrub_store_unavailable", error=str(exc))
            async with ctx.store.write() as uow:
                await uow.integrity.mark_verified(stored.tenant_id, stored.id, None)
            return 0
        metrics.FILES_SCRUBBED.inc()
        if problem is not None:
            await report_damage(ctx, stored, problem, source="scrub")
        await asyncio.sleep(stored.size / ctx.jobs.scrub_bytes_per_second)
    return len(claimed)
