"""The document-type catalog as a tenant sees it: the built-in types plus its own.

Tenants add types for documents the catalog lacks (KYC Genie clients use free labels such as
"Financial Statement"). A custom type gets a short ``name`` (given, or derived from the label)
that may not collide with any built-in name, alias or label, nor with another custom type.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from types import MappingProxyType

from kycvault.domain.catalog import Catalog, DocumentType
from kycvault.domain.models import clean_text
from kycvault.domain.scopes import Scope
from kycvault.domain.types import Category, FileRole
from kycvault.errors import Conflict, InvalidInput, NotFound
from kycvault.ports.persistence.store import UnitOfWork
from kycvault.services import audit
from kycvault.services.authorization import require
from kycvault.services.context import Actor, AppContext

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


async def tenant_catalog(ctx: AppContext, uow: UnitOfWork, actor: Actor) -> Catalog:
    return ctx.catalog.with_types(await uow.document_types.list_for(actor.tenant_id))


async def remembered_catalog(ctx: AppContext, actor: Actor) -> Catalog:
    """The tenant's catalog as this process remembers it (``services/remembered.py``),
    read (in a transaction of its own) when it does not: for checks made before a write,
    never inside one, where ``tenant_catalog`` reads what the transaction sees."""
    found = ctx.catalogs.get(actor.tenant_id)
    if found is None:
        count = ctx.catalogs.count()  # before the read: an addition after it makes it stale
        found = await load_catalog(ctx, actor)
        ctx.catalogs.remember(actor.tenant_id, found, count)
    return found


async def load_catalog(ctx: AppContext, actor: Actor) -> Catalog:
    async with ctx.store.read() as uow:
        return await tenant_catalog(ctx, uow, actor)


async def list_types(
    ctx: AppContext, actor: Actor, *, category: Category | None = None
) -> list[DocumentType]:
    await require(ctx, actor, Scope.DOCUMENTS_READ, target_type="document_type")
    catalog = await load_catalog(ctx, actor)
    return [t for t in catalog if category is None or t.category == category]


async def get_type(ctx: AppContext, actor: Actor, name: str) -> DocumentType:
    await require(ctx, actor, Scope.DOCUMENTS_READ, target_type="document_type")
    doc_type = (await load_catalog(ctx, actor)).resolve(name)
    if doc_type is None:
        raise NotFound(f"no document type {name!r}", code="document_type_not_found")
    return doc_type


def slug(label: str) -> str:
    """``"Financial Statement"`` → ``"financial_statement"``."""
    return re.sub(r"[^a-z0-9]+", "_", label.casefold()).strip("_")[:64]


async def create_type(
    ctx: AppContext,
    actor: Actor,
    *,
    label: str,
    name: str | None = None,
    category: Category = Category.OTHER,
    roles: Sequence[FileRole] = (),
) -> DocumentType:
    """A custom document type of the tenant's catalog (``admin``)."""
    await require(ctx, actor, Scope.ADMIN, target_type="document_type")
    return await _create_type(ctx, actor, label, name, category, roles)


async def _create_type(
    ctx: AppContext,
    actor: Actor,
    label: str,
    name: str | None,
    category: Category = Category.OTHER,
    roles: Sequence[FileRole] = (),
) -> DocumentType:
    clean_label = clean_text(label, field_name="label", max_length=200)
    if clean_label is None:
        raise InvalidInput.field("label", "required", "a document type needs a label")
    type_name = name if name is not None else slug(clean_label)
    if not _NAME.match(type_name):
        raise InvalidInput.field(
            "name", "invalid_name", "1-64 characters: lower-case letters, digits, _ and -"
        )
    doc_type = DocumentType(
        name=type_name,
        label=clean_label,
        category=category,
        roles=tuple(dict.fromkeys(roles)),
        aliases=MappingProxyType({}),
        builtin=False,
    )
    taken = Conflict("a document type with that name or label exists", code="document_type_exists")
    try:
        async with ctx.store.write() as uow:
            await uow.tenants.lock(actor.tenant_id)  # labels are unique without an index
            catalog = await tenant_catalog(ctx, uow, actor)
            if catalog.resolve(type_name) is not None or catalog.by_label(clean_label) is not None:
                raise taken
            await uow.document_types.add(actor.tenant_id, doc_type, ctx.clock(), actor.key_id)
            await audit.record(
                ctx,
                uow,
                actor,
                "document_type.created",
                target_type="document_type",
                target_id=None,
                name=type_name,
            )
    except Conflict as exc:
        # Two concurrent creates both pass the check; the unique index stops the second.
        if exc.code == "conflict":
            raise taken from None
        raise
    ctx.catalogs.changed()  # committed: every process reads the tenant's types again
    return doc_type


def named_by_label(catalog: Catalog, label: str) -> DocumentType | None:
    """The type a free label names: by label first, then by name or any dialect's alias."""
    return catalog.by_label(label) or catalog.resolve(label.strip())


async def find_type_for_label(ctx: AppContext, actor: Actor, label: str) -> DocumentType | None:
    return named_by_label(await load_catalog(ctx, actor), label)


_NAME_ATTEMPTS = 3


def _free_name(catalog: Catalog, label: str) -> str:
    """A custom type name for ``label`` that nothing in ``catalog`` uses (slug, slug_2, …)."""
    base = slug(label)[:56].strip("_") or "type"
    name, suffix = base, 1
    while catalog.resolve(name) is not None:
        suffix += 1
        name = f"{base}_{suffix}"
    return name


async def type_for_label(
    ctx: AppContext, actor: Actor, label: str, *, field: str = "label"
) -> DocumentType:
    """The type a free label names (see ``named_by_label``), created as a tenant type when
    none does (KYC Genie clients label documents freely: "Financial Statement", "Board
    Minutes"). A step of writing a document: ``documents:write``."""
    await require(ctx, actor, Scope.DOCUMENTS_WRITE, target_type="document_type")
    clean = clean_text(label, field_name=field, max_length=200)
    if clean is None:
        raise InvalidInput.field(field, "required", "a document type label is required")
    for _ in range(_NAME_ATTEMPTS):
        catalog = await load_catalog(ctx, actor)
        existing = named_by_label(catalog, clean)
        if existing is not None:
            return existing
        try:
            return await _create_type(ctx, actor, clean, _free_name(catalog, clean))
        except Conflict:
            # A concurrent request made this label's type, or took the name: look again.
            continue
    existing = await find_type_for_label(ctx, actor, clean)
    if existing is None:
        raise Conflict("the document type could not be created; retry", code="conflict")
    return existing
