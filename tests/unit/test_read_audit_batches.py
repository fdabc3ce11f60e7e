"""The reads' audit events through the store's group commit, on both backend pairs: reads
made at once share a transaction, their events follow in the tenant's chain in the order
the reads were recorded, a failed batch fails every read in it and stores none of them, and
a read recorded inside an atomic block belongs to the block's transaction."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from kycvault.adapters.db.repositories.audit import SqlAudit
from kycvault.adapters.db.store import SqlStore
from kycvault.config import Settings
from kycvault.errors import NotFound, Unavailable
from kycvault.services import audit, audit_trail
from kycvault.services.context import Actor, AppContext
from tests.backends import Backend
from tests.helpers import backend_settings

pytestmark = pytest.mark.anyio

READS = 50


@pytest.fixture
def settings(backend_pair: Backend, tmp_path: Path) -> Settings:
    return backend_settings(backend_pair, tmp_path)


@pytest.fixture
def commits(ctx: AppContext) -> Iterator[list[int]]:
    """One entry per transaction committed on the store's database while the test runs."""
    assert isinstance(ctx.store, SqlStore)
    engine: Any = ctx.store.database.engine  # type: ignore[attr-defined]
    engine = getattr(engine, "sync_engine", engine)
    seen: list[int] = []

    def count(conn: sa.Connection) -> None:
        seen.append(1)

    sa.event.listen(engine, "commit", count)
    yield seen
    sa.event.remove(engine, "commit", count)


async def _reads(ctx: AppContext, actor: Actor, targets: list[uuid.UUID]) -> list[Any]:
    """``document.read`` of each target, all at once; each outcome, None when recorded."""
    return await asyncio.gather(
        *(
            audit.record_alone(ctx, actor, "document.read", target_type="document", target_id=t)
            for t in targets
        ),
        return_exceptions=True,
    )


async def _recorded_reads(ctx: AppContext, actor: Actor) -> list[uuid.UUID | None]:
    """The targets of the tenant's ``document.read`` events, in chain order."""
    async with ctx.store.read() as uow:
        events = await uow.audit.chain_events(actor.tenant_id, 0, 10_000)
    return [e.target_id for e in events if e.action == "document.read"]


async def test_reads_at_once_share_a_transaction_and_chain_in_order(
    ctx: AppContext, actor: Actor, commits: list[int]
) -> None:
    targets = [uuid.uuid4() for _ in range(READS)]
    outcomes = await _reads(ctx, actor, targets)
    assert outcomes == [None] * READS
    # One transaction a read before; all fifty were queued before the first batch began.
    assert 1 <= len(commits) <= 2
    assert await _recorded_reads(ctx, actor) == targets
    verified = await audit_trail.verify(ctx, tenant_id=actor.tenant_id)
    assert verified.breaks == [] and verified.events >= READS


async def test_a_failed_batch_fails_every_read_in_it_and_stores_none(
    ctx: AppContext, actor: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(self: SqlAudit, events: Any) -> None:
        raise OperationalError("INSERT", {}, Exception("disk I/O error"))

    with monkeypatch.context() as patched:
        patched.setattr(SqlAudit, "add_batch", failing)
        outcomes = await _reads(ctx, actor, [uuid.uuid4() for _ in range(10)])
    assert all(isinstance(outcome, Unavailable) for outcome in outcomes), outcomes
    assert await _recorded_reads(ctx, actor) == []
    # The next reads are recorded, and the chain has no gap where the failed batch was.
    after = [uuid.uuid4() for _ in range(3)]
    assert await _reads(ctx, actor, after) == [None] * 3
    assert await _recorded_reads(ctx, actor) == after
    assert (await audit_trail.verify(ctx, tenant_id=actor.tenant_id)).breaks == []


async def test_a_read_recorded_in_an_atomic_block_commits_or_rolls_back_with_it(
    ctx: AppContext, actor: Actor
) -> None:
    kept, dropped = uuid.uuid4(), uuid.uuid4()
    async with ctx.store.atomic():
        assert await _reads(ctx, actor, [kept]) == [None]

    async def failing_block() -> None:
        async with ctx.store.atomic():
            await _reads(ctx, actor, [dropped])
            raise RuntimeError("the block fails")

    with pytest.raises(RuntimeError, match="the block fails"):
        await failing_block()
    assert await _recorded_reads(ctx, actor) == [kept]


async def test_lookups_run_in_the_batch_and_one_that_finds_nothing_fails_alone(
    ctx: AppContext, actor: Actor, commits: list[int]
) -> None:
    """``read_recorded``: each read's lookup and its record share the batch's transaction;
    a lookup that raises fails its own read, records nothing, and leaves the others."""
    targets = [uuid.uuid4() for _ in range(READS)]
    missing = set(targets[::7])
    looked_up: list[uuid.UUID] = []

    def read(target: uuid.UUID) -> Any:
        async def lookup(uow: Any) -> uuid.UUID:
            await uow.tenants.get(actor.tenant_id)  # a statement in the batch's transaction
            looked_up.append(target)
            if target in missing:
                raise NotFound("nothing there", code="document_not_found")
            return target

        return audit.read_recorded(
            ctx,
            actor,
            lookup,
            "document.read",
            target_type="document",
            named=lambda found: {"target_id": found},
        )

    outcomes = await asyncio.gather(*(read(t) for t in targets), return_exceptions=True)
    assert looked_up == targets
    for target, outcome in zip(targets, outcomes, strict=True):
        if target in missing:
            assert isinstance(outcome, NotFound)
        else:
            assert outcome == target
    assert 1 <= len(commits) <= 2
    assert await _recorded_reads(ctx, actor) == [t for t in targets if t not in missing]
    assert (await audit_trail.verify(ctx, tenant_id=actor.tenant_id)).breaks == []
