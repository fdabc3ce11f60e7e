"""The retention purge: a periodic scan (``run_periodically``, in every API process and
``kycvault worker``) that deletes each document past its ``retain_until`` day unless a legal
hold is on it or on its subject.

Each document goes in a transaction of its own, through the same code as a DELETE
(``document_removal.remove_document``: its rows, files, processing results, links, search text and
stored responses, then its blobs once the transaction committed), which records the audit
event ``document.purged`` (actor ``retention``; the rule's basis and period) and, in the same
transaction, a deletion receipt: what was deleted, under which rule, and each file's SHA-256.
The transaction takes the tenant's row lock first and checks holds, as every deletion does,
and reads the document, its rule and its basis date again: a document changed, a rule
removed or a hold placed since the scan read its batch is kept. Days are UTC calendar days
of the vault's clock."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime
from uuid import UUID

import structlog

from kycvault.domain.models import Document
from kycvault.domain.retention import Period, is_due, latest_basis, parse_period
from kycvault.domain.retention import retain_until as until_of
from kycvault.errors import LegalHoldActive
from kycvault.ports.persistence.retention import DeletionReceipt, ReceiptFile, RetentionRule
from kycvault.services import legal_holds, retention
from kycvault.services.commits import crash_around_commit, finish_queued_removals
from kycvault.services.context import Actor, AppContext
from kycvault.services.document_removal import remove_document

log = structlog.get_logger("kycvault.retention")

RETENTION_ACTOR = "retention"
# Candidates read per query; each is then purged in its own transaction.
SCAN_BATCH = 100


async def purge_one(
    ctx: AppContext, tenant_id: UUID, rule: RetentionRule, document_id: UUID, now: datetime
) -> bool:
    """Delete the document if it is still due under ``rule`` on ``now``'s day (the database's
    clock, read once per scan) and not held; whether it was."""
    actor = Actor(tenant_id=tenant_id, key_id=RETENTION_ACTOR)
    period = parse_period(rule.period)
    today = now.date()
    try:
        async with ctx.store.write() as uow:
            await legal_holds.lock(uow, actor)
            doc = await uow.documents.get(tenant_id, document_id, for_update=True)
            current = await uow.retention.rule(tenant_id, rule.document_type)
            if doc is None or doc.type != rule.document_type or current is None:
                return False
            if (current.basis, current.period) != (rule.basis, rule.period):
                return False
            until = until_of(await retention.basis_date(uow, doc, rule.basis), period)
            if until is None or until > today:
                return False
            crash_around_commit(uow, "retention.purge")
            await remove_document(
                ctx, uow, actor, doc, {"basis": rule.basis, "period": rule.period}, on=today
            )
            # The receipt commits with the deletion (the document is gone once, so its
            # receipt is written once); the blobs' removal is queued in the same transaction.
            await uow.retention.add_receipt(_receipt(doc, rule, until, now))
    except LegalHoldActive:
        return False  # kept while held; found again once every hold is lifted
    return True


def _receipt(doc: Document, rule: RetentionRule, until: date, now: datetime) -> DeletionReceipt:
    return DeletionReceipt(
        id=uuid.uuid4(),
        tenant_id=doc.tenant_id,
        document_id=doc.id,
        subject_id=doc.subject_id,
        document_type=doc.type,
        basis=rule.basis,
        period=rule.period,
        retain_until=until,
        purged_at=now,
        files=[ReceiptFile(f.id, f.sha256) for f in doc.files],
    )


async def _purge_rule(ctx: AppContext, rule: RetentionRule, period: Period, now: datetime) -> int:
    purged, today = 0, now.date()
    latest = latest_basis(period, today)
    after: UUID | None = None
    while True:
        async with ctx.store.read() as uow:
            batch = await uow.retention.candidates(
                rule.tenant_id, rule.document_type, rule.basis, latest, after, SCAN_BATCH
            )
        for candidate in batch:
            if is_due(candidate.basis_date, period, today):
                purged += await purge_one(ctx, rule.tenant_id, rule, candidate.document_id, now)
        if len(batch) < SCAN_BATCH:
            return purged
        after = batch[-1].document_id


async def scan_tenant(ctx: AppContext, tenant_id: UUID, now: datetime) -> int:
    """Purge the tenant's documents due on ``now``'s (UTC) day; how many."""
    async with ctx.store.read() as uow:
        rules = await uow.retention.rules(tenant_id)
    purged = 0
    for rule in rules:
        purged += await _purge_rule(ctx, rule, parse_period(rule.period), now)
    return purged


async def scan(ctx: AppContext, *, now: datetime | None = None) -> int:
    """One purge of every tenant with a rule, on the database's clock (``now`` overrides it:
    tests); how many documents it deleted. It first finishes the blob removals of earlier
    purges that a crash or a store failure interrupted."""
    await finish_queued_removals(ctx)
    async with ctx.store.read() as uow:
        tenants = await uow.retention.tenants_with_rules()
        at = now or await uow.retention.now()
    purged = 0
    for tenant_id in tenants:
        purged += await scan_tenant(ctx, tenant_id, at)
    if purged:
        log.info("retention_purged", documents=purged)
    return purged


async def run_periodically(ctx: AppContext, *, every_seconds: float) -> None:
    """Purge at once, then every ``every_seconds``; a failed scan is tried again next time
    (each document's deletion committed or did not, whole)."""
    while True:
        try:
            await scan(ctx)
        except Exception as exc:  # the database is away: try again next time
            log.warning("retention_scan_failed", error=type(exc).__name__)
        await asyncio.sleep(every_seconds)
