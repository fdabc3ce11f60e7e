"""Audit events: one row per access or change, written in the same transaction as the change
itself (no change without its record, no record of what did not happen), chained per tenant
by MACs (``domain/audit_chain.py``). Rows hold ids, outcomes and the client's address only:
never keys, tokens, file names, names or document numbers.

Reads (a document's metadata, a list page, a download) are recorded after the read, before
the answer leaves, through ``Store.append_audit``: concurrent reads' events share one write
transaction (group commit), and each read waits until its event is committed. If that write
fails the request fails, so nothing is shown that was not recorded. A point read (a file's
lookup before a download) goes into that transaction itself (``read_recorded``): one
transaction per download instead of two."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from uuid import UUID

import structlog

from kycvault.errors import MalwareDetected
from kycvault.ports.persistence.records import AuditEvent
from kycvault.ports.persistence.store import UnitOfWork
from kycvault.services.context import Actor, AppContext

log = structlog.get_logger("kycvault.audit")

Found = TypeVar("Found")

# The MAC key of the chains, derived from the master key (never stored).
CHAIN_KEY_LABEL = "audit-chain/v1"


def chain_key(ctx: AppContext) -> bytes:
    return ctx.cipher.derive_secret(CHAIN_KEY_LABEL)


def new_event(
    ctx: AppContext,
    actor: Actor | None,
    action: str,
    *,
    tenant_id: UUID | None = None,
    target_type: str | None,
    target_id: UUID | None,
    outcome: str = "success",
    subject_id: UUID | None = None,
    document_id: UUID | None = None,
    file_id: UUID | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    # An event about a subject, a document or a file names it in that column too.
    if target_type == "subject" and subject_id is None:
        subject_id = target_id
    elif target_type == "document" and document_id is None:
        document_id = target_id
    elif target_type == "file" and file_id is None:
        file_id = target_id
    return AuditEvent(
        id=uuid.uuid4(),
        tenant_id=actor.tenant_id if actor is not None else tenant_id,
        at=ctx.clock(),
        actor=actor.key_id if actor is not None else None,
        action=action,
        outcome=outcome,
        target_type=target_type,
        target_id=target_id,
        request_id=actor.request_id if actor is not None else None,
        client_address=actor.client_address if actor is not None else None,
        details=details or {},
        subject_id=subject_id,
        document_id=document_id,
        file_id=file_id,
    )


def _event(
    ctx: AppContext,
    actor: Actor,
    action: str,
    *,
    target_type: str | None,
    target_id: UUID | None,
    outcome: str = "success",
    subject_id: UUID | None = None,
    document_id: UUID | None = None,
    file_id: UUID | None = None,
    **details: Any,
) -> AuditEvent:
    return new_event(
        ctx,
        actor,
        action,
        target_type=target_type,
        target_id=target_id,
        outcome=outcome,
        subject_id=subject_id,
        document_id=document_id,
        file_id=file_id,
        details=details,
    )


async def record(
    ctx: AppContext,
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    *,
    target_type: str | None,
    target_id: UUID | None,
    **named: Any,
) -> None:
    """Record ``action`` in ``uow``'s transaction (it commits with the change or not at
    all). ``named``: ``outcome`` (default ``success``), ``subject_id``, ``document_id``,
    ``file_id``, and details."""
    event = _event(ctx, actor, action, target_type=target_type, target_id=target_id, **named)
    await uow.audit.add(event, chain_key(ctx))


async def record_alone(
    ctx: AppContext,
    actor: Actor,
    action: str,
    *,
    target_type: str | None = None,
    target_id: UUID | None = None,
    **named: Any,
) -> None:
    """Record a read or a refusal, which changed nothing, outside any change's transaction
    (``named`` as ``record`` takes them), and return once it is committed."""
    event = _event(ctx, actor, action, target_type=target_type, target_id=target_id, **named)
    await ctx.store.append_audit(event, chain_key(ctx))


async def read_recorded(
    ctx: AppContext,
    actor: Actor,
    lookup: Callable[[UnitOfWork], Awaitable[Found]],
    action: str,
    *,
    target_type: str,
    named: Callable[[Found], dict[str, Any]],
) -> Found:
    """What ``lookup`` finds, recorded as ``action`` in the same transaction (``named(found)``:
    the event's ``target_id`` and its other fields, as ``record`` takes them); nothing is
    recorded when the lookup raises (nothing found)."""

    def event(found: Found) -> AuditEvent:
        return _event(ctx, actor, action, target_type=target_type, **named(found))

    return await ctx.store.audited_read(lookup, event, chain_key(ctx))


async def record_malware(ctx: AppContext, actor: Actor, detected: MalwareDetected) -> None:
    """An upload the malware scanner refused: what was found and the file's SHA-256, never its
    name. Written on its own, since the refused upload itself stores nothing."""
    log.warning(
        "upload_refused",
        reason=detected.code,
        tenant_id=str(actor.tenant_id),
        sha256=detected.sha256,
        signature=detected.signature,
    )
    await record_alone(
        ctx,
        actor,
        f"file.{detected.code}",
        target_type="file",
        outcome="refused",
        sha256=detected.sha256,
        signature=detected.signature,
    )
