"""What a change does around its commit: crash points (``kycvault.crashpoints``) and blobs
removed once the rows that referenced them are certainly gone."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from kycvault import crashpoints
from kycvault.ports.persistence.store import UnitOfWork
from kycvault.services.context import AppContext


def crash_around_commit(uow: UnitOfWork, operation: str) -> None:
    """The crash points of a change's commit (see ``kycvault.crashpoints``)."""
    crashpoints.reached(f"{operation}.before_commit")
    if crashpoints.armed(f"{operation}.after_commit"):

        async def crash() -> None:
            crashpoints.reached(f"{operation}.after_commit")

        uow.on_commit(crash)


# Queued removals finished per transaction by ``finish_queued_removals``.
REMOVAL_BATCH = 200


def delete_blobs_after_commit(
    ctx: AppContext, uow: UnitOfWork, keys: Sequence[str], *, queued: bool = False
) -> None:
    """Remove these blobs once ``uow``'s change (which dropped their rows) has committed.
    ``queued``: the change also queued them (``RetentionRepository.queue_removals``), and
    their queue entries go once they are removed; a crash in between leaves the entries for
    ``finish_queued_removals``. Unqueued, a crash leaves orphans for the sweep."""
    if not keys:
        return

    def _delete() -> None:
        for key in keys:
            ctx.blobs.delete(key)

    async def after_commit() -> None:
        await asyncio.to_thread(_delete)
        if queued:
            async with ctx.store.write() as done:
                await done.retention.removed(keys)

    uow.on_commit(after_commit)


async def finish_queued_removals(ctx: AppContext) -> int:
    """Remove every queued blob whose removal a crash or a store failure interrupted (a
    missing blob is no error, so one removed before the crash is simply forgotten); how
    many. A blob the store fails to remove stays queued for the next call."""
    finished = 0
    while True:
        async with ctx.store.read() as uow:
            keys = await uow.retention.pending_removals(REMOVAL_BATCH)
        if not keys:
            return finished

        def _delete(keys: Sequence[str] = keys) -> None:
            for key in keys:
                ctx.blobs.delete(key)

        await asyncio.to_thread(_delete)
        async with ctx.store.write() as uow:
            await uow.retention.removed(keys)
        finished += len(keys)
        if len(keys) < REMOVAL_BATCH:
            return finished
