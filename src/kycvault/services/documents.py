"""Documents: the logical document (one passport) and its metadata.

Files are attached by ``kycvault.services.files``; creating a document with files in one
request goes through ``create_document`` with the staged files of an ``UploadSession``.
Finding documents is ``kycvault.services.document_listing``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from kycvault.domain.catalog import Catalog, DocumentType
from kycvault.domain.models import (
    Document,
    check_document_dates,
    check_metadata,
    clean_text,
    normalize_country,
)
from kycvault.domain.scopes import Scope
from kycvault.domain.types import Authenticity, FileRole
from kycvault.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    UnknownDocumentType,
)
from kycvault.ports.persistence.store import UnitOfWork
from kycvault.services import audit, events, job_queue, object_locks, subject_keys, subject_rekey
from kycvault.services.attachments import (
    check_client_hashes,
    check_per_file,
    check_roles,
    stored_files,
)
from kycvault.services.authorization import require
from kycvault.services.catalog import remembered_catalog, tenant_catalog
from kycvault.services.commits import crash_around_commit
from kycvault.services.context import Actor, AppContext
from kycvault.services.intake import StagedFile, UploadSession

MUTABLE_FIELDS = frozenset(
    {
        "subject_id",
        "type",
        "name",
        "id_number",
        "issuing_country",
        "issue_date",
        "expiry_date",
        "authenticity",
        "notify_before_expiry",
        "metadata",
    }
)


def document_not_found() -> NotFound:
    return NotFound("no such document", code="document_not_found")


def document_in_use() -> Conflict:
    return Conflict(
        "a questionnaire response references this document; remove the answer first",
        code="document_in_use",
    )


def resolve_type(catalog: Catalog, value: str, *, field: str = "type") -> DocumentType:
    doc_type = catalog.resolve(value)
    if doc_type is None:
        raise UnknownDocumentType(value, field=field)
    return doc_type


def apply_changes(
    catalog: Catalog, doc: Document, changes: Mapping[str, Any], now: datetime, actor: Actor
) -> Document:
    unknown = set(changes) - MUTABLE_FIELDS
    if unknown:
        raise InvalidInput.field(sorted(unknown)[0], "unknown_field", "this field cannot be set")
    values = dict(changes)
    for required in ("type", "notify_before_expiry"):
        if required in values and values[required] is None:
            raise InvalidInput.field(required, "required", "cannot be null")
    if "type" in values:
        values["type"] = resolve_type(catalog, values["type"]).name
    for name, limit in (("name", 255), ("id_number", 64)):
        if name in values:
            values[name] = clean_text(values[name], field_name=name, max_length=limit)
    if "issuing_country" in values:
        values["issuing_country"] = normalize_country(values["issuing_country"])
    if values.get("authenticity") is not None:
        try:
            values["authenticity"] = Authenticity(values["authenticity"])
        except ValueError:
            raise InvalidInput.field(
                "authenticity", "invalid_choice", "ORIGINAL, CERTIFIED_COPY or COPY"
            ) from None
    if "notify_before_expiry" in values:
        values["notify_before_expiry"] = bool(values["notify_before_expiry"])
    if "metadata" in values:
        values["metadata"] = check_metadata(values["metadata"] or {})
    updated = replace(doc, **values, updated_at=now, updated_by=actor.key_id)
    check_document_dates(updated.issue_date, updated.expiry_date)
    return updated


async def check_subject(uow: UnitOfWork, actor: Actor, subject_id: UUID | None) -> None:
    if subject_id is not None and await uow.subjects.get(actor.tenant_id, subject_id) is None:
        raise InvalidInput.field("subject_id", "subject_not_found", "no such subject")


def _draft(actor: Actor, now: datetime) -> Document:
    return Document(
        id=uuid.uuid4(),
        tenant_id=actor.tenant_id,
        number=0,
        subject_id=None,
        type="",
        name=None,
        id_number=None,
        issuing_country=None,
        issue_date=None,
        expiry_date=None,
        authenticity=None,
        notify_before_expiry=False,
        metadata={},
        created_at=now,
        updated_at=now,
        created_by=actor.key_id,
        updated_by=actor.key_id,
    )


@dataclass(frozen=True, slots=True)
class NewDocument:
    """One document to create: its metadata and which of the upload's staged files it gets
    (indexes into ``UploadSession.staged``), with a role and a client digest per file."""

    values: Mapping[str, Any]
    files: Sequence[int] = ()
    roles: Sequence[FileRole | None] = ()
    hashes: Sequence[str | None] = ()


async def create_document(
    ctx: AppContext,
    actor: Actor,
    values: Mapping[str, Any],
    *,
    upload: UploadSession | None = None,
    roles: Sequence[FileRole | None] = (),
    hashes: Sequence[str | None] = (),
    in_transaction: Callable[[UnitOfWork, Document], Awaitable[None]] | None = None,
) -> Document:
    """A document from metadata, with every file of ``upload`` if given."""
    files = range(len(upload.staged)) if upload else ()
    draft = NewDocument(values, files, roles, hashes)
    return (
        await create_documents(ctx, actor, [draft], upload=upload, in_transaction=in_transaction)
    )[0]


def _split(drafts: Sequence[NewDocument], staged: Sequence[StagedFile]) -> list[list[StagedFile]]:
    """Each draft's staged files; every staged file goes to exactly one document."""
    taken = [i for draft in drafts for i in draft.files]
    if sorted(taken) != list(range(len(staged))):
        raise ValueError("each staged file must go to exactly one new document")
    return [[staged[i] for i in draft.files] for draft in drafts]


