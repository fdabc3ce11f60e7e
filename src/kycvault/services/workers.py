"""Workers: they claim background jobs and run them. Jobs are enqueued in the transaction that
makes their subject (``job_queue.py``).

Delivery is at least once: a worker that dies mid-job loses its lease and another takes the
job over. What a job *does* is recorded in the same transaction that marks it done, and only
by the worker that still holds it, so its effect (an audit event) happens exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from kycvault.domain.jobs import Job, JobKind, retry_delay
from kycvault.domain.models import StoredFile
from kycvault.errors import IntegrityFailure, KycVaultError
from kycvault.services import (
    audit,
    metrics,
    processing,
    scrub,
    subject_rekey,
    tracing,
    verification,
    webhook_delivery,
)
from kycvault.services.context import Actor, AppContext

log = structlog.get_logger("kycvault.jobs")

# Audit events of jobs name this actor: no API key did them.
WORKER_ACTOR = "worker"


def worker_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


Handler = Callable[[AppContext, Job], Awaitable["Outcome"]]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a job found: its result, and the audit event that records it."""

    result: dict[str, Any]
    action: str | None = None
    target_type: str = "file"
    # A file read in full and found intact (the scrub's cycle starts from now).
    verified: StoredFile | None = None
    # What the audit event is about, when neither the job's file nor its document.
    target_id: uuid.UUID | None = None
    subject_id: uuid.UUID | None = None
    details: dict[str, Any] = field(default_factory=dict)  # more for the audit event


async def _verify_file(ctx: AppContext, job: Job) -> Outcome:
    if job.document_id is None or job.file_id is None:
        return Outcome({"skipped": "no_file"})
    async with ctx.store.read() as uow:
        document = await uow.documents.get(job.tenant_id, job.document_id)
    stored = next((f for f in document.files if f.id == job.file_id), None) if document else None
    if stored is None:
        return Outcome({"skipped": "file_deleted"})
    problem = await verification.verify(ctx, stored)
    if problem is not None:
        raise IntegrityFailure("the stored file failed its check", code=problem)
    return Outcome({"verified": True, "size": stored.size}, action="file.verified", verified=stored)


async def _process_document(ctx: AppContext, job: Job) -> Outcome:
    result = await processing.run(ctx, job)
    action = "document.processed" if result.get("stored") else None
    return Outcome(result, action=action, target_type="document")


async def _rekey_subject(ctx: AppContext, job: Job) -> Outcome:
    subject_id = subject_rekey.subject_of(job)
    if subject_id is None:
        return Outcome({"skipped": "no_subject"})
    done = await subject_rekey.rekey(ctx, job.tenant_id, subject_id)
    if done.generation is None:
        return Outcome({**done.result(subject_id), "skipped": "no_keys"})
    # The event names the subject and counts; never a key.
    counts = {"generation": done.generation, "files": done.files, "destroyed": done.destroyed}
    return Outcome(
        done.result(subject_id),
        action="subject.rekeyed",
        target_type="subject",
        target_id=subject_id,
        subject_id=subject_id,
        details=counts,
    )


HANDLERS: dict[JobKind, Handler] = {
    JobKind.VERIFY_FILE: _verify_file,
    JobKind.PROCESS_DOCUMENT: _process_document,
    JobKind.REKEY_SUBJECT: _rekey_subject,
}


def _worker_actor(job: Job) -> Actor:
    """Who a job's audit events name: the worker, for the request that queued the job."""
    return Actor(job.tenant_id, WORKER_ACTOR, request_id=tracing.current_request_id())


