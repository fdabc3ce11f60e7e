"""Single-use download links: hand a file to someone without an API key, once.

A link's token is 256 random bits (``dl_`` + base64url), stored only as its SHA-256, bound
to one tenant and one file, and valid for ``Limits.download_link_ttl``. Redeeming it marks
it used in one conditional UPDATE, so of any number of concurrent redemptions exactly one
gets the file; later ones, and any after expiry, get 410. The token is consumed when the
download starts: a connection that drops mid-file needs a new link. ``HEAD`` (link
previewers, scanners) does not consume it.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from uuid import UUID

from kycvault.domain.models import Document, StoredFile
from kycvault.domain.scopes import Scope
from kycvault.errors import Gone, NotFound
from kycvault.ports.persistence.records import DownloadLink
from kycvault.ports.persistence.store import UnitOfWork
from kycvault.services import audit, events
from kycvault.services.context import Actor, AppContext
from kycvault.services.files import FileContent, find_file, open_stored

TOKEN_PREFIX = "dl_"  # noqa: S105 (a marker, not a secret)


@dataclass(frozen=True, slots=True)
class IssuedLink:
    token: str
    link: DownloadLink
    file: StoredFile


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _not_found() -> NotFound:
    return NotFound("no such download link", code="link_not_found")


def _well_formed(token: str) -> bool:
    return token.startswith(TOKEN_PREFIX) and 20 < len(token) <= 100


async def create_link(
    ctx: AppContext, actor: Actor, document_id: UUID, file_id: UUID
) -> IssuedLink:
    """A single-use link to the file (``documents:download``)."""
    subject_id, stored = await find_file(
        ctx, actor, document_id, file_id, scope=Scope.DOCUMENTS_DOWNLOAD
    )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = ctx.clock()
    link = DownloadLink(
        id=uuid.uuid4(),
        tenant_id=actor.tenant_id,
        token_hash=_hash(token),
        document_id=document_id,
        file_id=file_id,
        created_at=now,
        expires_at=now + ctx.limits.download_link_ttl,
        created_by=actor.key_id,
    )
    async with ctx.store.write() as uow:
        await uow.download_links.add(link)
        await audit.record(
            ctx,
            uow,
            actor,
            "file.link_created",
            target_type="file",
            target_id=file_id,
            document_id=document_id,
            subject_id=subject_id,
            link_id=str(link.id),
        )
    return IssuedLink(token, link, stored)


async def _linked_file(uow: UnitOfWork, link: DownloadLink) -> tuple[Document, StoredFile]:
    doc = await uow.documents.get(link.tenant_id, link.document_id)
    stored = next((f for f in doc.files if f.id == link.file_id), None) if doc else None
    if doc is None or stored is None:
        raise NotFound("the linked file no longer exists", code="file_not_found")
    return doc, stored


async def _refuse(uow: UnitOfWork, token_hash: bytes, ctx: AppContext) -> None:
    link = await uow.download_links.find(token_hash)
    if link is None:
        raise _not_found()
    if link.used_at is not None:
        raise Gone("this download link was already used", code="link_used")
    if link.expires_at <= ctx.clock():
        raise Gone("this download link has expired", code="link_expired")


async def redeem(ctx: AppContext, token: str, *, request_id: str | None = None) -> FileContent:
    """Consume the link and open its file."""
    if not _well_formed(token):
        raise _not_found()
    token_hash = _hash(token)
    async with ctx.store.write() as uow:
        link = await uow.download_links.consume(token_hash, ctx.clock())
        if link is None:
            await _refuse(uow, token_hash, ctx)
            raise _not_found()
        doc, stored = await _linked_file(uow, link)
        actor = Actor(tenant_id=link.tenant_id, key_id=f"link:{link.id.hex}", request_id=request_id)
        await audit.record(
            ctx,
            uow,
            actor,
            "file.read_by_link",
            target_type="file",
            target_id=link.file_id,
            document_id=link.document_id,
            subject_id=doc.subject_id,
        )
        # The link's own id is never shown to clients: the file it served names it.
        data = {"document_id": link.document_id, "file_id": link.file_id}
        await events.record(ctx, uow, actor, events.LINK_REDEEMED, data)
    return await open_stored(ctx, stored)


async def peek(ctx: AppContext, token: str) -> StoredFile:
    """The file behind a usable link, without consuming it (for HEAD)."""
    if not _well_formed(token):
        raise _not_found()
    token_hash = _hash(token)
    async with ctx.store.read() as uow:
        await _refuse(uow, token_hash, ctx)
        link = await uow.download_links.find(token_hash)
        assert link is not None
        return (await _linked_file(uow, link))[1]
