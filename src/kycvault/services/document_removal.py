"""Deleting a document: by a request (``delete_document``), and the deletion every path
shares (``remove_document``: a DELETE, a questionnaire answer's document, the retention
purge), which checks first that nothing keeps the document (``protection``)."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from kycvault.domain.models import Document
from kycvault.domain.scopes import Scope
from kycvault.errors import Protected
from kycvault.ports.persistence.store import UnitOfWork
from kycvault.services import audit, events, legal_holds, protection, subject_rekey
from kycvault.services.authorization import require
from kycvault.services.commits import crash_around_commit, delete_blobs_after_commit
from kycvault.services.context import Actor, AppContext
from kycvault.services.documents import document_in_use, document_not_found


async def delete_document(ctx: AppContext, actor: Actor, document_id: UUID) -> None:
    """Delete the rows first, then (once that committed) the blobs: a failure in between
    leaves unreferenced ciphertext (whose data keys went with the rows, and which the sweep
    removes), never a row without its blob. A document that a questionnaire response
    references stays (409 ``document_in_use``)."""
    await require(ctx, actor, Scope.DOCUMENTS_DELETE, target_id=document_id)
    subject_id = None
    try:
        async with ctx.store.write() as uow:
            await legal_holds.lock(uow, actor)
            doc = await uow.documents.get(actor.tenant_id, document_id, for_update=True)
            if doc is None:
                raise document_not_found()
            subject_id = doc.subject_id
            if await uow.responses.references(actor.tenant_id, document_id):
                raise document_in_use()
            crash_around_commit(uow, "document.delete")
            await remove_document(ctx, uow, actor, doc)
    except Protected as held:
        await protection.refuse(
            ctx,
            actor,
            "document.delete_refused",
            held,
            target_type="document",
            target_id=document_id,
            subject_id=subject_id,
        )
        raise


async def remove_document(
    ctx: AppContext,
    uow: UnitOfWork,
    actor: Actor,
    doc: Document,
    rule: dict[str, Any] | None = None,
    action: str | None = None,
    *,
    on: date | None = None,
    shred: bool = True,
) -> None:
    """Delete a document's rows and stored responses in ``uow``, its blobs after commit; one
    the vault must keep stays (``Protected``: a hold, or a retention period not over on
    ``on``, by default the database's day). With a retention ``rule``: ``document.purged``;
    ``action`` names the audit event otherwise (``document.erased``). ``shred``: queue the
    re-keying of its subject (``subject_rekey``), which an erasure does itself."""
    await protection.check_deletable(uow, actor, documents=[doc], on=on)
    keys = [f.blob_key for f in doc.files]
    if rule is not None:  # a purge: the blobs' removal is queued with the rows' deletion
        await uow.retention.queue_removals(actor.tenant_id, keys, ctx.clock())
    delete_blobs_after_commit(ctx, uow, keys, queued=rule is not None)
    await uow.documents.delete(actor.tenant_id, doc.id)
    await uow.idempotency.purge_target(actor.tenant_id, doc.id)
    if shred and doc.subject_id is not None:
        await subject_rekey.schedule(ctx, uow, actor.tenant_id, doc.subject_id)
    await audit.record(
        ctx,
        uow,
        actor,
        action or ("document.deleted" if rule is None else "document.purged"),
        target_type="document",
        target_id=doc.id,
        subject_id=doc.subject_id,
        files=len(doc.files),
        **(rule or {}),
    )
    data = {"document_id": doc.id, "subject_id": doc.subject_id}
    await events.record(ctx, uow, actor, events.DOCUMENT_DELETED, data)