async def create_documents(
    ctx: AppContext,
    actor: Actor,
    drafts: Sequence[NewDocument],
    *,
    upload: UploadSession | None = None,
    in_transaction: Callable[[UnitOfWork, Document], Awaitable[None]] | None = None,
) -> list[Document]:
    """Documents from metadata, sharing the files of one upload (one file each, say), all or
    none: every draft is checked before anything is stored, and one transaction records them.

    The staged blobs are published (moved into place, durably) before the transaction that
    records them commits, and removed again only if it certainly did not commit: a crash or
    a commit of unknown outcome leaves at worst an unreferenced blob (swept later), never a
    row without its blob. ``in_transaction`` writes what must commit
    or fail with each document (a file answer that references it), in the same transaction.
    """
    await require(ctx, actor, Scope.DOCUMENTS_WRITE)
    per_draft = _split(drafts, upload.staged if upload else [])
    now, limit = ctx.clock(), ctx.limits.max_files_per_document
    catalog = await remembered_catalog(ctx, actor)
    made = [
        _new_document(catalog, actor, draft, staged, now, limit)
        for draft, staged in zip(drafts, per_draft, strict=True)
    ]
    subjects = {doc.subject_id for doc in made if doc.subject_id is not None}
    if subjects:
        async with ctx.store.read() as uow:
            for subject_id in subjects:
                await check_subject(uow, actor, subject_id)

    if upload is not None:
        await object_locks.supported(ctx)  # asked before the blobs are published
        await upload.publish()
    async with ctx.store.write(on_rollback=upload.discard if upload else None) as uow:
        await object_locks.order_upload(ctx, uow, actor)
        for doc in made:
            await check_subject(uow, actor, doc.subject_id)
            doc.number, tenant_settings = await uow.tenants.number_document(actor.tenant_id)
            doc.files = await subject_keys.bind(ctx, uow, doc.tenant_id, doc.subject_id, doc.files)
            processing = job_queue.queue_new(ctx, doc, tenant_settings) if doc.files else None
            await uow.documents.add(doc)
            for stored in doc.files:
                await uow.files.add(stored)
            await object_locks.lock_new(ctx, uow, actor, doc, [f.blob_key for f in doc.files])
            await job_queue.enqueue_file_checks(ctx, uow, doc.files)
            if processing is not None:
                await uow.jobs.add(processing)
            await audit.record(
                ctx,
                uow,
                actor,
                "document.created",
                target_type="document",
                target_id=doc.id,
                subject_id=doc.subject_id,
                files=len(doc.files),
            )
            await events.record(
                ctx, uow, actor, events.DOCUMENT_CREATED, events.document_snapshot(doc)
            )
            if in_transaction is not None:
                await in_transaction(uow, doc)
        crash_around_commit(uow, "document.create")
    return made


