"""Subjects: the people and companies documents belong to."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from typing import Any
from uuid import UUID

from kycvault.domain.listing import SubjectQuery
from kycvault.domain.models import Subject, check_metadata, clean_text, normalize_address
from kycvault.domain.scopes import Scope
from kycvault.domain.types import SubjectType
from kycvault.errors import Conflict, InvalidInput, NotFound, Protected
from kycvault.ports.persistence.store import UnitOfWork
from kycvault.services import audit, events, legal_holds, protection, subject_search
from kycvault.services.authorization import require
from kycvault.services.context import Actor, AppContext
from kycvault.services.pagination import Page, check_limit, cursor_codec, paginate

MUTABLE_FIELDS = frozenset(
    {"type", "external_id", "display_name", "parent_id", "metadata", "crypto_address", "birth_date"}
)
# The earliest birth date taken: an older one is a typing error.
EARLIEST_BIRTH = date(1880, 1, 1)
MAX_PARENT_DEPTH = 16


def subject_not_found() -> NotFound:
    return NotFound("no such subject", code="subject_not_found")


async def _check_parent(uow: UnitOfWork, actor: Actor, subject_id: UUID, parent_id: UUID) -> None:
    """The parent must be the tenant's and must not make the chain loop back."""
    if parent_id == subject_id:
        raise InvalidInput.field("parent_id", "parent_cycle", "a subject cannot be its own parent")
    current: UUID | None = parent_id
    for _ in range(MAX_PARENT_DEPTH):
        if current is None:
            return
        parent = await uow.subjects.get(actor.tenant_id, current)
        if parent is None:
            raise InvalidInput.field("parent_id", "parent_not_found", "no such parent subject")
        if parent.parent_id == subject_id:
            raise InvalidInput.field("parent_id", "parent_cycle", "the parent chain would loop")
        current = parent.parent_id
    raise InvalidInput.field("parent_id", "parent_too_deep", "the parent chain is too deep")


async def _check_external_id(uow: UnitOfWork, actor: Actor, subject: Subject) -> None:
    if subject.external_id is None:
        return
    other = await uow.subjects.get_by_external_id(actor.tenant_id, subject.external_id)
    if other is not None and other.id != subject.id:
        raise Conflict(
            "another subject of this tenant has that external_id", code="external_id_taken"
        )


def _apply(subject: Subject, changes: Mapping[str, Any], now: datetime, actor: Actor) -> Subject:
    unknown = set(changes) - MUTABLE_FIELDS
    if unknown:
        raise InvalidInput.field(sorted(unknown)[0], "unknown_field", "this field cannot be set")
    values = dict(changes)
    if "type" in values:
        try:
            values["type"] = SubjectType(values["type"])
        except ValueError:
            raise InvalidInput.field(
                "type", "invalid_choice", "type must be individual or company"
            ) from None
    if "external_id" in values:
        values["external_id"] = clean_text(values["external_id"], field_name="external_id")
    if "display_name" in values:
        values["display_name"] = clean_text(values["display_name"], field_name="display_name")
    if "metadata" in values:
        values["metadata"] = check_metadata(values["metadata"] or {})
    if "crypto_address" in values:
        values["crypto_address"] = normalize_address(values["crypto_address"])
    born = values.get("birth_date")
    if born is not None and not EARLIEST_BIRTH <= born <= now.date():
        raise InvalidInput.field(
            "birth_date",
            "out_of_range",
            f"birth_date must lie between {EARLIEST_BIRTH.isoformat()} and today",
        )
    return replace(subject, **values, updated_at=now, updated_by=actor.key_id)


