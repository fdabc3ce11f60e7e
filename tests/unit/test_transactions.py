"""Transactions and the blobs they record, on both backend pairs: a blob is removed only when
the transaction that was to reference it certainly did not commit, blobs of deleted rows only
once the deletion committed, and ``atomic`` blocks commit their units together (a failed unit
inside undoes only itself)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncTransaction

from kycvault.adapters.db.sqlite import ThreadedDatabase
from kycvault.bootstrap import Container
from kycvault.config import Settings
from kycvault.domain.models import Document
from kycvault.errors import CommitUncertain, Conflict
from kycvault.ports.persistence.records import AuditEvent
from kycvault.ports.persistence.store import UnitOfWork
from kycvault.services import audit, document_removal, documents, verification
from kycvault.services.context import Actor, AppContext
from kycvault.services.intake import UploadSession
from tests.backends import Backend
from tests.helpers import audit_events, backend_settings


@pytest.fixture
def settings(backend_pair: Backend, tmp_path: Path) -> Settings:
    return backend_settings(backend_pair, tmp_path)


@pytest.fixture
def lost_commit(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Names audit actions whose transaction's COMMIT reaches the database and then fails as
    a dropped connection would: stored, but the caller cannot know."""
    actions: set[str] = set()
    # The engine whose next COMMIT fails: only the test's own. Other applications may run
    # in this process (the in-process test servers, with their workers), on these classes.
    armed: dict[str, Any] = {"engine": None}
    record = audit.record
    threaded_close = ThreadedDatabase.close
    async_commit = AsyncTransaction.commit

    async def recording(
        ctx: AppContext, uow: UnitOfWork, actor: Actor, action: str, **kw: Any
    ) -> None:
        await record(ctx, uow, actor, action, **kw)
        if action in actions:
            armed["engine"] = ctx.store.database.engine  # type: ignore[attr-defined]

    def close(self: ThreadedDatabase, conn: Any, commit: bool) -> None:
        threaded_close(self, conn, commit)
        if commit and armed["engine"] is not None and conn.engine is armed["engine"]:
            armed["engine"] = None
            raise OperationalError("COMMIT", {}, Exception("connection lost"))

    async def commit(self: AsyncTransaction) -> None:
        await async_commit(self)
        if self.nested or armed["engine"] is None:
            return
        if self.connection.engine is armed["engine"]:
            armed["engine"] = None
            raise OperationalError("COMMIT", {}, Exception("connection lost"))

    monkeypatch.setattr(audit, "record", recording)
    monkeypatch.setattr(ThreadedDatabase, "close", close)
    monkeypatch.setattr(AsyncTransaction, "commit", commit)
    return actions


async def _upload(ctx: AppContext, actor: Actor, data: bytes) -> UploadSession:
    session = await UploadSession.open(ctx, actor.tenant_id)
    intake = session.start_file("statement.txt")
    await intake.feed(data)
    await session.finish_file(intake)
    return session


def _blob_keys(ctx: AppContext) -> set[str]:
    return {blob.key for blob in ctx.blobs.list_blobs()}


async def _documents(ctx: AppContext, actor: Actor) -> list[Document]:
    found = []
    async with ctx.store.read() as uow:
        for number in (1, 2):
            doc = await uow.documents.get_by_number(actor.tenant_id, number)
            if doc is not None:
                found.append(doc)
    return found


@pytest.mark.anyio
async def test_a_commit_of_unknown_outcome_keeps_the_blob_of_a_stored_document(
    container: Container, actor: Actor, lost_commit: set[str]
) -> None:
    ctx = container.ctx
    session = await _upload(ctx, actor, b"kept whatever happens\n")
    lost_commit.add("document.created")
    with pytest.raises(CommitUncertain):
        await documents.create_document(ctx, actor, {"type": "bank_statement"}, upload=session)
    [doc] = await _documents(ctx, actor)  # the commit did reach the database
    assert _blob_keys(ctx) == {doc.files[0].blob_key}
    assert await verification.verify(ctx, doc.files[0]) is None


@pytest.mark.anyio
async def test_a_transaction_that_fails_removes_the_blobs_it_published(
    container: Container, actor: Actor
) -> None:
    ctx = container.ctx
    session = await _upload(ctx, actor, b"never recorded\n")

    async def fail(uow: UnitOfWork, doc: Document) -> None:
        raise Conflict("refused inside the transaction", code="refused")

    with pytest.raises(Conflict):
        await documents.create_document(
            ctx, actor, {"type": "bank_statement"}, upload=session, in_transaction=fail
        )
    assert await _documents(ctx, actor) == []
    assert _blob_keys(ctx) == set()
    assert list(ctx.blobs.staging_files()) == []


