"""Shredding on delete: after a subject's document or file is deleted (or a document moves
to another subject), the subject's key moves to a new generation and the older ones are
destroyed, so that the deleted file's data key (which an older generation wraps, in every
backup of the database) opens nothing any more.

A deletion queues the re-keying in its own transaction (``schedule``: a ``subject.rekey`` job,
one per subject while it waits, so that a burst of deletions costs one re-keying), and a
worker runs it (``rekey``):

1. a new generation of the subject's key is stored and every older one retired (uploads bind
   to the new one from then on, see ``subject_keys``);
2. in short transactions (``BATCH`` files each) that take the tenant's row lock, as every
   binding and every move of a file between subjects does, the files of the subject still
   under an older generation (or under none) are re-wrapped under the new one. The first
   batch's lock waits for any transaction that bound a file to an older generation before it
   was retired, so once a batch finds none left, none can appear;
3. the older generations are destroyed.

A crash anywhere leaves every file under a key that still exists (a generation is destroyed
only after nothing is under it), and the job, claimed again once its lease lapses, starts
over with a generation of its own. The erasure shreds by itself and queues nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from kycvault import crashpoints
from kycvault.domain.jobs import Job, JobKind
from kycvault.domain.models import Document
from kycvault.ports.persistence.store import UnitOfWork
from kycvault.services import subject_keys
from kycvault.services.context import AppContext
from kycvault.services.job_queue import new_job

# Files re-wrapped per transaction: the tenant's row lock (which uploads wait for) is held
# for one batch at a time.
BATCH = 100


def _payload(subject_id: UUID) -> dict[str, str]:
    return {"subject_id": str(subject_id)}


def subject_of(job: Job) -> UUID | None:
    """The subject a re-keying job is about (None for any other job)."""
    if job.kind is not JobKind.REKEY_SUBJECT:
        return None
    named = job.result.get("subject_id")
    return UUID(named) if isinstance(named, str) else None


async def schedule(ctx: AppContext, uow: UnitOfWork, tenant_id: UUID, subject_id: UUID) -> None:
    """Queue the re-keying of ``subject_id`` in ``uow``, the deletion's transaction, unless one
    waits unclaimed already. The caller holds the tenant's row lock, so two deletions do not
    both queue one, and a worker that claims the waiting job starts re-keying only after this
    transaction ends (its first batch takes the same lock) and sees the deletion."""
    payload = _payload(subject_id)
    if await uow.jobs.is_queued(tenant_id, JobKind.REKEY_SUBJECT, payload):
        return
    await uow.jobs.add(new_job(ctx, tenant_id, JobKind.REKEY_SUBJECT, payload=payload))


async def left(ctx: AppContext, uow: UnitOfWork, moved: Document) -> None:
    """``moved`` (as it was) is leaving its subject, its files re-wrapped under another key in
    ``uow`` (which holds the tenant's row lock): the subject it leaves is re-keyed too, so
    that backed-up copies of the files stop opening under that subject's key, and erasing
    the subject they now belong to shreds every copy of them."""
    if moved.subject_id is not None and moved.files:
        await schedule(ctx, uow, moved.tenant_id, moved.subject_id)


@dataclass(frozen=True, slots=True)
class Rekeyed:
    generation: int | None  # the subject's new generation (None: nothing to do)
    files: int  # files re-wrapped under it
    destroyed: int  # older generations destroyed

    def result(self, subject_id: UUID) -> dict[str, Any]:
        return {
            "subject_id": str(subject_id),
            "generation": self.generation,
            "files": self.files,
            "keys_destroyed": self.destroyed,
        }


async def rekey(ctx: AppContext, tenant_id: UUID, subject_id: UUID) -> Rekeyed:
    """Move the subject's files under a new generation of its key, then destroy the older
    generations (see the module's note)."""
    store = ctx.subject_keys.store
    old = await store.of_subject(tenant_id, subject_id)
    if not old:  # erased or deleted meanwhile, with its keys: nothing left to shred
        return Rekeyed(None, 0, 0)
    newest = max(k.generation for k in old)
    fresh = await ctx.subject_keys.new_generation(tenant_id, subject_id, newest + 1, ctx.clock())
    old_ids = [k.id for k in old if k.id != fresh.id]
    await store.retire(tenant_id, old_ids)
    crashpoints.reached("subject.rekey.key_made")
    key = (fresh.id, await ctx.subject_keys.key(tenant_id, fresh.id))
    moved = 0
    while True:
        async with ctx.store.write() as uow:
            await uow.tenants.lock(tenant_id)
            batch = await uow.files.of_subject_under(tenant_id, subject_id, old_ids, BATCH)
            await subject_keys.rewrap_files(ctx, uow, batch, subject_id, key=key)
            gone = await uow.subjects.get(tenant_id, subject_id) is None
        moved += len(batch)
        crashpoints.reached("subject.rekey.batch_committed")
        if len(batch) < BATCH:
            break
    # A subject deleted meanwhile has lost its keys with it, but for the one made here.
    doomed = [*old_ids, fresh.id] if gone else old_ids
    destroyed = await ctx.subject_keys.destroy(tenant_id, doomed)
    return Rekeyed(fresh.generation, moved, destroyed)
