"""Processing documents: queueing, the worker's run of the stages, reprocessing, and the
tenant's processing settings.

A document is queued in the transaction that changes its files (``queue``); a worker then
reads every file through the reader port (in a child process, with limits), and computes
the classification, the MRZ and the authenticity signals in the domain. Results are stored
only if the document was not queued again meanwhile (its ``generation`` is unchanged): a
newer job will produce the newer answer. A file that cannot be read marks the stages that
needed it ``failed`` with the reason; it never makes the job retry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

import structlog

from kycvault.domain import authenticity, viz
from kycvault.domain.classification import Classification, agrees, classify
from kycvault.domain.jobs import Job
from kycvault.domain.models import Document, StoredFile
from kycvault.domain.mrz import MrzResult
from kycvault.domain.mrz_correction import best_reading
from kycvault.domain.processing import (
    SETTINGS_KEY,
    Processing,
    ProcessingSettings,
    Stage,
    StageStatus,
)
from kycvault.domain.scopes import Scope
from kycvault.errors import InvalidInput
from kycvault.ports.persistence.store import UnitOfWork
from kycvault.ports.reading import FileReading, ReadingFailed
from kycvault.services import (
    assessment,
    audit,
    events,
    files,
    job_queue,
    metrics,
    tenant_settings,
)
from kycvault.services.authorization import require
from kycvault.services.catalog import tenant_catalog
from kycvault.services.context import Actor, AppContext
from kycvault.services.documents import document_not_found

log = structlog.get_logger("kycvault.processing")

_TEXT_LABEL = "document-text"
# A confident classification may replace the declared type (when the tenant allows it).
_OVERWRITE_CONFIDENCE = 0.8


async def _settings(uow: UnitOfWork, tenant_id: UUID) -> ProcessingSettings:
    tenant = await uow.tenants.get(tenant_id)
    return ProcessingSettings.of_tenant(tenant.settings if tenant else {})


async def reprocess(ctx: AppContext, actor: Actor, document_id: UUID) -> Document:
    await require(ctx, actor, Scope.DOCUMENTS_WRITE, target_id=document_id)
    async with ctx.store.write() as uow:
        document = await uow.documents.get(actor.tenant_id, document_id, for_update=True)
        if document is None:
            raise document_not_found()
        if not document.files:
            raise InvalidInput.field("files", "no_files", "the document has no files to process")
        await job_queue.enqueue_processing(ctx, uow, document)
        await audit.record(
            ctx,
            uow,
            actor,
            "document.reprocess_requested",
            target_type="document",
            target_id=document_id,
        )
    return document


async def get_settings(ctx: AppContext, actor: Actor) -> ProcessingSettings:
    await require(ctx, actor, Scope.ADMIN)
    async with ctx.store.read() as uow:
        return await _settings(uow, actor.tenant_id)


async def update_settings(
    ctx: AppContext, actor: Actor, changes: dict[str, Any]
) -> ProcessingSettings:
    await require(ctx, actor, Scope.ADMIN)
    known = set(ProcessingSettings.__dataclass_fields__)
    for name, value in changes.items():
        if name not in known:
            raise InvalidInput.field(name, "unknown_field", "not a processing setting")
        if not isinstance(value, bool):
            raise InvalidInput.field(name, "invalid_type", "must be true or false")

    def merge(current: Mapping[str, Any]) -> dict[str, Any]:
        return {**ProcessingSettings.of_tenant(current).as_dict(), **changes}

    merged = await tenant_settings.update_section(ctx, actor, SETTINGS_KEY, merge, sorted(changes))
    return ProcessingSettings.of(merged)


async def get_text(ctx: AppContext, actor: Actor, document_id: UUID) -> str | None:
    """The text read from a document's files (decrypted), audited as a read
    (``documents:read``, as the data read off a document is)."""
    await require(ctx, actor, Scope.DOCUMENTS_READ, target_id=document_id)
    async with ctx.store.write() as uow:
        document = await uow.documents.get(actor.tenant_id, document_id)
        if document is None:
            raise document_not_found()
        sealed = await uow.documents.get_text(actor.tenant_id, document_id)
        await audit.record(
            ctx, uow, actor, "document.text_read", target_type="document", target_id=document_id
        )
    return open_text(ctx, actor.tenant_id, document_id, sealed)


def open_text(
    ctx: AppContext, tenant_id: UUID, document_id: UUID, sealed: bytes | None
) -> str | None:
    """The document's stored text record, decrypted (None: no text was read from it)."""
    if sealed is None:
        return None
    return ctx.cipher.open_record(_TEXT_LABEL, sealed, _text_aad(tenant_id, document_id)).decode()


