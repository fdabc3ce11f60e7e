"""The subject access export (GDPR Art. 15): everything the vault holds about one subject,
as one zip streamed to the client, and the check of a downloaded one.

What the zip holds (``domain/subject_archive.py`` writes it):

- ``subject.json``: the subject as ``GET /v1/subjects/{id}`` shows it;
- per document, ``documents/<id>/document.json`` as ``GET /v1/documents/{id}`` shows it (its
  metadata, its files' metadata with their original names, what processing extracted) and
  ``documents/<id>/text.json`` when text was read from it;
- every file's content, decrypted and verified frame by frame as a download is, at
  ``documents/<id>/files/<file id>.<ext>``;
- ``audit-events.jsonl``: every recorded access to and change of the subject and its
  documents (the audit trail's export rows), newest first;
- ``manifest.json`` (every entry with its size and SHA-256) and ``manifest.sig``, its
  HMAC-SHA256 under a key derived from the master key.

Checked before the first byte, so that a refusal is a clean problem response: the scopes
(``subjects:read`` and ``documents:download``, since the export hands out every file's
content), the subject (another tenant's, or one deleted, is a 404), and the one
``subject.exported`` audit event is written. Once bytes have gone, a failure (a blob that
fails verification, a file whose content does not match its SHA-256, the store away) ends
the stream before the zip's central directory and the manifest: the server drops the
connection, so a client sees a broken download, never a valid-looking zip that lacks a file.

Memory stays at one frame of one file, a page of documents and a batch of audit events; only
the manifest's list of entries grows, by one line a file.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from kycvault.domain import subject_archive
from kycvault.domain.listing import DocumentQuery, Sort
from kycvault.domain.media import extension_for
from kycvault.domain.models import Document, StoredFile, Subject
from kycvault.domain.scopes import Scope
from kycvault.errors import IntegrityFailure
from kycvault.ports.persistence.records import AuditFilter, Seek
from kycvault.services import audit, audit_trail, processing
from kycvault.services.authorization import require
from kycvault.services.context import Actor, AppContext
from kycvault.services.files import open_stored
from kycvault.services.subjects import subject_not_found

EXPORTED = "subject.exported"
AUDIT_ENTRY = "audit-events.jsonl"
_DOCUMENT_PAGE = 50


@dataclass(frozen=True, slots=True)
class Views:
    """How the API shows a subject and a document (``api/schemas.py``), so that the export
    holds them as a client reads them."""

    subject: Callable[[Subject], Any]
    document: Callable[[Document], Any]


@dataclass(frozen=True, slots=True)
class SubjectExport:
    """An export that may start: the subject, checked and the export recorded."""

    actor: Actor
    subject: Subject
    started_at: datetime

    @property
    def filename(self) -> str:
        return f"subject-{self.subject.id}.zip"


async def start_export(ctx: AppContext, actor: Actor, subject_id: UUID) -> SubjectExport:
    """Check and record an export of the subject before its first byte.

    Raises:
        InsufficientScope: the key lacks ``subjects:read`` or ``documents:download``.
        NotFound: no such subject in the actor's tenant.
    """
    for scope in (Scope.SUBJECTS_READ, Scope.DOCUMENTS_DOWNLOAD):
        await require(ctx, actor, scope, target_type="subject", target_id=subject_id)
    async with ctx.store.write() as uow:
        subject = await uow.subjects.get(actor.tenant_id, subject_id)
        if subject is None:
            raise subject_not_found()
        await audit.record(ctx, uow, actor, EXPORTED, target_type="subject", target_id=subject_id)
    return SubjectExport(actor, subject, ctx.clock())


async def stream(ctx: AppContext, export: SubjectExport, views: Views) -> AsyncIterator[bytes]:
    """The zip, a piece at a time (see the module's docstring for what it holds)."""
    archive = subject_archive.ArchiveWriter()
    subject = export.subject
    yield archive.add_json("subject.json", views.subject(subject), subject.updated_at)
    documents: list[UUID] = []
    async for doc in _documents(ctx, export):
        documents.append(doc.id)
        async for piece in _document(ctx, archive, doc, views):
            yield piece
    async for piece in _audit_events(ctx, archive, export, documents):
        yield piece
    header = {
        "tenant_id": str(subject.tenant_id),
        "subject_id": str(subject.id),
        "exported_at": export.started_at.isoformat(),
        "request_id": export.actor.request_id,
        "documents": len(documents),
    }
    key = ctx.cipher.derive_secret(subject_archive.MAC_LABEL)
    yield archive.finish(header, key, export.started_at)


async def _documents(ctx: AppContext, export: SubjectExport) -> AsyncIterator[Document]:
    """The subject's documents, oldest first, a page at a time."""
    query = DocumentQuery(subject_id=export.subject.id, sort=Sort.CREATED)
    seek = Seek(sort=query.sort.column, limit=_DOCUMENT_PAGE)
    while True:
        async with ctx.store.read() as uow:
            page = await uow.documents.page(export.actor.tenant_id, query, seek)
        for doc in page:
            yield doc
        if len(page) < _DOCUMENT_PAGE:
            return
        last = page[-1]
        seek = Seek(query.sort.column, _DOCUMENT_PAGE, position=(last.created_at, last.id))


async def _document(
    ctx: AppContext, archive: subject_archive.ArchiveWriter, doc: Document, views: Views
) -> AsyncIterator[bytes]:
    base = f"documents/{doc.id}"
    yield archive.add_json(f"{base}/document.json", views.document(doc), doc.updated_at)
    async with ctx.store.read() as uow:
        sealed = await uow.documents.get_text(doc.tenant_id, doc.id)
    text = processing.open_text(ctx, doc.tenant_id, doc.id, sealed)
    if text is not None:
        shown = {"document_id": str(doc.id), "text": text, "characters": len(text)}
        yield archive.add_json(f"{base}/text.json", shown, doc.updated_at)
    for stored in doc.files:
        async for piece in _file(ctx, archive, f"{base}/files/{_file_name(stored)}", stored):
            yield piece


def _file_name(stored: StoredFile) -> str:
    """The file's id and the usual extension of its detected type: never the name the
    client gave (that is in ``document.json``)."""
    ext = extension_for(stored.content_type)
    return f"{stored.id}.{ext}" if ext else str(stored.id)


async def _file(
    ctx: AppContext, archive: subject_archive.ArchiveWriter, name: str, stored: StoredFile
) -> AsyncIterator[bytes]:
    content = await open_stored(ctx, stored)
    entry = archive.open(name, stored.created_at, size=stored.size)
    async with aclosing(content.stream()) as chunks:
        async for chunk in chunks:
            # Hashing and the zip's CRC: off the event loop, as decryption is.
            if piece := await asyncio.to_thread(entry.write, chunk):
                yield piece
    if entry.sha256 != stored.sha256:
        raise IntegrityFailure("a stored file does not match its SHA-256", code="integrity_error")
    yield entry.close()


async def _audit_events(
    ctx: AppContext,
    archive: subject_archive.ArchiveWriter,
    export: SubjectExport,
    documents: list[UUID],
) -> AsyncIterator[bytes]:
    """Events about the subject, then those about each document that do not name the
    subject (made before the document was given to it, say): each event once."""
    tenant_id, subject_id = export.actor.tenant_id, export.subject.id
    entry = archive.open(AUDIT_ENTRY, export.started_at, deflate=True)
    wheres = [AuditFilter(subject_id=subject_id)]
    wheres += [AuditFilter(document_id=document_id) for document_id in documents]
    for where in wheres:
        async for events in audit_trail.batches(ctx, tenant_id, where):
            lines = [
                audit_trail.jsonl_line(event)
                for event in events
                if where.subject_id is not None or event.subject_id != subject_id
            ]
            if piece := entry.write(b"".join(lines)):
                yield piece
    yield entry.close()


async def verify(ctx: AppContext, path: Path) -> subject_archive.ArchiveCheck:
    """Check a downloaded export against its manifest and the manifest's MAC (under this
    vault's master key): the first entry that does not match, if any."""
    key = ctx.cipher.derive_secret(subject_archive.MAC_LABEL)
    return await asyncio.to_thread(subject_archive.check, path, key)