def _new_document(
    catalog: Catalog,
    actor: Actor,
    draft: NewDocument,
    staged: Sequence[StagedFile],
    now: datetime,
    max_files: int,
) -> Document:
    """A checked, unsaved document (number 0) with the rows of its staged files."""
    if draft.values.get("type") is None:
        raise InvalidInput.field("type", "required", "a document needs a type")
    if len(staged) > max_files:
        raise InvalidInput.field(
            "file", "too_many_files", f"at most {max_files} files per document"
        )
    check_per_file(staged, draft.roles, "role")
    doc = apply_changes(catalog, _draft(actor, now), draft.values, now, actor)
    if doc.name is None and staged:
        doc.name = staged[0].filename
    check_roles(resolve_type(catalog, doc.type), draft.roles)
    check_client_hashes(staged, draft.hashes)
    doc.files = stored_files(actor, doc.id, staged, draft.roles, now)
    return doc


async def _read_recorded(
    ctx: AppContext,
    actor: Actor,
    find: Callable[[UnitOfWork], Awaitable[Document | None]],
    subject_id: UUID | None = None,
) -> Document:
    """The document ``find`` finds (with ``subject_id``: only that subject's), its read
    recorded in the lookup's own transaction."""

    async def lookup(uow: UnitOfWork) -> Document:
        doc = await find(uow)
        if doc is None or (subject_id is not None and doc.subject_id != subject_id):
            raise document_not_found()
        return doc

    return await audit.read_recorded(
        ctx, actor, lookup, "document.read", target_type="document",
        named=lambda doc: {"target_id": doc.id, "subject_id": doc.subject_id},
    )  # fmt: skip


async def get_document(
    ctx: AppContext,
    actor: Actor,
    document_id: UUID,
    *,
    scope: Scope = Scope.DOCUMENTS_READ,
) -> Document:
    """A document by id. ``scope`` is what the caller must hold: reading by default; a route
    that looks the document up as a step of another use case (deleting it, downloading its
    file) names that use case's scope. The read is recorded in the lookup's transaction."""
    await require(ctx, actor, scope, target_type="document", target_id=document_id)
    return await _read_recorded(
        ctx, actor, lambda uow: uow.documents.get(actor.tenant_id, document_id)
    )


async def get_document_by_number(
    ctx: AppContext,
    actor: Actor,
    number: int,
    *,
    subject_id: UUID | None = None,
    scope: Scope = Scope.DOCUMENTS_READ,
) -> Document:
    """A document by its per-tenant number; with ``subject_id``, only if it is that
    subject's (dialects that nest documents under their customer). ``scope`` as for
    ``get_document``."""
    await require(ctx, actor, scope)
    return await _read_recorded(
        ctx, actor, lambda uow: uow.documents.get_by_number(actor.tenant_id, number), subject_id
    )


async def update_document(
    ctx: AppContext, actor: Actor, document_id: UUID, changes: Mapping[str, Any]
) -> Document:
    await require(ctx, actor, Scope.DOCUMENTS_WRITE, target_id=document_id)
    async with ctx.store.write() as uow:
        current = await uow.documents.get(actor.tenant_id, document_id)
        if current is None:
            raise document_not_found()
        catalog = await tenant_catalog(ctx, uow, actor)
        doc = apply_changes(catalog, current, changes, ctx.clock(), actor)
        if doc.type != current.type:
            check_roles(resolve_type(catalog, doc.type), [f.role for f in doc.files], field="type")
        if doc.subject_id != current.subject_id:
            await check_subject(uow, actor, doc.subject_id)
            doc.files = await subject_keys.rewrap_files(ctx, uow, doc.files, doc.subject_id)
            await subject_rekey.left(ctx, uow, current)
        await uow.documents.update(doc)
        await audit.record(
            ctx,
            uow,
            actor,
            "document.updated",
            target_type="document",
            target_id=doc.id,
            subject_id=doc.subject_id,
            fields=sorted(changes),
        )
        data = {**events.document_snapshot(doc), "changed": sorted(changes)}
        await events.record(ctx, uow, actor, events.DOCUMENT_UPDATED, data)
    return doc