async def create_subject(ctx: AppContext, actor: Actor, values: Mapping[str, Any]) -> Subject:
    await require(ctx, actor, Scope.SUBJECTS_WRITE)
    now = ctx.clock()
    draft = Subject(
        id=uuid.uuid4(),
        tenant_id=actor.tenant_id,
        number=0,
        type=SubjectType.INDIVIDUAL,
        external_id=None,
        display_name=None,
        parent_id=None,
        metadata={},
        created_at=now,
        updated_at=now,
        created_by=actor.key_id,
        updated_by=actor.key_id,
    )
    subject = _apply(draft, values, now, actor)
    async with ctx.store.write() as uow:
        if subject.parent_id is not None:
            await _check_parent(uow, actor, subject.id, subject.parent_id)
        # Numbering first: it locks the tenant's row (PostgreSQL), so a concurrent create
        # with the same external_id waits here and then sees the other's committed row.
        subject.number = await uow.tenants.allocate(actor.tenant_id, "subject")
        await _check_external_id(uow, actor, subject)
        await uow.subjects.add(subject)
        await audit.record(
            ctx, uow, actor, "subject.created", target_type="subject", target_id=subject.id
        )
        await events.record(
            ctx, uow, actor, events.SUBJECT_CREATED, events.subject_snapshot(subject)
        )
    return subject


async def _audit_read(ctx: AppContext, actor: Actor, subject: Subject) -> Subject:
    await audit.record_alone(
        ctx, actor, "subject.read", target_type="subject", target_id=subject.id
    )
    return subject


# The lookups below take the ``scope`` the caller must hold: reading a subject by default; a
# route that looks the subject up as a step of another use case (listing or uploading its
# documents) names that use case's scope.


async def get_subject(
    ctx: AppContext, actor: Actor, subject_id: UUID, *, scope: Scope = Scope.SUBJECTS_READ
) -> Subject:
    await require(ctx, actor, scope, target_type="subject", target_id=subject_id)
    async with ctx.store.read() as uow:
        subject = await uow.subjects.get(actor.tenant_id, subject_id)
    if subject is None:
        raise subject_not_found()
    return await _audit_read(ctx, actor, subject)


async def get_subject_by_number(
    ctx: AppContext, actor: Actor, number: int, *, scope: Scope = Scope.SUBJECTS_READ
) -> Subject:
    """A subject by its per-tenant number (dialects with integer ids)."""
    await require(ctx, actor, scope, target_type="subject")
    async with ctx.store.read() as uow:
        subject = await uow.subjects.get_by_number(actor.tenant_id, number)
    if subject is None:
        raise subject_not_found()
    return await _audit_read(ctx, actor, subject)


async def find_subject(
    ctx: AppContext, actor: Actor, ref: str, *, scope: Scope = Scope.SUBJECTS_READ
) -> Subject:
    """A subject by its id or, failing that, by its ``external_id`` (dialects whose user ids
    are the client's own)."""
    await require(ctx, actor, scope, target_type="subject")
    if "\x00" in ref:
        # No stored external_id holds a NUL (every text input refuses one), and PostgreSQL
        # cannot even compare one: such a reference names nothing.
        raise subject_not_found()
    async with ctx.store.read() as uow:
        subject = None
        with contextlib.suppress(ValueError):
            subject = await uow.subjects.get(actor.tenant_id, UUID(ref))
        if subject is None:
            subject = await uow.subjects.get_by_external_id(actor.tenant_id, ref)
    if subject is None:
        raise subject_not_found()
    return await _audit_read(ctx, actor, subject)


async def update_subject(
    ctx: AppContext, actor: Actor, subject_id: UUID, changes: Mapping[str, Any]
) -> Subject:
    await require(ctx, actor, Scope.SUBJECTS_WRITE, target_id=subject_id)
    async with ctx.store.write() as uow:
        current = await uow.subjects.get(actor.tenant_id, subject_id)
        if current is None:
            raise subject_not_found()
        subject = _apply(current, changes, ctx.clock(), actor)
        if subject.parent_id is not None and subject.parent_id != current.parent_id:
            await _check_parent(uow, actor, subject.id, subject.parent_id)
        await _check_external_id(uow, actor, subject)
        await uow.subjects.update(subject)
        await audit.record(
            ctx,
            uow,
            actor,
            "subject.updated",
            target_type="subject",
            target_id=subject.id,
            fields=sorted(changes),
        )
        data = {**events.subject_snapshot(subject), "changed": sorted(changes)}
        await events.record(ctx, uow, actor, events.SUBJECT_UPDATED, data)
    return subject


