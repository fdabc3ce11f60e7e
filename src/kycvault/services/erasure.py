"""Subject erasure (GDPR Art. 17, with the AML exemption of Art. 17(3)(b)): everything of a
subject that no retention period and no legal hold protects is deleted, and what was deleted
is shredded in every backup too.

What is kept, and why, is decided per document in the erasure's write transaction (which
takes the tenant's row lock first, as every deletion does, so a hold placed meanwhile is
seen): a hold on the subject or the document keeps it (basis ``legal_hold``), a retention
rule whose period has not run out keeps it until the rule's day (``relationship_end`` with no
end recorded yet: kept with no day), a questionnaire answer that names it keeps it
(``in_use``). The rest goes through ``document_removal.remove_document``, like a DELETE.

Shredding. The subject's files are encrypted under data keys wrapped by its subject key,
which lives in the subject-key store, apart from the database and the blob store
(``services/subject_keys.py``). When every document goes, every generation of the subject's
key is destroyed after the commit. When some are kept, a new generation is made first, the
kept files' data keys are re-wrapped under it in the erasure's transaction, and the older
generations (which wrapped the erased files too) are destroyed after the commit. Either way
no key that opens an erased file survives outside the store's own backups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from kycvault.domain.models import Document
from kycvault.domain.scopes import Scope
from kycvault.ports.persistence.store import UnitOfWork
from kycvault.services import audit, events, legal_holds, retention, subject_keys
from kycvault.services.authorization import require
from kycvault.services.context import Actor, AppContext
from kycvault.services.document_removal import remove_document
from kycvault.services.subjects import subject_not_found

LEGAL_HOLD = "legal_hold"
IN_USE = "in_use"


@dataclass(frozen=True, slots=True)
class Kept:
    document_id: UUID
    basis: str  # legal_hold, in_use, or the retention rule's basis
    until: date | None  # the day the retention period ends (None: not known yet, or a hold)


@dataclass(slots=True)
class Erasure:
    subject_id: UUID
    erased: list[Document] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)
    # Whether the subject's own record went too (only when nothing of it is kept and no other
    # subject or questionnaire answer refers to it).
    subject_erased: bool = False
    keys_destroyed: int = 0


async def erase_subject(ctx: AppContext, actor: Actor, subject_id: UUID) -> Erasure:
    await require(ctx, actor, Scope.DOCUMENTS_DELETE, target_id=subject_id)
    await require(ctx, actor, Scope.SUBJECTS_WRITE, target_id=subject_id)
    tenant_id = actor.tenant_id
    async with ctx.store.read() as uow:
        if await uow.subjects.get(tenant_id, subject_id) is None:
            raise subject_not_found()
    store = ctx.subject_keys.store
    old_keys = await store.of_subject(tenant_id, subject_id)
    # A new generation for what is kept, made before the transaction so that uploads binding
    # meanwhile already take it (made before the old ones are retired, so that the subject
    # always has a live key); if nothing turns out to be kept it is destroyed with the rest.
    newest = max((k.generation for k in old_keys), default=0)
    fresh = await ctx.subject_keys.new_generation(tenant_id, subject_id, newest + 1, ctx.clock())
    await store.retire(tenant_id, [k.id for k in old_keys if k.id != fresh.id])
    result = Erasure(subject_id=subject_id)
    async with ctx.store.write() as uow:
        await legal_holds.lock(uow, actor)
        if await uow.subjects.get(tenant_id, subject_id) is None:
            raise subject_not_found()
        ids = await uow.subjects.document_ids(tenant_id, subject_id)
        documents = await uow.documents.get_many(tenant_id, ids)
        today = await retention.today(uow)  # the database's day, as a DELETE and the purge
        kept = await _protected(uow, actor, subject_id, documents, today)
        result.kept = [kept[doc.id] for doc in documents if doc.id in kept]
        key = (fresh.id, await ctx.subject_keys.key(tenant_id, fresh.id))
        for doc in documents:
            if doc.id in kept:
                await subject_keys.rewrap_files(ctx, uow, doc.files, subject_id, key=key)
            else:
                await remove_document(
                    ctx, uow, actor, doc, action="document.erased", on=today, shred=False
                )
                result.erased.append(doc)
        if not result.kept and await _may_delete_subject(uow, tenant_id, subject_id):
            await uow.subjects.delete(tenant_id, subject_id)
            await events.record(ctx, uow, actor, events.SUBJECT_DELETED, {"subject_id": subject_id})
            result.subject_erased = True
        await audit.record(
            ctx,
            uow,
            actor,
            "subject.erased",
            target_type="subject",
            target_id=subject_id,
            subject_id=subject_id,
            erased=len(result.erased),
            kept=len(result.kept),
            subject_erased=result.subject_erased,
        )
        await events.record(ctx, uow, actor, events.SUBJECT_ERASED, _event(result))
    doomed = [k.id for k in old_keys]
    if not result.kept:
        doomed.append(fresh.id)
    result.keys_destroyed = await ctx.subject_keys.destroy(tenant_id, doomed)
    return result


async def _protected(
    uow: UnitOfWork, actor: Actor, subject_id: UUID, documents: list[Document], today: date
) -> dict[UUID, Kept]:
    """The documents that stay, each with why and until when."""
    holds = await uow.legal_holds.active(
        actor.tenant_id,
        subject_ids=[subject_id],
        document_ids=[d.id for d in documents],
    )
    held_subject = any(h.subject_id == subject_id for h in holds)
    held = {h.document_id for h in holds}
    kept: dict[UUID, Kept] = {}
    for doc in documents:
        if held_subject or doc.id in held:
            kept[doc.id] = Kept(doc.id, LEGAL_HOLD, None)
            continue
        rule = await uow.retention.rule(actor.tenant_id, doc.type)
        if rule is not None:
            until = await retention.until_for(uow, doc, rule)
            if until is None or until > today:
                kept[doc.id] = Kept(doc.id, rule.basis, until)
                continue
        if await uow.responses.references(actor.tenant_id, doc.id):
            kept[doc.id] = Kept(doc.id, IN_USE, None)
    return kept


async def _may_delete_subject(uow: UnitOfWork, tenant_id: UUID, subject_id: UUID) -> bool:
    if await uow.subjects.has_members(tenant_id, subject_id):
        return False
    return not await uow.responses.exists_for_subject(tenant_id, subject_id)


def _event(result: Erasure) -> dict[str, Any]:
    return {
        "subject_id": result.subject_id,
        "erased": [doc.id for doc in result.erased],
        "kept": [
            {"document_id": k.document_id, "basis": k.basis, "until": k.until} for k in result.kept
        ],
        "subject_erased": result.subject_erased,
    }