def _text_aad(tenant_id: UUID, document_id: UUID) -> bytes:
    return tenant_id.bytes + document_id.bytes


@dataclass(slots=True)
class _Read:
    readings: list[FileReading]
    failures: list[str]

    @property
    def text(self) -> str:
        return "\n\n".join(p.text for r in self.readings for p in r.pages if p.text.strip())


async def _read_file(ctx: AppContext, stored: StoredFile, *, ocr: bool) -> FileReading:
    if ctx.reader is None:
        raise ReadingFailed("this vault has no document reader")
    if stored.size > ctx.limits.max_read_size:
        raise ReadingFailed(
            f"the file is larger than the {ctx.limits.max_read_size} bytes read for processing"
        )
    content = await files.open_stored(ctx, stored)
    today = ctx.clock().date()
    reader = ctx.reader
    try:
        # Decrypted frame by frame straight into the reading process: the worker holds
        # one frame of the file at a time, whatever its size.
        return await asyncio.to_thread(
            reader.read, content.frames(), stored.content_type, ocr=ocr, today=today
        )
    finally:
        content.close()


async def _read_all(ctx: AppContext, document: Document, *, ocr: bool) -> _Read:
    result = _Read([], [])
    for stored in document.files:
        try:
            result.readings.append(await _read_file(ctx, stored, ocr=ocr))
        except ReadingFailed as exc:
            result.failures.append(f"{stored.filename or stored.id}: {exc}")
    return result


def _best_mrz(read: _Read, ctx: AppContext) -> MrzResult | None:
    today = ctx.clock().date()
    candidates = [
        result
        for reading in read.readings
        for page in reading.pages
        if page.mrz
        for found in [best_reading(page.mrz, today=today)]
        if found is not None
        # What the page prints beside the zone settles readings the zone left ambiguous.
        for result in [viz.reconcile(found, page.text, today=today)]
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda r: (r.valid, sum(r.checks.values()), -len(r.ambiguous)))


def _extracted(mrz: MrzResult | None, read: _Read) -> dict[str, Any]:
    out: dict[str, Any] = {
        "pages": sum(len(r.pages) for r in read.readings),
        "characters": len(read.text),
        "sources": sorted({p.source for r in read.readings for p in r.pages}),
    }
    if mrz is not None:
        out["mrz"] = mrz.as_dict()
    return out


def _status(enabled: bool, ok: bool) -> StageStatus:
    if not enabled:
        return StageStatus.UNAUTHORIZED
    return StageStatus.COMPLETED if ok else StageStatus.FAILED


def _stages(
    settings: ProcessingSettings,
    started: Processing,
    read: _Read,
    *,
    ocr_problem: str | None,
    needs_ocr: bool,
    text: str,
) -> tuple[dict[Stage, StageStatus], dict[Stage, str]]:
    """Each stage's status, and the reasons kept: for stages that failed or are switched
    off, and for an OCR stage that completed with some files unreadable."""
    readable = bool(read.readings)
    failure = "; ".join(read.failures)[:500] or "no file could be read"
    stages = {stage: _status(settings.enabled(stage), readable) for stage in Stage}
    reasons = {
        s: r for s, r in started.reasons.items() if started.stages[s] is StageStatus.UNAUTHORIZED
    }
    for stage in Stage:
        if stages[stage] is StageStatus.FAILED:
            reasons[stage] = failure
    if settings.ocr and ocr_problem and needs_ocr and not text:
        stages[Stage.OCR], reasons[Stage.OCR] = StageStatus.FAILED, ocr_problem
    elif stages[Stage.OCR] is StageStatus.COMPLETED and read.failures:
        reasons[Stage.OCR] = failure
    return stages, reasons


