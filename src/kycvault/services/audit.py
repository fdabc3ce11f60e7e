"""Audit events: one row per change or read of a document, written in the same transaction as
the change itself (no change without its record, no record of what did not happen). Rows hold
ids and outcomes only: never keys, tokens, filenames or document numbers."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import structlog

from kycvault.domain.scopes import Scope
from kycvault.errors import MalwareDetected
from kycvault.ports.persistence.records import AuditEvent
from kycvault.ports.persistence.store import UnitOfWork

# A module import both ways: authorization records its refusals here.
from kycvault.services import authorization
from kycvault.services.context import Actor, AppContext

log = structlog.get_logger("kycvault.audit")


async def record(
    ctx: AppContext,
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    *,
    target_type: str,
    target_id: UUID | None,
    outcome: str = "success",
    **details: Any,
) -> None:
    await uow.audit.add(
        AuditEvent(
            id=uuid.uuid4(),
            tenant_id=actor.tenant_id,
            at=ctx.clock(),
            actor=actor.key_id,
            action=action,
            outcome=outcome,
            target_type=target_type,
            target_id=target_id,
            request_id=actor.request_id,
            details=details,
        )
    )


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
    async with ctx.store.write() as uow:
        await record(
            ctx,
            uow,
            actor,
            f"file.{detected.code}",
            target_type="file",
            target_id=None,
            outcome="refused",
            sha256=detected.sha256,
            signature=detected.signature,
        )


async def events_for(ctx: AppContext, actor: Actor, *, limit: int = 100) -> list[AuditEvent]:
    await authorization.require(ctx, actor, Scope.AUDIT_READ)
    async with ctx.store.read() as uow:
        return await uow.audit.list_for(actor.tenant_id, limit=limit)