async def delete_subject(ctx: AppContext, actor: Actor, subject_id: UUID) -> None:
    """Only a subject without documents, members or responses goes, so ``subjects:write``
    suffices (deleting documents needs ``documents:delete``)."""
    await require(ctx, actor, Scope.SUBJECTS_WRITE, target_id=subject_id)
    try:
        await _delete_subject(ctx, actor, subject_id)
    except Protected as held:
        await protection.refuse(
            ctx, actor, "subject.delete_refused", held, target_type="subject", target_id=subject_id
        )
        raise
    # Nothing is left under the subject's keys (it had no documents): they go too, so that
    # backups of documents it once had cannot be opened either.
    keys = await ctx.subject_keys.store.of_subject(actor.tenant_id, subject_id)
    await ctx.subject_keys.destroy(actor.tenant_id, [k.id for k in keys])


async def _delete_subject(ctx: AppContext, actor: Actor, subject_id: UUID) -> None:
    async with ctx.store.write() as uow:
        await legal_holds.lock(uow, actor)
        if await uow.subjects.get(actor.tenant_id, subject_id) is None:
            raise subject_not_found()
        await protection.check_deletable(uow, actor, subject_id=subject_id)
        if await uow.subjects.has_documents(actor.tenant_id, subject_id):
            raise Conflict(
                "the subject still has documents; delete them first", code="subject_has_documents"
            )
        if await uow.subjects.has_members(actor.tenant_id, subject_id):
            raise Conflict(
                "other subjects name this one as their parent", code="subject_has_members"
            )
        if await uow.responses.exists_for_subject(actor.tenant_id, subject_id):
            raise Conflict(
                "the subject has questionnaire responses; delete them first",
                code="subject_has_responses",
            )
        await uow.subjects.delete(actor.tenant_id, subject_id)
        await audit.record(
            ctx, uow, actor, "subject.deleted", target_type="subject", target_id=subject_id
        )
        await events.record(ctx, uow, actor, events.SUBJECT_DELETED, {"subject_id": subject_id})


async def list_subjects(
    ctx: AppContext,
    actor: Actor,
    query: SubjectQuery | None = None,
    *,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[Subject]:
    """A page of the tenant's subjects, newest first, of those ``query`` lets through. A
    filter that names nothing (an unknown external id or parent, another tenant's) gives an
    empty page, as the documents listing's filters do. Audited with the count only: the
    external id looked for stays out of the trail.

    With ``search`` the page is found by reading the subjects in order and keeping those that
    match (``subject_search``): its cursors go forward only, and a page may hold fewer than
    ``limit`` subjects, or none, and still have a ``next_cursor`` when the read stopped at its
    bound before the page was full."""
    query = query or SubjectQuery()
    if query.search is not None:
        filters = subject_search.SubjectFilters(text=query.search, query=query)
        found = await subject_search.search_subjects(
            ctx, actor, filters, limit=limit, cursor=cursor
        )
        return found.page
    await require(ctx, actor, Scope.SUBJECTS_READ)
    fingerprint = query.fingerprint()

    async def fetch(seek: Any) -> list[Subject]:
        async with ctx.store.read() as uow:
            return await uow.subjects.page(actor.tenant_id, seek, query)

    page = await paginate(
        fetch,
        codec=cursor_codec(ctx.cipher),
        tenant_id=actor.tenant_id,
        scope="subjects|-created_at" + (f"|{fingerprint}" if fingerprint else ""),
        sort="-created_at",
        key=lambda s: (s.created_at, s.id),
        parse=datetime.fromisoformat,
        limit=check_limit(limit),
        cursor=cursor,
    )
    await audit.record_alone(ctx, actor, "subject.listed", count=len(page.items))
    return page