async def run(ctx: AppContext, job: Job) -> dict[str, Any]:
    """The worker's part: run the stages of the job's document and store what they found."""
    if job.document_id is None:
        return {"skipped": "no_document"}
    async with ctx.store.write() as uow:
        document = await uow.documents.get(job.tenant_id, job.document_id, for_update=True)
        if document is None:
            return {"skipped": "document_deleted"}
        settings = await _settings(uow, job.tenant_id)
        subject = await assessment.subject_of(uow, document)
        generation = document.processing.generation
        started = document.processing.started()
        await uow.documents.set_processing(job.tenant_id, document.id, started)
    with metrics.processing_stage("ocr"):
        read = await _read_all(ctx, document, ocr=settings.ocr)
        text = read.text if settings.ocr else ""
        mrz = _best_mrz(read, ctx) if settings.ocr else None
        printed = viz.printed(read.text) if mrz is not None else None
    readable = bool(read.readings)
    stages, reasons = _stages(
        settings,
        started,
        read,
        ocr_problem=ctx.reader.ocr_problem() if ctx.reader is not None else None,
        needs_ocr=any(f.content_type.startswith("image/") for f in document.files),
        text=text,
    )
    with metrics.processing_stage("classification"):
        classified = classify(text, mrz) if settings.classification and readable else None
    type_agrees = classified is None or agrees(document.type, classified.type)
    assessed = None
    if settings.authenticity:
        with metrics.processing_stage("authenticity"):
            assessed = await assessment.assess(
                ctx, document, subject, read.readings, mrz, classified, type_agrees, printed
            )
    classification = None
    if classified is not None:
        classification = {
            **classified.as_dict(),
            "declared": document.type,
            "agrees": type_agrees,
            "applied": False,
        }
    result = replace(
        started,
        stages=stages,
        reasons=reasons,
        extracted=_extracted(mrz, read) if readable else {},
        classification=classification,
        authenticity_score=assessed.score if assessed else None,
        signals=[s.as_dict() for s in assessed.signals] if assessed else [],
        processed_at=ctx.clock().isoformat(),
        authenticity_status=assessed.status if assessed else None,
        authenticity_reason=assessed.reason if assessed else None,
    )
    stored = await _store(ctx, job, generation, result, text, mrz, settings, classified)
    return {"generation": generation, "stored": stored, "stages": result.as_dict()["stages"]}


async def _store(
    ctx: AppContext,
    job: Job,
    generation: int,
    result: Processing,
    text: str,
    mrz: MrzResult | None,
    settings: ProcessingSettings,
    classified: Classification | None,
) -> bool:
    assert job.document_id is not None
    tenant_id, document_id = job.tenant_id, job.document_id
    aad = _text_aad(tenant_id, document_id)
    sealed = ctx.cipher.seal_record(_TEXT_LABEL, text.encode(), aad) if text else None
    async with ctx.store.write() as uow:
        document = await uow.documents.get(tenant_id, document_id, for_update=True)
        if document is None or document.processing.generation != generation:
            return False  # deleted, or queued again: the newer job will answer
        overwritten = None
        if classified is not None and result.classification is not None:
            overwrite = await _overwrite_type(ctx, uow, document, classified, settings)
            result.classification["applied"] = overwrite
            overwritten = classified.type if overwrite else None
        if overwritten is not None:
            document = replace(document, type=overwritten)
        document = await assessment.fill_from_zone(ctx, uow, document, mrz, result)
        await uow.documents.set_processing(
            tenant_id,
            document_id,
            result,
            extracted_number=authenticity.normalise_number(mrz.document_number) or None
            if mrz
            else None,
            content=text if settings.searchable_text else "",
        )
        await uow.documents.put_text(tenant_id, document_id, sealed, len(text), ctx.clock())
        # Every enabled stage has settled for this generation (completed or failed). A job
        # run again after its results were stored records the event again: receivers tell
        # the two apart by ``generation``.
        data = events.processed_snapshot(document, result)
        await events.record(ctx, uow, tenant_id, events.DOCUMENT_PROCESSED, data)
    return True


async def _overwrite_type(
    ctx: AppContext,
    uow: UnitOfWork,
    document: Document,
    classified: Classification,
    settings: ProcessingSettings,
) -> bool:
    """Argyle lets the classification replace the declared type; here only where the tenant
    chose that, the classification is confident, and the document's files fit the new
    type's roles."""
    if not settings.classification_overwrites_type or classified.confidence < _OVERWRITE_CONFIDENCE:
        return False
    if agrees(document.type, classified.type) and document.type != "other_document":
        return False
    catalog = await tenant_catalog(ctx, uow, Actor(document.tenant_id, "worker"))
    new_type = catalog.get(classified.type)
    if new_type is None or not all(new_type.allows_role(f.role) for f in document.files):
        return False
    await uow.documents.update(replace(document, type=new_type.name, updated_at=ctx.clock()))
    return True


async def give_up(ctx: AppContext, uow: UnitOfWork, job: Job, error: str) -> None:
    """A processing job that failed too often: its stages are marked failed."""
    if job.document_id is None:
        return
    document = await uow.documents.get(job.tenant_id, job.document_id, for_update=True)
    if document is None:
        return
    reason = f"processing gave up after {job.attempts} attempts ({error[:200]})"
    failed = document.processing.failed(reason)
    await uow.documents.set_processing(job.tenant_id, job.document_id, failed)
    # Its stages have settled too, as failed.
    data = events.processed_snapshot(document, failed)
    await events.record(ctx, uow, job.tenant_id, events.DOCUMENT_PROCESSED, data)
