"""Enqueueing background jobs, inside the unit of work that makes what they are about: a
committed file always has its job, a rolled-back one never does (see ``workers.py``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from kycvault.domain.jobs import Job, JobKind, JobState
from kycvault.domain.models import Document, StoredFile
from kycvault.domain.processing import Processing, ProcessingSettings, Stage
from kycvault.ports.persistence.store import UnitOfWork
from kycvault.services import tracing
from kycvault.services.context import AppContext


def new_job(
    ctx: AppContext,
    tenant_id: uuid.UUID,
    kind: JobKind,
    *,
    document_id: uuid.UUID | None = None,
    file_id: uuid.UUID | None = None,
    payload: dict[str, str] | None = None,
) -> Job:
    """A job due now; ``payload`` names what neither a document nor a file does (it is the
    job's ``result`` until the job is done), beside the id of the request queuing it, if any
    (the job's run binds it again: its log lines and audit events name that request)."""
    now = ctx.clock()
    return Job(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        kind=kind,
        document_id=document_id,
        file_id=file_id,
        state=JobState.QUEUED,
        attempts=0,
        max_attempts=ctx.jobs.max_attempts,
        run_after=now,
        created_at=now,
        result={**tracing.job_payload(), **(payload or {})},
    )


def queue_new(ctx: AppContext, document: Document, tenant_settings: dict[str, Any]) -> Job | None:
    """For a document with files about to be inserted: its processing state queued under
    the tenant's settings (read with its number, ``Tenants.number_document``), so that the
    insert writes it (no update after), and the job to add once it is inserted (None when
    the tenant has every stage switched off). ``enqueue_processing`` in one step, for a row
    that is not written yet."""
    settings = ProcessingSettings.of_tenant(tenant_settings)
    document.processing = document.processing.queued(settings)
    if not any(settings.enabled(stage) for stage in Stage):
        return None
    return new_job(ctx, document.tenant_id, JobKind.PROCESS_DOCUMENT, document_id=document.id)


async def enqueue_processing(ctx: AppContext, uow: UnitOfWork, document: Document) -> None:
    """Queue ``document`` (as written in ``uow``) for processing, or, when it has no files
    left, clear what earlier processing found."""
    if not document.files:
        cleared = Processing(generation=document.processing.generation + 1)
        await uow.documents.set_processing(document.tenant_id, document.id, cleared, content="")
        document.processing = cleared
        return
    tenant = await uow.tenants.get(document.tenant_id)
    settings = ProcessingSettings.of_tenant(tenant.settings if tenant else {})
    document.processing = document.processing.queued(settings)
    await uow.documents.set_processing(document.tenant_id, document.id, document.processing)
    if not any(settings.enabled(stage) for stage in Stage):
        return  # every stage is switched off: nothing to run
    kind = JobKind.PROCESS_DOCUMENT
    await uow.jobs.add(new_job(ctx, document.tenant_id, kind, document_id=document.id))


async def enqueue_file_checks(
    ctx: AppContext, uow: UnitOfWork, stored: Sequence[StoredFile]
) -> None:
    for item in stored:
        kind = JobKind.VERIFY_FILE
        job = new_job(ctx, item.tenant_id, kind, document_id=item.document_id, file_id=item.id)
        await uow.jobs.add(job)
