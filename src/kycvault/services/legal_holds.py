"""Legal holds: while a subject or a document is under an active hold, nothing of it is
deleted. A document is held when it has an active hold of its own or its subject has one (a
company's hold does not reach its members). A hold is lifted, never deleted: its row, with who
placed and lifted it and when, stays as evidence.

Every path that deletes a document, a file or a subject calls ``lock`` first thing in its own
write transaction (the tenant's row lock, ``TenantRepository.lock``, which placing and lifting
a hold take too, also first), and ``protection.check_deletable`` (holds here, then retention)
before it deletes: a hold placed
concurrently with a deletion is either seen by the deletion's check or placed after the
deletion committed (and then finds nothing to hold). Taking the tenant's lock before any
document row keeps one lock order, so two such transactions cannot deadlock. A
refusal is 409 ``legal_hold``, audited with outcome ``refused`` (``protection.refuse``) once
the deletion's transaction has rolled back.

Placing and lifting a hold leave an audit event and a client event (``legal_hold.placed``,
``legal_hold.lifted``: the event log and webhooks) in the change's transaction. The reason is
free text: it is stored with the hold and shown to readers of holds, never copied into the
audit trail or the event log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from kycvault.domain.models import Document
from kycvault.domain.scopes import Scope
from kycvault.errors import Conflict, InvalidInput, LegalHoldActive, NotFound
from kycvault.ports.persistence.holds import LegalHold
from kycvault.ports.persistence.records import Seek
from kycvault.ports.persistence.store import UnitOfWork
from kycvault.services import audit, events, object_locks
from kycvault.services.authorization import require
from kycvault.services.context import Actor, AppContext
from kycvault.services.pagination import Page, check_limit, cursor_codec, paginate

MAX_REASON = 500
PLACED = events.LEGAL_HOLD_PLACED
LIFTED = events.LEGAL_HOLD_LIFTED


def hold_not_found() -> NotFound:
    return NotFound("no such legal hold", code="legal_hold_not_found")


def _reason(raw: str | None) -> str:
    text = (raw or "").strip()
    if not text or len(text) > MAX_REASON:
        raise InvalidInput.field(
            "reason", "invalid_reason", f"text of 1 to {MAX_REASON} characters"
        )
    if any((ord(ch) < 32 and ch not in "\n\t") or ord(ch) == 127 for ch in text):
        raise InvalidInput.field("reason", "control_characters", "contains control characters")
    return text


async def place_hold(
    ctx: AppContext,
    actor: Actor,
    *,
    subject_id: UUID | None,
    document_id: UUID | None,
    reason: str | None,
) -> LegalHold:
    """A hold on one subject or one document of the tenant (404 for an unknown one)."""
    await require(ctx, actor, Scope.ADMIN, target_type="legal_hold")
    if (subject_id is None) == (document_id is None):
        raise InvalidInput.field(
            "subject_id", "invalid_target", "give exactly one of subject_id and document_id"
        )
    text = _reason(reason)
    async with ctx.store.write() as uow:
        await lock(uow, actor)
        held_subject = await _target(uow, actor, subject_id, document_id)
        hold = LegalHold(
            id=uuid.uuid4(),
            tenant_id=actor.tenant_id,
            subject_id=subject_id,
            document_id=document_id,
            reason=text,
            placed_at=ctx.clock(),
            placed_by=actor.key_id,
        )
        await uow.legal_holds.add(hold)
        await _record(ctx, uow, actor, PLACED, hold, held_subject)
        await object_locks.lock_held(ctx, uow, actor, hold)  # last: just before the commit
    return hold


async def _target(
    uow: UnitOfWork, actor: Actor, subject_id: UUID | None, document_id: UUID | None
) -> UUID | None:
    """The subject the hold is about (a held document's subject, if it has one)."""
    if document_id is not None:
        doc = await uow.documents.get(actor.tenant_id, document_id, for_update=True)
        if doc is None:
            raise NotFound("no such document", code="document_not_found")
        return doc.subject_id
    if subject_id is None or await uow.subjects.get(actor.tenant_id, subject_id) is None:
        raise NotFound("no such subject", code="subject_not_found")
    return subject_id


async def lift_hold(ctx: AppContext, actor: Actor, hold_id: UUID) -> LegalHold:
    """Lift an active hold (404 for an unknown one, 409 for one lifted already)."""
    await require(ctx, actor, Scope.ADMIN, target_type="legal_hold", target_id=hold_id)
    async with ctx.store.write() as uow:
        await lock(uow, actor)
        hold = await uow.legal_holds.get(actor.tenant_id, hold_id)
        if hold is None:
            raise hold_not_found()
        now = ctx.clock()
        if not await uow.legal_holds.lift(actor.tenant_id, hold_id, now, actor.key_id):
            raise Conflict("this legal hold is lifted already", code="legal_hold_lifted")
        await _record(ctx, uow, actor, LIFTED, hold, await _subject_of(uow, actor, hold))

        async def unlock() -> None:
            await object_locks.unlock_unheld(ctx, actor, hold)

        uow.on_commit(unlock)  # once the lift committed (also inside an idempotent write)
    return replace(hold, lifted_at=now, lifted_by=actor.key_id)


async def _record(
    ctx: AppContext,
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    hold: LegalHold,
    subject_id: UUID | None,
) -> None:
    """The audit event and the client event (``legal_hold.placed``/``lifted``, the same names)
    of a hold's change, in its transaction. Neither carries the reason (free text that may
    name people): a receiver fetches the hold for it."""
    await audit.record(
        ctx,
        uow,
        actor,
        action,
        target_type="legal_hold",
        target_id=hold.id,
        subject_id=subject_id,
        document_id=hold.document_id,
    )
    data = {
        "legal_hold_id": hold.id,
        "held": "document" if hold.document_id is not None else "subject",
        "subject_id": subject_id,
        "document_id": hold.document_id,
    }
    await events.record(ctx, uow, actor, action, data)


async def _subject_of(uow: UnitOfWork, actor: Actor, hold: LegalHold) -> UUID | None:
    """The held subject, or the held document's (None once that document is gone)."""
    if hold.document_id is None:
        return hold.subject_id
    doc = await uow.documents.get(actor.tenant_id, hold.document_id)
    return doc.subject_id if doc is not None else None


async def get_hold(ctx: AppContext, actor: Actor, hold_id: UUID) -> LegalHold:
    await require(ctx, actor, Scope.DOCUMENTS_READ, target_type="legal_hold", target_id=hold_id)
    async with ctx.store.read() as uow:
        hold = await uow.legal_holds.get(actor.tenant_id, hold_id)
    if hold is None:
        raise hold_not_found()
    return hold


async def list_holds(
    ctx: AppContext,
    actor: Actor,
    *,
    include_lifted: bool = False,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[LegalHold]:
    """The tenant's active holds (with ``include_lifted`` every hold), newest first."""
    await require(ctx, actor, Scope.DOCUMENTS_READ, target_type="legal_hold")

    async def fetch(seek: Seek) -> list[LegalHold]:
        async with ctx.store.read() as uow:
            return await uow.legal_holds.page(actor.tenant_id, include_lifted, seek)

    return await paginate(
        fetch,
        codec=cursor_codec(ctx.cipher),
        tenant_id=actor.tenant_id,
        scope=f"legal-holds|{'all' if include_lifted else 'active'}",
        sort="-placed_at",
        key=lambda h: (h.placed_at, h.id),
        parse=datetime.fromisoformat,
        limit=check_limit(limit),
        cursor=cursor,
    )


async def lock(uow: UnitOfWork, actor: Actor) -> None:
    """Order this transaction with hold changes: call it before reading or locking what is
    to be deleted."""
    await uow.tenants.lock(actor.tenant_id)


async def check_held(
    uow: UnitOfWork,
    actor: Actor,
    *,
    documents: Sequence[Document] = (),
    subject_id: UUID | None = None,
) -> None:
    """Refuse (``LegalHoldActive``) unless none of ``documents``, their subjects,
    ``subject_id`` and the documents of ``subject_id`` is under an active hold. Call it in the
    deletion's write transaction, which began with ``lock`` (``protection.check_deletable``
    does, with the retention check)."""
    await lock(uow, actor)  # again: a no-op for a transaction that holds it
    subjects = {d.subject_id for d in documents if d.subject_id is not None}
    if subject_id is not None:
        subjects.add(subject_id)
    holds = await uow.legal_holds.active(
        actor.tenant_id,
        subject_ids=sorted(subjects),
        document_ids=[d.id for d in documents],
        documents_of=[subject_id] if subject_id is not None else [],
    )
    if holds:
        raise LegalHoldActive(
            "under a legal hold: nothing of it can be deleted until every hold on it is lifted",
            hold_ids=[str(h.id) for h in holds],
        )
