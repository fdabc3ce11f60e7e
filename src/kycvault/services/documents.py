"""Documents: the logical document (one passport) and its metadata.

Files are attached by ``kycvault.services.files``; creating a document with files in one
request goes through ``create_document`` with the staged files of an ``UploadSession``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

from kycvault.domain.catalog import DocumentType
from kycvault.domain.models import (
    Document,
    StoredFile,
    check_document_dates,
    check_metadata,
    clean_text,
    normalize_country,
)
from kycvault.domain.types import Authenticity, FileRole
from kycvault.errors import (
    FieldError,
    InvalidInput,
    NotFound,
    UnknownDocumentType,
    UnprocessableContent,
)
from kycvault.services import audit
from kycvault.services.context import Actor, Vault
from kycvault.services.intake import StagedFile, UploadSession
from kycvault.services.pagination import Page, check_limit, cursor_codec, paginate
from kycvault.services.unit_of_work import DocumentFilter, Seek, UnitOfWork

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


def resolve_type(vault: Vault, value: str, *, field: str = "type") -> DocumentType:
    doc_type = vault.catalog.resolve(value)
    if doc_type is None:
        raise UnknownDocumentType(value, field=field)
    return doc_type


def _apply(
    vault: Vault, doc: Document, changes: Mapping[str, Any], now: datetime, actor: Actor
) -> Document:
    unknown = set(changes) - MUTABLE_FIELDS
    if unknown:
        raise InvalidInput.field(sorted(unknown)[0], "unknown_field", "this field cannot be set")
    values = dict(changes)
    for required in ("type", "notify_before_expiry"):
        if required in values and values[required] is None:
            raise InvalidInput.field(required, "required", "cannot be null")
    if "type" in values:
        values["type"] = resolve_type(vault, values["type"]).name
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


def check_roles(
    doc_type: DocumentType, roles: Sequence[FileRole | None], *, field: str = "role"
) -> None:
    for index, role in enumerate(roles):
        if not doc_type.allows_role(role):
            allowed = ", ".join(doc_type.roles) or "none"
            raise InvalidInput.field(
                f"{field}.{index}" if len(roles) > 1 else field,
                "role_not_allowed",
                f"role {role} is not allowed for type {doc_type.name} (allowed: {allowed})",
            )


def check_client_hashes(staged: Sequence[StagedFile], hashes: Sequence[str | None]) -> None:
    """Verify client-sent SHA-256 digests (Sila style); a mismatch stores nothing."""
    if hashes and len(hashes) != len(staged):
        raise InvalidInput.field(
            "sha256", "count_mismatch", "give one sha256 per file, in the files' order"
        )
    for index, (item, expected) in enumerate(zip(staged, hashes, strict=False)):
        if expected is not None and expected.strip().lower() != item.sha256:
            field = f"sha256.{index}" if len(staged) > 1 else "sha256"
            raise UnprocessableContent(
                f"{field}: the file's SHA-256 does not match the digest sent",
                code="checksum_mismatch",
                errors=[FieldError(field, "checksum_mismatch", "digest does not match")],
            )


def stored_files(
    actor: Actor,
    document_id: UUID,
    staged: Sequence[StagedFile],
    roles: Sequence[FileRole | None],
    now: datetime,
    first_position: int = 0,
) -> list[StoredFile]:
    return [
        StoredFile(
            id=item.id,
            tenant_id=actor.tenant_id,
            document_id=document_id,
            position=first_position + index,
            role=roles[index] if index < len(roles) else None,
            filename=item.filename,
            content_type=item.content_type,
            size=item.size,
            sha256=item.sha256,
            blob_key=item.blob_key,
            wrapped_dek=item.wrapped_dek,
            kek_id=item.kek_id,
            created_at=now,
            created_by=actor.key_id,
        )
        for index, item in enumerate(staged)
    ]


async def _check_subject(uow: UnitOfWork, actor: Actor, subject_id: UUID | None) -> None:
    if subject_id is not None and await uow.subjects.get(actor.tenant_id, subject_id) is None:
        raise InvalidInput.field("subject_id", "subject_not_found", "no such subject")


async def create_document(
    vault: Vault,
    actor: Actor,
    values: Mapping[str, Any],
    *,
    upload: UploadSession | None = None,
    roles: Sequence[FileRole | None] = (),
    hashes: Sequence[str | None] = (),
) -> Document:
    """A document from metadata, with the files of ``upload`` if given.

    The staged blobs are published (moved into place, durably) before the transaction that
    records them commits, and removed again if it fails: a crash leaves at worst an
    unreferenced blob, never a row without its blob.
    """
    if "type" not in values or values["type"] is None:
        raise InvalidInput.field("type", "required", "a document needs a type")
    staged = upload.staged if upload else []
    if len(staged) > vault.limits.max_files_per_document:
        raise InvalidInput.field(
            "file",
            "too_many_files",
            f"at most {vault.limits.max_files_per_document} files per document",
        )
    if roles and len(roles) != len(staged):
        raise InvalidInput.field("role", "count_mismatch", "give one role per file, in order")
    now = vault.clock()
    draft = Document(
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
    doc = _apply(vault, draft, values, now, actor)
    if doc.name is None and staged:
        doc.name = staged[0].filename
    check_roles(resolve_type(vault, doc.type), roles)
    check_client_hashes(staged, hashes)
    doc.files = stored_files(actor, doc.id, staged, roles, now)

    async with vault.store.read() as uow:
        await _check_subject(uow, actor, doc.subject_id)
    if upload is not None:
        await upload.publish()
    try:
        async with vault.store.write() as uow:
            await _check_subject(uow, actor, doc.subject_id)
            doc.number = await uow.tenants.allocate(actor.tenant_id, "document")
            await uow.documents.add(doc)
            for stored in doc.files:
                await uow.files.add(stored)
            await audit.record(
                vault,
                uow,
                actor,
                "document.created",
                target_type="document",
                target_id=doc.id,
                files=len(doc.files),
            )
    except BaseException:
        if upload is not None:
            await upload.discard()
        raise
    return doc


async def get_document(vault: Vault, actor: Actor, document_id: UUID) -> Document:
    async with vault.store.read() as uow:
        doc = await uow.documents.get(actor.tenant_id, document_id)
    if doc is None:
        raise document_not_found()
    return doc


async def update_document(
    vault: Vault, actor: Actor, document_id: UUID, changes: Mapping[str, Any]
) -> Document:
    async with vault.store.write() as uow:
        current = await uow.documents.get(actor.tenant_id, document_id)
        if current is None:
            raise document_not_found()
        doc = _apply(vault, current, changes, vault.clock(), actor)
        if doc.type != current.type:
            check_roles(resolve_type(vault, doc.type), [f.role for f in doc.files], field="type")
        if doc.subject_id != current.subject_id:
            await _check_subject(uow, actor, doc.subject_id)
        await uow.documents.update(doc)
        await audit.record(
            vault,
            uow,
            actor,
            "document.updated",
            target_type="document",
            target_id=doc.id,
            fields=sorted(changes),
        )
    return doc


async def delete_document(vault: Vault, actor: Actor, document_id: UUID) -> None:
    """Delete the rows first, then the blobs: a failure in between leaves unreferenced
    ciphertext (whose data keys went with the rows), never a row without its blob."""
    async with vault.store.write() as uow:
        doc = await uow.documents.get(actor.tenant_id, document_id)
        if doc is None:
            raise document_not_found()
        await uow.documents.delete(actor.tenant_id, document_id)
        await audit.record(
            vault,
            uow,
            actor,
            "document.deleted",
            target_type="document",
            target_id=document_id,
            files=len(doc.files),
        )
    await delete_blobs(vault, [f.blob_key for f in doc.files])


async def delete_blobs(vault: Vault, keys: Sequence[str]) -> None:
    def _delete() -> None:
        for key in keys:
            vault.blobs.delete(key)

    await asyncio.to_thread(_delete)


async def list_documents(
    vault: Vault,
    actor: Actor,
    *,
    subject_id: UUID | None = None,
    types: Sequence[str] = (),
    limit: int | None = None,
    cursor: str | None = None,
    subject_must_exist: bool = False,
) -> Page[Document]:
    """A page of documents, newest first. With ``subject_must_exist`` an unknown subject is a
    404 (the nested ``/subjects/{id}/documents`` route) rather than an empty page."""
    if subject_must_exist and subject_id is not None:
        async with vault.store.read() as uow:
            if await uow.subjects.get(actor.tenant_id, subject_id) is None:
                raise NotFound("no such subject", code="subject_not_found")
    names = tuple(sorted({resolve_type(vault, t).name for t in types}))
    flt = DocumentFilter(subject_id=subject_id, types=names)

    async def fetch(seek: Seek) -> list[Document]:
        async with vault.store.read() as uow:
            return await uow.documents.page(actor.tenant_id, flt, seek)

    scope = f"documents|{subject_id}|{','.join(names)}|-created_at"
    return await paginate(
        fetch,
        codec=cursor_codec(vault.cipher),
        tenant_id=actor.tenant_id,
        scope=scope,
        sort="-created_at",
        key=lambda d: (d.created_at, d.id),
        parse=datetime.fromisoformat,
        limit=check_limit(limit),
        cursor=cursor,
    )
