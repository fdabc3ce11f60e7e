"""Revising a document in one request: new metadata and files put in role slots, the files
they replace deleted (a dialect's "replace the document" call)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from kycvault.domain.catalog import DocumentType
from kycvault.domain.models import Document, StoredFile
from kycvault.domain.scopes import Scope
from kycvault.domain.types import FileRole
from kycvault.errors import Protected
from kycvault.services import (
    audit,
    events,
    job_queue,
    legal_holds,
    object_locks,
    protection,
    reviews,
    subject_keys,
    subject_rekey,
)
from kycvault.services.attachments import check_per_file, stored_files
from kycvault.services.authorization import require
from kycvault.services.catalog import tenant_catalog
from kycvault.services.commits import delete_blobs_after_commit
from kycvault.services.context import Actor, AppContext
from kycvault.services.documents import (
    apply_changes,
    check_subject,
    document_not_found,
    resolve_type,
)
from kycvault.services.files import too_many_files
from kycvault.services.intake import UploadSession


def _slot_role(doc_type: DocumentType, slot: int) -> FileRole | None:
    return doc_type.roles[slot] if slot < len(doc_type.roles) else None


def _slot_of(doc_type: DocumentType, stored: StoredFile) -> int | None:
    return doc_type.roles.index(stored.role) if stored.role in doc_type.roles else None


async def revise_document(
    ctx: AppContext,
    actor: Actor,
    document_id: UUID,
    changes: Mapping[str, Any],
    upload: UploadSession | None,
    *,
    slots: Sequence[int],
) -> Document:
    """Change a document's metadata and put the upload's files in role slots, in one
    transaction. A slot is a position in the document type's role list (for a card 0 is
    FRONT and 1 is BACK; for a passport PAGE1 and PAGE2): ``slots[i]`` is the slot of the
    i-th staged file, and the file that held it is replaced.

    When the type changes, the files kept take the new type's roles by slot: the one in the
    old type's first role takes the new type's first role, and so on (a NATIONAL_ID's FRONT
    becomes a PASSPORT's PAGE1). A slot the new type lacks leaves its file without a role.
    """
    await require(ctx, actor, Scope.DOCUMENTS_WRITE, target_id=document_id)
    try:
        return await _revise(ctx, actor, document_id, changes, upload, slots)
    except Protected as held:
        await protection.refuse(
            ctx,
            actor,
            "document.update_refused",
            held,
            target_type="document",
            target_id=document_id,
        )
        raise


async def _revise(
    ctx: AppContext,
    actor: Actor,
    document_id: UUID,
    changes: Mapping[str, Any],
    upload: UploadSession | None,
    slots: Sequence[int],
) -> Document:
    staged = upload.staged if upload else []
    check_per_file(staged, slots, "slot")
    if upload is not None:
        await object_locks.supported(ctx)  # asked before the blobs are published
        await upload.publish()
    async with ctx.store.write(on_rollback=upload.discard if upload else None) as uow:
        if staged:  # files may be replaced, so deleted: ordered with hold changes
            await legal_holds.lock(uow, actor)
        current = await uow.documents.get(actor.tenant_id, document_id, for_update=True)
        if current is None:
            raise document_not_found()
        catalog = await tenant_catalog(ctx, uow, actor)
        doc = apply_changes(catalog, current, changes, ctx.clock(), actor)
        if doc.subject_id != current.subject_id:
            await check_subject(uow, actor, doc.subject_id)
        old_type, new_type = resolve_type(catalog, current.type), resolve_type(catalog, doc.type)
        taken = set(slots)
        replaced = [f for f in current.files if _slot_of(old_type, f) in taken]
        kept = [f for f in current.files if f not in replaced]
        if doc.subject_id != current.subject_id:
            kept = await subject_keys.rewrap_files(ctx, uow, kept, doc.subject_id)
            await subject_rekey.left(ctx, uow, current)
        if replaced:  # a replaced file is deleted: not while the document is held
            await protection.check_deletable(uow, actor, documents=[current])
        if len(kept) + len(staged) > ctx.limits.max_files_per_document:
            raise too_many_files(ctx)
        moved = []
        for stored in kept:
            slot = _slot_of(old_type, stored)
            role = stored.role if slot is None else _slot_role(new_type, slot)
            if role != stored.role:
                moved.append(dataclasses.replace(stored, role=role))
        await uow.documents.update(doc)
        for stored in replaced:
            await uow.files.delete(actor.tenant_id, stored.id)
        for stored in moved:
            await uow.files.set_role(actor.tenant_id, stored.id, stored.role)
        first = await uow.files.next_position(actor.tenant_id, document_id)
        roles = [_slot_role(new_type, slot) for slot in slots]
        added = stored_files(actor, document_id, staged, roles, ctx.clock(), first)
        added = await subject_keys.bind(ctx, uow, actor.tenant_id, doc.subject_id, added)
        for stored in added:
            await uow.files.add(stored)
        await object_locks.lock_new(ctx, uow, actor, current, [f.blob_key for f in added])
        await job_queue.enqueue_file_checks(ctx, uow, added)
        await uow.documents.sync_files(actor.tenant_id, document_id)
        unmoved = [f for f in kept if f.id not in {m.id for m in moved}]
        doc.files = sorted([*unmoved, *moved, *added], key=lambda f: f.position)
        await job_queue.enqueue_processing(ctx, uow, doc)
        await audit.record(
            ctx,
            uow,
            actor,
            "document.updated",
            target_type="document",
            target_id=document_id,
            fields=sorted(changes),
            files_added=len(added),
            files_replaced=len(replaced),
        )
        data = {**events.document_snapshot(doc), "changed": sorted(changes)}
        await events.record(ctx, uow, actor, events.DOCUMENT_UPDATED, data)
        await events.files_changed(ctx, uow, actor, doc, added=added, deleted=replaced)
        if added:
            await reviews.reopen_on_new_file(ctx, uow, actor, doc)
        delete_blobs_after_commit(ctx, uow, [f.blob_key for f in replaced])
        if replaced and current.subject_id is not None:  # the tenant's row lock is held
            await subject_rekey.schedule(ctx, uow, actor.tenant_id, current.subject_id)
    return doc
