"""Finding documents: filtered, sorted lists with keyset cursors (the native API's default)
or numbered pages with totals (for the dialects whose clients expect them).

Numbered pages use OFFSET, whose cost grows with depth; they are capped at
``MAX_OFFSET`` rows, beyond which cursors must be used. Totals come from the tenant's
maintained counter when nothing is filtered, and from an index-only count otherwise.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

from kycvault.domain import listing
from kycvault.domain.catalog import Catalog
from kycvault.domain.listing import DocumentQuery
from kycvault.domain.models import Document
from kycvault.domain.scopes import Scope
from kycvault.errors import InvalidInput, NotFound
from kycvault.ports.persistence.records import Seek
from kycvault.services import audit
from kycvault.services.authorization import require
from kycvault.services.catalog import tenant_catalog
from kycvault.services.context import Actor, AppContext
from kycvault.services.documents import resolve_type
from kycvault.services.pagination import MAX_LIMIT, Page, check_limit, cursor_codec, paginate

T = TypeVar("T")
MAX_OFFSET = 10_000
MAX_PER_PAGE = 100
# Some vendors list up to a thousand documents in one answer (KYC Genie's v1 ``limit``).
MAX_LONG_PAGE = 1_000


@dataclass(frozen=True, slots=True)
class NumberedPage(Generic[T]):
    items: list[T]
    page: int
    per_page: int
    total_count: int

    @property
    def total_pages(self) -> int:
        return -(-self.total_count // self.per_page)


def _canonical_types(catalog: Catalog, query: DocumentQuery) -> DocumentQuery:
    """Type names or aliases → canonical names; an unknown one is a 400 that names it."""
    if not query.types:
        return query
    names = tuple(sorted({resolve_type(catalog, t).name for t in query.types}))
    return dataclasses.replace(query, types=names)


async def _prepare(
    ctx: AppContext, actor: Actor, query: DocumentQuery, subject_must_exist: bool
) -> DocumentQuery:
    subject_id = query.subject_id if subject_must_exist else None
    if subject_id is None and not query.types:
        return query  # nothing to look up: spare the transaction
    async with ctx.store.read() as uow:
        if subject_id is not None and await uow.subjects.get(actor.tenant_id, subject_id) is None:
            raise NotFound("no such subject", code="subject_not_found")
        return _canonical_types(await tenant_catalog(ctx, uow, actor), query)


async def _audit_listing(ctx: AppContext, actor: Actor, query: DocumentQuery, count: int) -> None:
    """A page of documents read: how many, and of which subject when one was asked for (the
    other filters' values, a name searched for among them, stay out of the trail)."""
    await audit.record_alone(
        ctx, actor, "document.listed", subject_id=query.subject_id, count=count
    )


async def list_documents(
    ctx: AppContext,
    actor: Actor,
    query: DocumentQuery,
    *,
    limit: int | None = None,
    cursor: str | None = None,
    subject_must_exist: bool = False,
    long_pages: bool = False,
) -> Page[Document]:
    """A page of documents in ``query.sort`` order, ties broken by id. With
    ``subject_must_exist`` an unknown subject is a 404 (the nested route) rather than an
    empty page. Pages hold up to ``MAX_LIMIT`` documents, or ``MAX_LONG_PAGE`` with
    ``long_pages``."""
    await require(ctx, actor, Scope.DOCUMENTS_READ)
    query = await _prepare(ctx, actor, query, subject_must_exist)
    sort = query.sort

    async def fetch(seek: Seek) -> list[Document]:
        async with ctx.store.read() as uow:
            return await uow.documents.page(actor.tenant_id, query, seek)

    def key(doc: Document) -> tuple[Any, UUID]:
        return listing.sort_value(doc, sort), doc.id

    page = await paginate(
        fetch,
        codec=cursor_codec(ctx.cipher),
        tenant_id=actor.tenant_id,
        scope=f"documents|{query.fingerprint()}",
        sort=("-" if sort.descending else "") + sort.column,
        key=key,
        parse=lambda raw: listing.parse_sort_value(sort, raw),
        limit=check_limit(limit, most=MAX_LONG_PAGE if long_pages else MAX_LIMIT),
        cursor=cursor,
    )
    await _audit_listing(ctx, actor, query, len(page.items))
    return page


async def number_documents(
    ctx: AppContext,
    actor: Actor,
    query: DocumentQuery,
    *,
    page: int = 1,
    per_page: int = 20,
    subject_must_exist: bool = False,
    long_pages: bool = False,
) -> NumberedPage[Document]:
    """Page ``page`` (from 1) of ``per_page`` documents, with the total that match. Pages
    hold up to ``MAX_PER_PAGE`` documents, or ``MAX_LONG_PAGE`` with ``long_pages``."""
    await require(ctx, actor, Scope.DOCUMENTS_READ)
    if page < 1:
        raise InvalidInput.field("page", "out_of_range", "pages count from 1")
    most = MAX_LONG_PAGE if long_pages else MAX_PER_PAGE
    if not 1 <= per_page <= most:
        raise InvalidInput.field("per_page", "out_of_range", f"per_page must be 1 to {most}")
    offset = (page - 1) * per_page
    if offset > MAX_OFFSET:
        raise InvalidInput.field(
            "page", "page_too_deep", f"numbered pages reach {MAX_OFFSET} rows; use cursors"
        )
    query = await _prepare(ctx, actor, query, subject_must_exist)
    async with ctx.store.read() as uow:
        total = await uow.documents.count(actor.tenant_id, query)
        items = await uow.documents.page_at(actor.tenant_id, query, offset=offset, limit=per_page)
    await _audit_listing(ctx, actor, query, len(items))
    return NumberedPage(items=items, page=page, per_page=per_page, total_count=total)


async def documents_of_subject(
    ctx: AppContext, actor: Actor, subject_id: UUID, *, limit: int = MAX_OFFSET
) -> list[Document]:
    """Every document of one subject, oldest first (dialects that list without pages; a
    subject holds a handful of documents, ``limit`` bounds a pathological one)."""
    await require(ctx, actor, Scope.DOCUMENTS_READ)
    query = DocumentQuery(subject_id=subject_id, sort=listing.Sort.CREATED)
    async with ctx.store.read() as uow:
        found = await uow.documents.page(
            actor.tenant_id, query, Seek(sort=query.sort.column, limit=limit)
        )
    await _audit_listing(ctx, actor, query, len(found))
    return found
