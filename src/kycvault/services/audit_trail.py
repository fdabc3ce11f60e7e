"""Reading the audit trail: pages with filters, a streamed export, a document's history, and
the verification of every chain (``kycvault audit verify``). Each read of the trail is itself
recorded."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID

from kycvault.domain.audit_chain import ChainBreak, ChainWalk, chain_of
from kycvault.domain.scopes import Scope
from kycvault.domain.spreadsheet import csv_line
from kycvault.errors import InvalidInput, NotFound
from kycvault.ports.persistence.records import AuditEvent, AuditFilter, Seek
from kycvault.services import audit
from kycvault.services.authorization import require
from kycvault.services.context import Actor, AppContext
from kycvault.services.pagination import Page, check_limit, cursor_codec, paginate

ExportFormat = Literal["jsonl", "csv"]
EXPORT_COLUMNS = (
    "id", "seq", "at", "actor", "action", "outcome", "target_type", "target_id", "subject_id",
    "document_id", "file_id", "client_address", "request_id", "details",
)  # fmt: skip
# Audit pages may be longer than other lists' (a reviewer reads a trail in long runs).
MAX_PAGE = 500
_EXPORT_BATCH = 500
_VERIFY_BATCH = 1000


def _check(where: AuditFilter) -> None:
    if where.at_from and where.at_to and where.at_from > where.at_to:
        raise InvalidInput.field("to", "empty_range", "to is before from")


def _fingerprint(where: AuditFilter) -> str:
    return repr(
        (
            where.subject_id,
            where.document_id,
            where.actor,
            tuple(sorted(set(where.actions))),
            where.outcome,
            where.at_from,
            where.at_to,
        )
    )


def _parse_seq(raw: Any) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool):
        raise ValueError("a number is an integer")
    return raw


def _key(event: AuditEvent) -> tuple[Any, UUID]:
    assert event.seq is not None  # stored events are numbered
    return event.seq, event.id


async def _page(
    ctx: AppContext, actor: Actor, where: AuditFilter, limit: int | None, cursor: str | None
) -> Page[AuditEvent]:
    _check(where)

    async def fetch(seek: Seek) -> list[AuditEvent]:
        async with ctx.store.read() as uow:
            return await uow.audit.page(actor.tenant_id, where, seek)

    return await paginate(
        fetch,
        codec=cursor_codec(ctx.cipher),
        tenant_id=actor.tenant_id,
        scope=f"audit|{_fingerprint(where)}",
        sort="-seq",
        key=_key,
        parse=_parse_seq,
        limit=check_limit(limit, most=MAX_PAGE),
        cursor=cursor,
    )


def _used(where: AuditFilter) -> list[str]:
    """Which filters a read of the trail used (not their values: an actor's key id or a
    subject id may be what someone is looking into)."""
    names = ("subject_id", "document_id", "actor", "actions", "outcome", "at_from", "at_to")
    return [name for name in names if getattr(where, name) not in (None, ())]


async def list_events(
    ctx: AppContext,
    actor: Actor,
    where: AuditFilter,
    *,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[AuditEvent]:
    """The tenant's audit events matching ``where``, newest first (``audit:read``)."""
    await require(ctx, actor, Scope.AUDIT_READ)
    page = await _page(ctx, actor, where, limit, cursor)
    await audit.record_alone(
        ctx, actor, "audit.listed", filters=_used(where), count=len(page.items)
    )
    return page


