"""The blob store's own legal hold (S3 Object Lock) on the blobs of held documents, where
the store supports it (``BlobStore.supports_legal_hold``; elsewhere nothing happens): a held
document's objects then resist deletion by anyone with access to the bucket, not only
through the vault.

The order of the steps is what keeps a held object from ever being unlocked:

- **Placing** a hold sets the store's hold ON on every blob it covers inside the hold's
  transaction, before it commits (``lock_held``). If the store fails, the placement fails
  (503) and no hold exists. If the commit fails after, the blobs stay locked with no hold:
  more protection than asked, never less; the vault clears such a lock when it deletes the
  blob, and a later lift covering it clears it too.
- **Lifting** commits first; then ``unlock_unheld``, in a transaction of its own that takes
  the tenant's row lock (which placing a hold takes first too), reads which of the blobs no
  active hold covers any more and only those are cleared. A hold placed at the same time has
  either committed before that read (its blobs are not cleared) or waits for the lock and
  sets its blobs ON after the clearing. A failure to clear leaves a lock without a hold,
  which is safe, and is logged.
- **New blobs** of a held document or of a held subject's document (an upload after the
  hold) are locked by ``lock_new`` in the upload's transaction before it commits, under the
  same tenant lock (taken only where the store supports legal holds)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence

import structlog

from kycvault.domain.models import Document
from kycvault.errors import Unavailable
from kycvault.ports.persistence.holds import LegalHold
from kycvault.ports.persistence.store import UnitOfWork
from kycvault.ports.storage import BlobStore, BlobStoreError
from kycvault.services.context import Actor, AppContext

log = structlog.get_logger("kycvault.object_locks")

# The documents of a held subject whose blobs one placement or lift sets.
SUBJECT_DOCUMENTS = 10_000


# A store's answer once it has given one: the store remembers it too, but asking it takes a
# thread hop (it may block), and an upload asks three times.
_KNOWN: weakref.WeakKeyDictionary[BlobStore, bool] = weakref.WeakKeyDictionary()


async def supported(ctx: AppContext) -> bool:
    """Whether the store has legal holds. An upload asks before it publishes its blobs: the
    first asking (remembered after) may take a second, which must not pass between the
    publication and the commit (the sweep would take the blobs for an upload's leftovers)."""
    known = _KNOWN.get(ctx.blobs)
    if known is not None:
        return known
    try:
        answer = await asyncio.to_thread(ctx.blobs.supports_legal_hold)
    except BlobStoreError as exc:
        raise Unavailable("the blob store cannot be reached to set its legal hold") from exc
    _KNOWN[ctx.blobs] = answer
    return answer


async def _set(ctx: AppContext, keys: Sequence[str], on: bool) -> None:
    def work() -> None:
        for key in keys:
            ctx.blobs.set_legal_hold(key, on)

    await asyncio.to_thread(work)


async def covered(uow: UnitOfWork, actor: Actor, hold: LegalHold) -> list[Document]:
    """The documents ``hold`` covers (the document, or the subject's documents)."""
    if hold.document_id is not None:
        doc = await uow.documents.get(actor.tenant_id, hold.document_id)
        return [doc] if doc is not None else []
    assert hold.subject_id is not None
    ids = await uow.retention.documents_of(actor.tenant_id, hold.subject_id, SUBJECT_DOCUMENTS)
    return await uow.documents.get_many(actor.tenant_id, ids)


async def lock_held(ctx: AppContext, uow: UnitOfWork, actor: Actor, hold: LegalHold) -> None:
    """Set the store's hold ON on the blobs ``hold`` covers, before its transaction commits
    (the store failing fails the placement)."""
    if not await supported(ctx):
        return
    keys = [f.blob_key for doc in await covered(uow, actor, hold) for f in doc.files]
    try:
        await _set(ctx, keys, True)
    except BlobStoreError as exc:
        raise Unavailable("the blob store could not set its legal hold") from exc


async def order_upload(ctx: AppContext, uow: UnitOfWork, actor: Actor) -> None:
    """First thing in an upload's transaction, where the store has legal holds: the tenant's
    row lock, so that a hold placed at the same time either sees the new blobs or is seen by
    ``lock_new`` (taken before any document row, the order every deletion keeps)."""
    if await supported(ctx):
        await uow.tenants.lock(actor.tenant_id)


async def lock_new(
    ctx: AppContext, uow: UnitOfWork, actor: Actor, doc: Document, keys: Sequence[str]
) -> None:
    """Lock the new blobs ``keys`` of ``doc`` if it is held, in the upload's transaction
    (which began with ``order_upload``)."""
    if not keys or not await supported(ctx):
        return
    subjects = [doc.subject_id] if doc.subject_id is not None else []
    if await uow.legal_holds.active(actor.tenant_id, subject_ids=subjects, document_ids=[doc.id]):
        try:
            await _set(ctx, keys, True)
        except BlobStoreError as exc:
            raise Unavailable("the blob store could not set its legal hold") from exc


async def unlock_unheld(ctx: AppContext, actor: Actor, hold: LegalHold) -> None:
    """After ``hold`` was lifted: clear the store's hold on the blobs it covered that no
    other active hold covers."""
    try:
        if not await supported(ctx):
            return
        async with ctx.store.write() as uow:
            await uow.tenants.lock(actor.tenant_id)
            keys = []
            for doc in await covered(uow, actor, hold):
                subjects = [doc.subject_id] if doc.subject_id is not None else []
                if not await uow.legal_holds.active(
                    actor.tenant_id, subject_ids=subjects, document_ids=[doc.id]
                ):
                    keys += [f.blob_key for f in doc.files]
            await _set(ctx, keys, False)
    except (BlobStoreError, Unavailable) as exc:
        # Left locked with no hold: safe; the vault clears it when it deletes the blob.
        log.warning("object_lock_not_cleared", hold_id=str(hold.id), error=type(exc).__name__)
