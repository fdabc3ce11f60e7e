"""Expiry notifications and the expiring report.

A periodic scan (``run_periodically``, in every API process and ``kycvault worker``) records
``document.expiring`` when a document that asked to be told (``notify_before_expiry``,
Cynopsis' ``showExpiryNotification``) reaches one of its tenant's thresholds, and
``document.expired`` on its expiry day. Each event is recorded in the transaction that takes
its mark (document, expiry date, threshold), which is unique: however many processes scan at
once and however often they restart, a threshold of an expiry date is told once. A document
found past several thresholds is told once, for the nearest (domain/expiry.py). Days are
calendar days in UTC.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from typing import Any
from uuid import UUID

import structlog

from kycvault.domain import expiry
from kycvault.domain.scopes import Scope
from kycvault.errors import InvalidInput
from kycvault.ports.persistence.expiry import ExpiringDocument, ExpiringSubject
from kycvault.ports.persistence.store import UnitOfWork
from kycvault.services import events, tenant_settings
from kycvault.services.authorization import require
from kycvault.services.context import Actor, AppContext
from kycvault.services.pagination import Position, check_limit, cursor_codec

log = structlog.get_logger("kycvault.expiry")

# Documents read and marked per transaction.
SCAN_BATCH = 200
FORGET_BATCH = 1000
DEFAULT_WITHIN_DAYS = 30
MAX_WITHIN_DAYS = 365


def today(ctx: AppContext) -> date:
    return ctx.clock().astimezone(UTC).date()


# -- settings ------------------------------------------------------------------------------


async def get_thresholds(ctx: AppContext, actor: Actor) -> tuple[int, ...]:
    await require(ctx, actor, Scope.ADMIN)
    async with ctx.store.read() as uow:
        tenant = await uow.tenants.get(actor.tenant_id)
    return expiry.thresholds_of_tenant(tenant.settings if tenant else {})


async def update_settings(
    ctx: AppContext, actor: Actor, changes: dict[str, Any]
) -> tuple[int, ...]:
    """Set the tenant's notification settings (today only its expiry thresholds)."""
    await require(ctx, actor, Scope.ADMIN)
    for name in changes:
        if name != expiry.THRESHOLDS_FIELD:
            raise InvalidInput.field(name, "unknown_field", "not a notification setting")
    if expiry.THRESHOLDS_FIELD not in changes:
        return await get_thresholds(ctx, actor)
    thresholds = expiry.check_thresholds(changes[expiry.THRESHOLDS_FIELD])
    stored = {expiry.THRESHOLDS_FIELD: list(thresholds)}
    await tenant_settings.update_section(
        ctx, actor, expiry.SETTINGS_KEY, lambda _: stored, [expiry.THRESHOLDS_FIELD]
    )
    return thresholds


# -- the scan ------------------------------------------------------------------------------


def event_data(doc: ExpiringDocument, left: int, threshold: int) -> dict[str, Any]:
    """Ids, type and dates only: never the document's number or name."""
    return {
        "document_id": doc.id,
        "subject_id": doc.subject_id,
        "type": doc.type,
        "expiry_date": doc.expiry_date,
        "days_left": left,
        "threshold": threshold,
    }


async def _tell(
    ctx: AppContext,
    uow: UnitOfWork,
    tenant_id: UUID,
    thresholds: tuple[int, ...],
    on: date,
    doc: ExpiringDocument,
) -> bool:
    left = expiry.days_left(doc.expiry_date, on)
    reached = expiry.reached(thresholds, left)
    if not reached:
        return False
    nearest, *farther = reached
    marks = uow.expiry_notifications
    now = ctx.clock()
    if not await marks.mark(tenant_id, doc.id, doc.expiry_date, nearest, now, True):
        return False  # told already (or the document changed since it was read)
    kind = events.DOCUMENT_EXPIRED if nearest == expiry.EXPIRED else events.DOCUMENT_EXPIRING
    await events.record(ctx, uow, tenant_id, kind, event_data(doc, left, nearest))
    for threshold in farther:  # past news: done without an event
        await marks.mark(tenant_id, doc.id, doc.expiry_date, threshold, now, False)
    return True