async def document_history(
    ctx: AppContext,
    actor: Actor,
    document_id: UUID,
    *,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[AuditEvent]:
    """Every recorded access to and change of one document (its files included), newest
    first. A document deleted since still has its history (``documents:read``)."""
    await require(ctx, actor, Scope.DOCUMENTS_READ, target_type="document", target_id=document_id)
    where = AuditFilter(document_id=document_id)
    page = await _page(ctx, actor, where, limit, cursor)
    if not page.items and cursor is None:
        async with ctx.store.read() as uow:
            if await uow.documents.get(actor.tenant_id, document_id) is None:
                raise NotFound("no such document", code="document_not_found")
    await audit.record_alone(
        ctx,
        actor,
        "document.history_read",
        target_type="document",
        target_id=document_id,
        count=len(page.items),
    )
    return page


def export_row(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": str(event.id),
        "seq": event.seq,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "outcome": event.outcome,
        "target_type": event.target_type,
        "target_id": str(event.target_id) if event.target_id else None,
        "subject_id": str(event.subject_id) if event.subject_id else None,
        "document_id": str(event.document_id) if event.document_id else None,
        "file_id": str(event.file_id) if event.file_id else None,
        "client_address": event.client_address,
        "request_id": event.request_id,
        "details": event.details,
    }


def _csv_line(values: list[Any]) -> bytes:
    return csv_line(values).encode()


def _csv_cell(value: Any) -> Any:
    """JSON for the details (``csv_line`` quotes a cell a spreadsheet would run)."""
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return value


async def start_export(ctx: AppContext, actor: Actor, where: AuditFilter) -> None:
    """Checked and recorded before the first byte, so an export that cannot start fails
    with a clear error rather than an empty stream (``audit:read``)."""
    await require(ctx, actor, Scope.AUDIT_READ)
    _check(where)
    await audit.record_alone(ctx, actor, "audit.exported", filters=_used(where))


async def export(
    ctx: AppContext, actor: Actor, where: AuditFilter, fmt: ExportFormat
) -> AsyncIterator[bytes]:
    """Every matching event, newest first, as JSON lines or CSV, read in batches (memory
    stays at one batch whatever the trail's size)."""
    if fmt == "csv":
        yield _csv_line(list(EXPORT_COLUMNS))
    async for events in batches(ctx, actor.tenant_id, where):
        if fmt == "csv":
            rows = (export_row(event) for event in events)
            lines = [_csv_line([_csv_cell(row[c]) for c in EXPORT_COLUMNS]) for row in rows]
        else:
            lines = [jsonl_line(event) for event in events]
        yield b"".join(lines)  # a batch a chunk (a few hundred KiB at most)


def jsonl_line(event: AuditEvent) -> bytes:
    return json.dumps(export_row(event), separators=(",", ":")).encode() + b"\n"


async def batches(
    ctx: AppContext, tenant_id: UUID, where: AuditFilter
) -> AsyncIterator[list[AuditEvent]]:
    """The tenant's events matching ``where``, newest first, a batch at a time (for the
    exports, which have checked and recorded the read before the first batch)."""
    seek = Seek(sort="-seq", limit=_EXPORT_BATCH)
    while True:
        async with ctx.store.read() as uow:
            events = await uow.audit.page(tenant_id, where, seek)
        if events:
            yield events
        if len(events) < _EXPORT_BATCH:
            return
        seek = Seek(sort="-seq", limit=_EXPORT_BATCH, position=_key(events[-1]))


@dataclass
class Verification:
    chains: int = 0
    events: int = 0
    breaks: list[ChainBreak] = field(default_factory=list)


async def verify(ctx: AppContext, *, tenant_id: UUID | None = None) -> Verification:
    """Walk every chain (or the tenant's) from its first event: the first event that does not
    follow from those before it, per chain. Reads in batches; changes nothing."""
    key = audit.chain_key(ctx)
    result = Verification()
    async with ctx.store.read() as uow:
        heads = await uow.audit.heads(chain_of(tenant_id) if tenant_id else None)
    for head in heads:
        result.chains += 1
        walk = ChainWalk(key, head.chain_id)
        # From below any number a writer could have given a forged event (0, negatives).
        after, broken = -(2**62), None
        while broken is None:
            async with ctx.store.read() as uow:
                events = await uow.audit.chain_events(head.chain_id, after, _VERIFY_BATCH)
            for event in events:
                assert event.seq is not None
                fields = event.chained_fields(head.chain_id, event.seq)
                broken = walk.check(fields, event.prev_mac, event.mac)
                if broken is not None:
                    break
            if broken is None and len(events) < _VERIFY_BATCH:
                broken = walk.end(head.last_seq, head.last_mac)
                break
            if events:
                after = events[-1].seq or after
        result.events += walk.checked
        if broken is not None:
            result.breaks.append(broken)
    return result