class Worker:
    """Claims jobs in small batches and runs them one after another."""

    def __init__(self, ctx: AppContext, *, name: str | None = None) -> None:
        self.ctx = ctx
        self.name = name or worker_name()
        self.settings = ctx.jobs

    async def run_once(self) -> int:
        """Claim and run one batch; how many jobs it held."""
        now = self.ctx.clock()
        async with self.ctx.store.write() as uow:
            claimed = await uow.jobs.claim(
                self.name, now, now + self.settings.lease, self.settings.batch
            )
        for job in claimed:
            await self._run(job)
        return len(claimed) + await webhook_delivery.deliver_due(self.ctx, self.name)

    async def run(self, stop: asyncio.Event) -> None:
        log.info("worker_started", worker=self.name)
        while not stop.is_set():
            try:
                busy = await self.run_once()
            except Exception as exc:  # the database is away: try again shortly
                log.warning("worker_claim_failed", error=type(exc).__name__)
                busy = 0
            if not busy:
                busy = await self._scrub()
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.idle_poll_seconds)
        log.info("worker_stopped", worker=self.name)

    async def _scrub(self) -> int:
        try:
            return await scrub.step(self.ctx)
        except Exception as exc:  # the database is away: try again shortly
            log.warning("scrub_failed", error=type(exc).__name__)
            return 0

    async def _run(self, job: Job) -> None:
        with tracing.job_run(job.id, job.kind.value, job.attempts, job.result) as run:
            await self._attempt(job, run)

    async def _attempt(self, job: Job, run: tracing.JobRun) -> None:
        if job.attempts > job.max_attempts:
            run.outcome("dead")
            await self._give_up(job, job.last_error or "lease lapsed too often")
            return
        started = time.perf_counter()
        try:
            outcome = await HANDLERS[job.kind](self.ctx, job)
        except Exception as exc:
            error = exc.code if isinstance(exc, KycVaultError) else type(exc).__name__
            detail = f"{error}: {exc}"
            final = job.attempts >= job.max_attempts
            seconds = time.perf_counter() - started
            metrics.JOB_SECONDS.labels(job.kind.value, "dead" if final else "retry").observe(
                seconds
            )
            run.outcome("dead" if final else "retry", exc)
            if final:
                await self._give_up(job, detail)
                return
            run_after = self.ctx.clock() + retry_delay(job.attempts)
            async with self.ctx.store.write() as uow:
                await uow.jobs.retry(job.id, self.name, detail, run_after)
            log.info("job_retry", job=str(job.id), kind=job.kind.value, error=error)
            return
        metrics.JOB_SECONDS.labels(job.kind.value, "done").observe(time.perf_counter() - started)
        run.outcome("done")
        async with self.ctx.store.write() as uow:
            now = self.ctx.clock()
            held = await uow.jobs.complete(job.id, self.name, now, outcome.result)
            if held and outcome.verified is not None:
                stored = outcome.verified
                await uow.integrity.mark_verified(stored.tenant_id, stored.id, now)
            if held and outcome.action:
                await audit.record(
                    self.ctx,
                    uow,
                    _worker_actor(job),
                    outcome.action,
                    target_type=outcome.target_type,
                    target_id=outcome.target_id or job.file_id or job.document_id,
                    document_id=job.document_id,
                    subject_id=outcome.subject_id,
                    job=str(job.id),
                    **outcome.details,
                )

    async def _give_up(self, job: Job, error: str) -> None:
        async with self.ctx.store.write() as uow:
            held = await uow.jobs.bury(job.id, self.name, error, self.ctx.clock())
            if held and job.kind is JobKind.PROCESS_DOCUMENT:
                await processing.give_up(self.ctx, uow, job, error)
            # A re-keying that failed for good names its subject: its deletions are not
            # shredded until one is queued again (the subject's next deletion does).
            subject_id = subject_rekey.subject_of(job)
            if held:
                await audit.record(
                    self.ctx,
                    uow,
                    _worker_actor(job),
                    f"{job.kind.value}_failed",
                    target_type="subject" if subject_id else "file" if job.file_id else "document",
                    target_id=subject_id or job.file_id or job.document_id,
                    subject_id=subject_id,
                    document_id=job.document_id,
                    outcome="failure",
                    job=str(job.id),
                    error=error[:200],
                )
        log.warning("job_dead", job=str(job.id), kind=job.kind.value)
