"""Scopes, checked. Every use case an API key can reach calls ``require`` with the scope it
needs (``domain/scopes.py``) before it reads or changes anything, so the native routes and
every dialect get the same answer from the same place.

A refusal is ``InsufficientScope`` (403 ``insufficient_scope``, naming the scope) and is
audited (``auth.scope_refused``, outcome ``refused``, the scope in its details; the key id as
the actor, never the secret) in a write transaction of its own. Inside an idempotent write
(``idempotency.run_once``), whose change and stored answer share one transaction that a
refusal rolls back, the refusal is recorded once that transaction has ended (``one_write``).

``one_write`` also notes the scopes a write was allowed, which are stored with its answer:
replaying that answer under the same ``Idempotency-Key`` (which is the tenant's, not the
key's) needs them too, so a key cannot fetch through a replay what it could not have asked
for (another key's download link, say).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from kycvault.domain.scopes import Scope
from kycvault.errors import InsufficientScope
from kycvault.services import audit
from kycvault.services.context import Actor, AppContext

REFUSED = "auth.scope_refused"
# What a refusal names when the use case names nothing more precise.
_TARGETS = {
    Scope.DOCUMENTS_READ: "document",
    Scope.DOCUMENTS_WRITE: "document",
    Scope.DOCUMENTS_DOWNLOAD: "file",
    Scope.DOCUMENTS_DELETE: "document",
    Scope.DOCUMENTS_REVIEW: "document",
    Scope.SUBJECTS_READ: "subject",
    Scope.SUBJECTS_WRITE: "subject",
    Scope.AUDIT_READ: "audit_event",
    Scope.WEBHOOKS_MANAGE: "webhook_endpoint",
    Scope.ADMIN: "tenant",
}


@dataclass(frozen=True, slots=True)
class _Refusal:
    actor: Actor
    scope: Scope
    target_type: str
    target_id: UUID | None


@dataclass(slots=True)
class _Write:
    """One idempotent write: the scopes it was allowed, the refusals still to record."""

    allowed: set[str] = field(default_factory=set)
    refusals: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


_WRITE: ContextVar[_Write | None] = ContextVar("kycvault_idempotent_write", default=None)


async def require(
    ctx: AppContext,
    actor: Actor,
    scope: Scope,
    *,
    target_type: str | None = None,
    target_id: UUID | None = None,
) -> None:
    """Go on if ``actor`` holds ``scope``; otherwise record the refusal and refuse.

    ``target_type`` and ``target_id`` name what the request was about, for the audit event
    (by default the kind of thing the scope is about, with no id; ``admin`` names the
    tenant).

    Raises:
        InsufficientScope: the actor's key was not given ``scope``.
    """
    write = _WRITE.get()
    if actor.allows(scope):
        if write is not None:
            write.allowed.add(scope)
        return
    if scope == Scope.ADMIN and target_id is None:
        target_id = actor.tenant_id
    refusal = _Refusal(actor, scope, target_type or _TARGETS[scope], target_id)
    await _after_write(lambda: _record(ctx, refusal))
    raise InsufficientScope(scope)


async def record_refusal(ctx: AppContext, actor: Actor, action: str, **fields: Any) -> None:
    """Audit a refused change (outcome ``refused``; ``fields`` as for ``audit.record``) in a
    transaction of its own: now, or inside an idempotent write once its transaction, which
    the refusal rolls back, has ended."""

    async def write() -> None:
        await audit.record_alone(ctx, actor, action, outcome="refused", **fields)

    await _after_write(write)


async def _after_write(record: Callable[[], Awaitable[None]]) -> None:
    write = _WRITE.get()
    if write is not None:
        write.refusals.append(record)
    else:
        await record()


async def require_all(
    ctx: AppContext, actor: Actor, scopes: Iterable[str], *, target_id: UUID | None = None
) -> None:
    """``require`` each of ``scopes`` (a stored answer's, before it is replayed)."""
    for scope in scopes:
        await require(ctx, actor, Scope(scope), target_id=target_id)


@asynccontextmanager
async def one_write(ctx: AppContext) -> AsyncIterator[set[str]]:
    """The block of one idempotent write: yields the set of scopes the write is allowed (filled
    as it runs), and records its refusals when the block ends, after the transaction inside
    it has rolled back."""
    write = _Write()
    token = _WRITE.set(write)
    try:
        yield write.allowed
    finally:
        _WRITE.reset(token)
        for record in write.refusals:
            await record()


async def _record(ctx: AppContext, refusal: _Refusal) -> None:
    async with ctx.store.write() as uow:
        await audit.record(
            ctx,
            uow,
            refusal.actor,
            REFUSED,
            target_type=refusal.target_type,
            target_id=refusal.target_id,
            outcome="refused",
            scope=refusal.scope.value,
        )
