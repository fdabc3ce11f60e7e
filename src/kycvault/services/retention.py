"""Retention rules (per document type: how long after which basis date its documents are
kept), a subject's relationship end, and the deletion receipts the purge leaves
(``retention_purge.py`` deletes). Documents of a type without a rule are kept forever."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from kycvault.domain.models import Document
from kycvault.domain.retention import Basis, parse_period, retain_until
from kycvault.domain.scopes import Scope
from kycvault.errors import InvalidInput, NotFound, RetentionActive
from kycvault.ports.persistence.records import Seek
from kycvault.ports.persistence.retention import DeletionReceipt, RetentionRule
from kycvault.ports.persistence.store import UnitOfWork
from kycvault.services import audit
from kycvault.services.authorization import require
from kycvault.services.catalog import load_catalog
from kycvault.services.context import Actor, AppContext
from kycvault.services.pagination import Page, check_limit, cursor_codec, paginate

RULE_SET = "retention_rule.set"
RULE_REMOVED = "retention_rule.removed"
RELATIONSHIP_END_SET = "subject.relationship_end_set"
# A subject's documents checked before the subject may be deleted (one with documents is
# refused anyway; this only makes the refusal name the retention that keeps them).
SUBJECT_DOCUMENTS_CHECKED = 100


def rule_not_found() -> NotFound:
    return NotFound("no retention rule for this document type", code="retention_rule_not_found")


async def _type_name(ctx: AppContext, actor: Actor, name: str) -> str:
    """The tenant catalog's name of ``name`` (404 for a type it does not know)."""
    doc_type = (await load_catalog(ctx, actor)).resolve(name)
    if doc_type is None:
        raise NotFound(f"no document type {name!r}", code="document_type_not_found")
    return doc_type.name


def _basis(raw: Any) -> Basis:
    try:
        return Basis(raw)
    except ValueError:
        allowed = ", ".join(b.value for b in Basis)
        raise InvalidInput.field("basis", "invalid_basis", f"one of {allowed}") from None


async def set_rule(
    ctx: AppContext, actor: Actor, document_type: str, *, basis: str, period: str
) -> RetentionRule:
    """Keep documents of ``document_type`` for ``period`` after ``basis`` (replacing the
    type's rule, if it had one)."""
    await require(ctx, actor, Scope.ADMIN, target_type="retention_rule")
    name = await _type_name(ctx, actor, document_type)
    rule = RetentionRule(
        tenant_id=actor.tenant_id,
        document_type=name,
        basis=_basis(basis).value,
        period=str(parse_period(period)),
        updated_at=ctx.clock(),
        updated_by=actor.key_id,
    )
    async with ctx.store.write() as uow:
        await uow.retention.set_rule(rule)
        await audit.record(
            ctx,
            uow,
            actor,
            RULE_SET,
            target_type="retention_rule",
            target_id=None,
            document_type=name,
            basis=rule.basis,
            period=rule.period,
        )
    return rule


async def remove_rule(ctx: AppContext, actor: Actor, document_type: str) -> None:
    """Documents of the type are kept again (404 if it had no rule)."""
    await require(ctx, actor, Scope.ADMIN, target_type="retention_rule")
    name = await _type_name(ctx, actor, document_type)
    async with ctx.store.write() as uow:
        if not await uow.retention.remove_rule(actor.tenant_id, name):
            raise rule_not_found()
        await audit.record(
            ctx,
            uow,
            actor,
            RULE_REMOVED,
            target_type="retention_rule",
            target_id=None,
            document_type=name,
        )


async def list_rules(ctx: AppContext, actor: Actor) -> list[RetentionRule]:
    await require(ctx, actor, Scope.DOCUMENTS_READ, target_type="retention_rule")
    async with ctx.store.read() as uow:
        return await uow.retention.rules(actor.tenant_id)


