"""The job queue and its workers against real parts, on both backend pairs: every stored file
gets one check, concurrent workers never run one job twice, a lapsed lease passes the job to
another worker, and a job that keeps failing ends dead with an audit event."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from kycvault.bootstrap import Container
from kycvault.config import Settings
from kycvault.domain.jobs import JobKind, JobState
from kycvault.domain.models import Document
from kycvault.services import documents, subject_rekey
from kycvault.services.context import Actor, AppContext
from kycvault.services.intake import UploadSession
from kycvault.services.workers import Worker
from tests.backends import Backend
from tests.helpers import audit_events, backend_settings
from tests.stored_blobs import Storage


@pytest.fixture
def settings(backend_pair: Backend, tmp_path: Path) -> Settings:
    return backend_settings(backend_pair, tmp_path, job_max_attempts=2)


async def _upload(ctx: AppContext, actor: Actor, *contents: bytes) -> Document:
    session = await UploadSession.open(ctx, actor.tenant_id)
    for n, data in enumerate(contents):
        intake = session.start_file(f"s{n}.txt")
        await intake.feed(data)
        await session.finish_file(intake)
    return await documents.create_document(ctx, actor, {"type": "bank_statement"}, upload=session)


async def _verified_events(ctx: AppContext, actor: Actor) -> list[str]:
    events = await audit_events(ctx, actor.tenant_id)
    return sorted(str(e.target_id) for e in events if e.action == "file.verified")


@pytest.mark.anyio
async def test_every_stored_file_is_checked_once(container: Container, actor: Actor) -> None:
    ctx = container.ctx
    doc = await _upload(ctx, actor, b"first statement\n", b"second statement\n")
    async with ctx.store.read() as uow:
        queued = [await uow.jobs.for_file(actor.tenant_id, f.id) for f in doc.files]
    assert [[j.state for j in found] for found in queued] == [[JobState.QUEUED]] * 2

    assert await Worker(ctx).run_once() == 2
    assert await Worker(ctx).run_once() == 0
    async with ctx.store.read() as uow:
        for stored in doc.files:
            (job,) = await uow.jobs.for_file(actor.tenant_id, stored.id)
            assert job.state is JobState.DONE
            assert job.attempts == 1
            assert job.result == {"verified": True, "size": stored.size}
    assert await _verified_events(ctx, actor) == sorted(str(f.id) for f in doc.files)


@pytest.mark.anyio
async def test_concurrent_workers_never_share_a_job(container: Container, actor: Actor) -> None:
    ctx = container.ctx
    docs = [await _upload(ctx, actor, f"statement {n}\n".encode()) for n in range(12)]
    workers = [Worker(ctx, name=f"w{n}") for n in range(3)]
    while sum(await asyncio.gather(*(w.run_once() for w in workers))):
        pass
    file_ids = sorted(str(d.files[0].id) for d in docs)
    assert await _verified_events(ctx, actor) == file_ids
    async with ctx.store.read() as uow:
        counts = await uow.jobs.counts()
    assert counts == {JobState.DONE.value: 12}


@pytest.mark.anyio
async def test_a_lapsed_lease_passes_the_job_on(container: Container, actor: Actor) -> None:
    ctx = container.ctx
    doc = await _upload(ctx, actor, b"statement\n")
    now = ctx.clock()
    async with ctx.store.write() as uow:  # a worker that claims, then dies
        (held,) = await uow.jobs.claim("gone", now, now + timedelta(seconds=1), 10)
    later = dataclasses.replace(ctx, clock=lambda: now + timedelta(seconds=5))
    assert await Worker(later, name="alive").run_once() == 1
    async with ctx.store.write() as uow:
        assert not await uow.jobs.complete(held.id, "gone", now, {})  # too late
        (job,) = await uow.jobs.for_file(actor.tenant_id, doc.files[0].id)
    assert (job.state, job.attempts, job.locked_by) == (JobState.DONE, 2, "alive")
    assert await _verified_events(ctx, actor) == [str(doc.files[0].id)]


@pytest.mark.anyio
async def test_a_failing_job_is_retried_then_dead(
    container: Container, actor: Actor, settings: Settings
) -> None:
    ctx = container.ctx
    doc = await _upload(ctx, actor, b"statement that will go missing\n")
    stored = doc.files[0]
    Storage(settings.data_dir, settings.storage_url).blob(
        str(actor.tenant_id), str(stored.id)
    ).unlink()
    clock = [ctx.clock()]
    shifted = dataclasses.replace(ctx, clock=lambda: clock[0])
    worker = Worker(shifted)
    assert await worker.run_once() == 1
    async with ctx.store.read() as uow:
        (job,) = await uow.jobs.for_file(actor.tenant_id, stored.id)
    assert job.state is JobState.QUEUED
    assert job.last_error is not None and job.last_error.startswith("blob_missing")
    assert await worker.run_once() == 0  # backing off
    clock[0] = clock[0] + timedelta(hours=1)
    assert await worker.run_once() == 1
    async with ctx.store.read() as uow:
        (job,) = await uow.jobs.for_file(actor.tenant_id, stored.id)
    events = await audit_events(ctx, actor.tenant_id)
    assert (job.state, job.attempts) == (JobState.DEAD, 2)
    failed = [e for e in events if e.action == "file.verify_failed"]
    assert [(e.target_id, e.outcome) for e in failed] == [(stored.id, "failure")]
    assert _isoish(job.finished_at)


def _isoish(value: datetime | None) -> bool:
    return value is not None and value.tzinfo is not None


@pytest.mark.anyio
async def test_a_rekeying_waits_once_per_subject_and_a_claimed_one_absorbs_nothing(
    container: Container, actor: Actor
) -> None:
    """Deletions while a subject's re-keying waits share it; once a worker has claimed it (it
    may have read the files already), the next deletion queues another."""
    ctx = container.ctx
    subject, other = uuid.uuid4(), uuid.uuid4()
    payload = {"subject_id": str(subject)}
    for about in (subject, subject, other):
        async with ctx.store.write() as uow:
            await subject_rekey.schedule(ctx, uow, actor.tenant_id, about)
    now = ctx.clock()
    async with ctx.store.write() as uow:
        assert await uow.jobs.is_queued(actor.tenant_id, JobKind.REKEY_SUBJECT, payload)
        claimed = await uow.jobs.claim("w", now, now + timedelta(seconds=60), 10)
    assert sorted(str(subject_rekey.subject_of(j)) for j in claimed) == sorted(
        [str(subject), str(other)]
    )
    async with ctx.store.write() as uow:
        assert not await uow.jobs.is_queued(actor.tenant_id, JobKind.REKEY_SUBJECT, payload)
        await subject_rekey.schedule(ctx, uow, actor.tenant_id, subject)
        assert await uow.jobs.is_queued(actor.tenant_id, JobKind.REKEY_SUBJECT, payload)
