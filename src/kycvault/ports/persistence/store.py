"""The persistence port: a store that opens units of work, which group the repositories.

``Store.read()`` and ``Store.write()`` open a unit of work; a write unit commits when its
block ends normally and rolls back when it raises.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, Protocol, TypeVar

from kycvault.ports.persistence.console import ConsoleSessionRepository, ConsoleUserRepository
from kycvault.ports.persistence.events import EventRepository
from kycvault.ports.persistence.expiry import ExpiryNotificationRepository
from kycvault.ports.persistence.holds import LegalHoldRepository
from kycvault.ports.persistence.master_wraps import MasterWrapRepository, VaultKeyRecord
from kycvault.ports.persistence.records import AuditEvent
from kycvault.ports.persistence.repositories import (
    ApiKeyRepository,
    AuditRepository,
    AuthFailureRepository,
    DocumentRepository,
    DocumentTypeRepository,
    DownloadLinkRepository,
    FileRepository,
    IdempotencyRepository,
    IntegrityRepository,
    JobRepository,
    ResponseRepository,
    SignatureUseRepository,
    SubjectRepository,
    TenantRepository,
)
from kycvault.ports.persistence.retention import RetentionRepository
from kycvault.ports.persistence.webhooks import WebhookRepository

Found = TypeVar("Found")


class UnitOfWork(Protocol):
    def on_commit(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run ``hook`` once this unit's change is certainly committed (after the commit)."""
        ...

    def on_rollback(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run ``hook`` once this unit's change certainly will not commit. When a commit's
        outcome is unknown (``CommitUncertain``) neither kind of hook runs."""
        ...

    @property
    def tenants(self) -> TenantRepository: ...
    @property
    def api_keys(self) -> ApiKeyRepository: ...
    @property
    def subjects(self) -> SubjectRepository: ...
    @property
    def documents(self) -> DocumentRepository: ...
    @property
    def files(self) -> FileRepository: ...
    @property
    def document_types(self) -> DocumentTypeRepository: ...
    @property
    def download_links(self) -> DownloadLinkRepository: ...
    @property
    def idempotency(self) -> IdempotencyRepository: ...
    @property
    def signature_uses(self) -> SignatureUseRepository: ...
    @property
    def jobs(self) -> JobRepository: ...
    @property
    def responses(self) -> ResponseRepository: ...
    @property
    def audit(self) -> AuditRepository: ...
    @property
    def events(self) -> EventRepository: ...
    @property
    def expiry_notifications(self) -> ExpiryNotificationRepository: ...
    @property
    def integrity(self) -> IntegrityRepository: ...
    @property
    def auth_failures(self) -> AuthFailureRepository: ...
    @property
    def webhooks(self) -> WebhookRepository: ...
    @property
    def legal_holds(self) -> LegalHoldRepository: ...
    @property
    def retention(self) -> RetentionRepository: ...
    @property
    def master_wraps(self) -> MasterWrapRepository: ...
    @property
    def console_users(self) -> ConsoleUserRepository: ...
    @property
    def console_sessions(self) -> ConsoleSessionRepository: ...


class Store(Protocol):
    """Opens units of work. Writes may be serialised (SQLite has one writer)."""

    def read(self) -> AbstractAsyncContextManager[UnitOfWork]: ...

    def write(
        self, *, on_rollback: Callable[[], Awaitable[None]] | None = None
    ) -> AbstractAsyncContextManager[UnitOfWork]:
        """A write unit; ``on_rollback`` as ``UnitOfWork.on_rollback``, also when the unit
        cannot even begin."""
        ...

    def atomic(self) -> AbstractAsyncContextManager[None]:
        """Every write unit opened inside the block (by this task) belongs to one
        transaction that commits when the block ends, or rolls back if it raises; units
        after the first run in savepoints, and read units see the block's writes."""
        ...

    async def append_audit(self, event: AuditEvent, key: bytes) -> None:
        """Append ``event``, the record of something that changed nothing (a read, a
        refusal), to its tenant's audit chain (``key``: the chains' MAC key) and return once
        it is committed; raise, as a write unit would, if it is not. Concurrent calls may
        share one transaction; inside an ``atomic`` block it joins the block's."""
        ...

    async def audited_read(
        self,
        lookup: Callable[[UnitOfWork], Awaitable[Found]],
        record: Callable[[Found], AuditEvent | None],
        key: bytes,
    ) -> Found:
        """Run ``lookup`` (a few point reads) and append ``record`` of what it found (None:
        nothing to record) to its tenant's audit chain in one write transaction, shared with
        the concurrent reads'; return what it found once committed. An error ``lookup``
        raises (nothing found) fails this read alone, with nothing recorded; a database error
        fails the whole batch. A read then costs one transaction, not a read transaction and
        then a write one."""
        ...

    async def ping(self) -> None:
        """Raise ``Unavailable`` unless the database answers."""
        ...

    async def optimize(self) -> None:
        """Refresh the planner's statistics where the database does not do it itself."""
        ...

    async def export_rows(self, directory: Path) -> dict[str, dict[str, Any]]:
        """Every row into ``directory``, from one consistent snapshot; per table its row
        count and a SHA-256."""
        ...

    async def import_rows(self, directory: Path, summary: dict[str, dict[str, Any]]) -> None:
        """Every exported row into this vault, which must be empty (``Conflict`` if not)."""
        ...

    def exported_blob_keys(self, directory: Path) -> Iterator[str]: ...

    def exported_vault_keys(self, directory: Path) -> list[VaultKeyRecord]:
        """The vault's own keys in an export (its root secret, wrapped by the master key)."""
        ...
