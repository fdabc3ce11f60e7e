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


def delete_blobs_after_commit(ctx: AppContext, uow: UnitOfWork, keys: Sequence[str]) -> None:
    """Remove these blobs once ``uow``'s change (which dropped their rows) has committed."""
    if not keys:
        return

    def _delete() -> None:
        for key in keys:
            ctx.blobs.delete(key)

    async def after_commit() -> None:
        await asyncio.to_thread(_delete)

    uow.on_commit(after_commit)