async def set_relationship_end(
    ctx: AppContext, actor: Actor, subject_id: UUID, ended_on: date | None
) -> date | None:
    """Record (or, with None, clear) the day the business relationship with the subject
    ended: the basis date of ``relationship_end`` rules."""
    await require(ctx, actor, Scope.SUBJECTS_WRITE, target_type="subject", target_id=subject_id)
    async with ctx.store.write() as uow:
        if await uow.subjects.get(actor.tenant_id, subject_id) is None:
            raise NotFound("no such subject", code="subject_not_found")
        await uow.retention.set_relationship_end(actor.tenant_id, subject_id, ended_on)
        await audit.record(
            ctx,
            uow,
            actor,
            RELATIONSHIP_END_SET,
            target_type="subject",
            target_id=subject_id,
            subject_id=subject_id,
            cleared=ended_on is None,
        )
    return ended_on


async def list_receipts(
    ctx: AppContext, actor: Actor, *, limit: int | None = None, cursor: str | None = None
) -> Page[DeletionReceipt]:
    """The tenant's deletion receipts, newest first."""
    await require(ctx, actor, Scope.AUDIT_READ, target_type="deletion_receipt")

    async def fetch(seek: Seek) -> list[DeletionReceipt]:
        async with ctx.store.read() as uow:
            return await uow.retention.receipts(actor.tenant_id, seek)

    return await paginate(
        fetch,
        codec=cursor_codec(ctx.cipher),
        tenant_id=actor.tenant_id,
        scope="deletion-receipts",
        sort="-purged_at",
        key=lambda r: (r.purged_at, r.id),
        parse=datetime.fromisoformat,
        limit=check_limit(limit),
        cursor=cursor,
    )


async def basis_date(uow: UnitOfWork, doc: Document, basis: str) -> date | None:
    """The day ``doc``'s retention runs from (None: unknown, so it is kept)."""
    if basis == Basis.UPLOAD:
        return doc.created_at.astimezone(UTC).date()
    if basis == Basis.EXPIRY:
        return doc.expiry_date
    if doc.subject_id is None:
        return None
    return await uow.retention.relationship_end(doc.tenant_id, doc.subject_id)


async def until_for(uow: UnitOfWork, doc: Document, rule: RetentionRule) -> date | None:
    """The first day ``rule`` lets ``doc`` be deleted (None: its basis day is not known)."""
    return retain_until(await basis_date(uow, doc, rule.basis), parse_period(rule.period))


async def today(uow: UnitOfWork) -> date:
    """The UTC day on the database's clock: the day every retention decision (a purge, a
    refused deletion) is made on, whichever host makes it."""
    return (await uow.retention.now()).date()


async def check_retained(
    uow: UnitOfWork,
    actor: Actor,
    *,
    documents: Sequence[Document] = (),
    subject_id: UUID | None = None,
    on: date | None = None,
) -> None:
    """Refuse (``RetentionActive``) while a retention rule keeps any of ``documents`` (or of
    ``subject_id``'s documents): before its ``retain_until`` day, or with no day yet (no
    relationship end, no expiry date recorded). ``on`` is the day to decide on (the purge's);
    by default the database's. A document of a type without a rule is never kept."""
    docs = list(documents)
    if subject_id is not None:
        ids = await uow.retention.documents_of(
            actor.tenant_id, subject_id, SUBJECT_DOCUMENTS_CHECKED
        )
        docs += await uow.documents.get_many(actor.tenant_id, ids)
    rules = {r.document_type: r for r in await uow.retention.rules(actor.tenant_id)} if docs else {}
    day = on
    kept: list[tuple[date | None, Document, RetentionRule]] = []
    for doc in docs:
        rule = rules.get(doc.type)
        if rule is None:
            continue
        until = await until_for(uow, doc, rule)
        if day is None and until is not None:
            day = await today(uow)
        if until is None or (day is not None and until > day):
            kept.append((until, doc, rule))
    if kept:
        # The one that is kept longest: no date at all, else the latest.
        until, doc, rule = max(kept, key=lambda k: (k[0] is None, k[0] or date.min))
        raise _retained(doc, rule, until)


def _retained(doc: Document, rule: RetentionRule, until: date | None) -> RetentionActive:
    when = (
        f"until {until.isoformat()}"
        if until is not None
        else f"with no end yet: its {rule.basis} date is not recorded"
    )
    return RetentionActive(
        f"a retention rule ({rule.period} after {rule.basis}) keeps this {doc.type} {when}",
        document_id=str(doc.id),
        retain_until=until,
        basis=rule.basis,
        period=rule.period,
    )