@pytest.mark.anyio
async def test_a_deleted_documents_blobs_go_once_the_deletion_committed(
    container: Container, actor: Actor, lost_commit: set[str]
) -> None:
    ctx = container.ctx
    first = await documents.create_document(
        ctx, actor, {"type": "bank_statement"}, upload=await _upload(ctx, actor, b"one\n")
    )
    second = await documents.create_document(
        ctx, actor, {"type": "bank_statement"}, upload=await _upload(ctx, actor, b"two\n")
    )
    await document_removal.delete_document(ctx, actor, first.id)
    assert _blob_keys(ctx) == {second.files[0].blob_key}
    lost_commit.add("document.deleted")
    with pytest.raises(CommitUncertain):
        await document_removal.delete_document(ctx, actor, second.id)
    # Deleted, but nobody could know: the blob stays for the sweep, never the other way.
    assert await _documents(ctx, actor) == []
    assert _blob_keys(ctx) == {second.files[0].blob_key}


CHAIN_KEY = bytes(range(32))


def _event(tenant_id: uuid.UUID, action: str) -> AuditEvent:
    return AuditEvent(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        at=datetime.now(UTC),
        actor="test",
        action=action,
        outcome="success",
    )


async def _failing_unit(ctx: AppContext, tenant_id: uuid.UUID, on_rollback: Any) -> None:
    async with ctx.store.write() as uow:
        await uow.audit.add(_event(tenant_id, "undone"), CHAIN_KEY)
        uow.on_rollback(on_rollback)
        raise ValueError("handled")


async def _add_twice(ctx: AppContext, event: AuditEvent) -> None:
    async with ctx.store.write() as uow:
        await uow.audit.add(event, CHAIN_KEY)
        await uow.audit.add(event, CHAIN_KEY)


async def _actions(ctx: AppContext, tenant_id: uuid.UUID) -> list[str]:
    return sorted(e.action for e in await audit_events(ctx, tenant_id))


@pytest.mark.anyio
async def test_atomic_units_commit_together_and_a_failed_unit_undoes_only_itself(
    container: Container,
) -> None:
    ctx = container.ctx
    tenant_id = uuid.uuid4()
    ran: list[str] = []

    async def committed() -> None:
        ran.append("commit")

    async def rolled_back() -> None:
        ran.append("rollback")

    async with ctx.store.atomic():
        async with ctx.store.write() as uow:
            await uow.audit.add(_event(tenant_id, "first"), CHAIN_KEY)
            uow.on_commit(committed)
        with pytest.raises(ValueError, match="handled"):
            await _failing_unit(ctx, tenant_id, rolled_back)
        assert ran == ["rollback"]  # certain at once: its savepoint is gone
        async with ctx.store.write() as uow:
            await uow.audit.add(_event(tenant_id, "second"), CHAIN_KEY)
        # Reads inside the block see its writes; nothing is committed yet.
        assert await _actions(ctx, tenant_id) == ["first", "second"]
        assert ran == ["rollback"]
    assert ran == ["rollback", "commit"]
    assert await _actions(ctx, tenant_id) == ["first", "second"]


@pytest.mark.anyio
async def test_an_atomic_block_that_raises_commits_nothing(container: Container) -> None:
    ctx = container.ctx
    tenant_id = uuid.uuid4()
    ran: list[str] = []

    async def rolled_back() -> None:
        ran.append("rollback")

    async def request() -> None:
        async with ctx.store.atomic():
            async with ctx.store.write() as uow:
                await uow.audit.add(_event(tenant_id, "first"), CHAIN_KEY)
                uow.on_rollback(rolled_back)
            raise RuntimeError("the response could not be made")

    with pytest.raises(RuntimeError):
        await request()
    assert ran == ["rollback"]
    assert await _actions(ctx, tenant_id) == []


@pytest.mark.anyio
async def test_a_unique_clash_inside_an_atomic_block_is_a_conflict_of_that_unit(
    container: Container,
) -> None:
    ctx = container.ctx
    tenant_id = uuid.uuid4()
    twice = _event(tenant_id, "undone")
    async with ctx.store.atomic():
        async with ctx.store.write() as uow:
            await uow.audit.add(_event(tenant_id, "kept"), CHAIN_KEY)
        with pytest.raises(Conflict):
            await _add_twice(ctx, twice)  # the same primary key: refused at the unit's end
        async with ctx.store.write() as uow:  # the transaction is still usable
            await uow.audit.add(_event(tenant_id, "after"), CHAIN_KEY)
    assert await _actions(ctx, tenant_id) == ["after", "kept"]