async def scan_tenant(
    ctx: AppContext, tenant_id: UUID, thresholds: tuple[int, ...], on: date
) -> int:
    """Tell the tenant's documents that reached a threshold on ``on``; how many events.
    Each threshold's window of expiry dates is read in keyset-paged batches."""
    told = 0
    for window in expiry.windows(thresholds):
        first, last = on + timedelta(days=window.fewest), on + timedelta(days=window.most)
        after: tuple[date, UUID] | None = None
        while True:
            async with ctx.store.read() as uow:
                batch = await uow.expiry_notifications.unnotified(
                    tenant_id, first, last, window.threshold, after, SCAN_BATCH
                )
            if batch:
                async with ctx.store.write() as uow:
                    for doc in batch:
                        told += await _tell(ctx, uow, tenant_id, thresholds, on, doc)
            if len(batch) < SCAN_BATCH:
                break
            after = (batch[-1].expiry_date, batch[-1].id)
    return told


async def _forget_old(ctx: AppContext, on: date) -> None:
    """Marks of expiry dates past the lookback are never looked at again."""
    before = on - timedelta(days=expiry.EXPIRED_LOOKBACK_DAYS + 1)
    while True:
        async with ctx.store.write() as uow:
            removed = await uow.expiry_notifications.forget_before(before, FORGET_BATCH)
        if removed < FORGET_BATCH:
            return


async def scan(ctx: AppContext) -> int:
    """One scan of every tenant; how many events it recorded."""
    on = today(ctx)
    async with ctx.store.read() as uow:
        tenants = await uow.tenants.list_all()
    told = 0
    for tenant in tenants:
        thresholds = expiry.thresholds_of_tenant(tenant.settings)
        told += await scan_tenant(ctx, tenant.id, thresholds, on)
    await _forget_old(ctx, on)
    if told:
        log.info("expiry_notified", events=told)
    return told


async def run_periodically(ctx: AppContext, *, every_seconds: float) -> None:
    """Scan at once, then every ``every_seconds``; a failed scan is tried again next time
    (what it had marked stays marked, what it had not is found again)."""
    while True:
        try:
            await scan(ctx)
        except Exception as exc:  # the database is away: try again next time
            log.warning("expiry_scan_failed", error=type(exc).__name__)
        await asyncio.sleep(every_seconds)


# -- the report ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExpiringReport:
    today: date
    within_days: int
    subjects: list[ExpiringSubject]
    next_cursor: str | None
    has_more: bool


def _parse_day(raw: Any) -> date:
    if not isinstance(raw, str):
        raise ValueError("a day is ISO text")
    return date.fromisoformat(raw)


async def expiring_report(
    ctx: AppContext,
    actor: Actor,
    *,
    within_days: int | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> ExpiringReport:
    """Subjects with documents expiring from today to ``within_days`` from now (not those
    already expired), in subject id order, a page of subjects at a time. The cursor holds
    the day of the first page, so a walk through the pages sees one window."""
    await require(ctx, actor, Scope.DOCUMENTS_READ)
    within = DEFAULT_WITHIN_DAYS if within_days is None else within_days
    if not 0 <= within <= MAX_WITHIN_DAYS:
        raise InvalidInput.field("within_days", "out_of_range", "within_days must be 0 to 365")
    return await report_page(ctx, actor, within, limit=limit, cursor=cursor)


async def report_page(
    ctx: AppContext,
    actor: Actor,
    within: int,
    *,
    limit: int | None = None,
    cursor: str | None = None,
    detailed: bool = False,
) -> ExpiringReport:
    """One page of the report for a checked ``within`` (the caller requires the scope);
    ``detailed``: with the subjects' names and the documents' numbers."""
    size = check_limit(limit)
    codec, scope = cursor_codec(ctx.cipher), f"expiring|{within}"
    position = (
        codec.decode(cursor, tenant_id=actor.tenant_id, scope=scope, parse=_parse_day)
        if cursor
        else None
    )
    on = position.value if position else today(ctx)
    last = on + timedelta(days=within)
    async with ctx.store.read() as uow:
        found = await uow.expiry_notifications.expiring_subjects(
            actor.tenant_id,
            on,
            last,
            position.id if position else None,
            size + 1,
            detailed=detailed,
        )
    has_more = len(found) > size
    found = found[:size]
    next_cursor = (
        codec.encode(
            tenant_id=actor.tenant_id,
            scope=scope,
            position=Position(on.isoformat(), found[-1].id, backward=False),
        )
        if has_more
        else None
    )
    return ExpiringReport(on, within, found, next_cursor, has_more)
