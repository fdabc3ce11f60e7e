"""Audit events: one row per change or read of a document, written in the same transaction as
the change itself (no change without its record, no record of what did not happen). Rows hold
ids and outcomes only: never keys, tokens, filenames or document numbers."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from kycvault.services.context import Actor, Vault
from kycvault.services.unit_of_work import AuditEvent, UnitOfWork


async def record(
    vault: Vault,
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
            at=vault.clock(),
            actor=actor.key_id,
            action=action,
            outcome=outcome,
            target_type=target_type,
            target_id=target_id,
            request_id=actor.request_id,
            details=details,
        )
    )


async def events_for(vault: Vault, actor: Actor, *, limit: int = 100) -> list[AuditEvent]:
    async with vault.store.read() as uow:
        return await uow.audit.list_for(actor.tenant_id, limit=limit)
