"""``SqlUnitOfWork``: the ``UnitOfWork`` port on one database connection, its repositories
made awaitable.

The repositories are synchronous classes (SQLAlchemy Core on a sync connection): each method
call runs on the connection's own thread through ``Connection.run_sync``, so one call costs
one thread hop however many statements it makes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import sqlalchemy as sa

from kycvault.adapters.db.connection import Connection
from kycvault.adapters.db.repositories import (
    SqlApiKeys,
    SqlAudit,
    SqlAuthFailures,
    SqlDocuments,
    SqlDocumentTypes,
    SqlDownloadLinks,
    SqlEvents,
    SqlExpiryNotifications,
    SqlFiles,
    SqlIdempotency,
    SqlIntegrity,
    SqlJobs,
    SqlLegalHolds,
    SqlResponses,
    SqlRetention,
    SqlSignatureUses,
    SqlSubjects,
    SqlTenants,
    SqlWebhooks,
)
from kycvault.adapters.db.repositories.master_wraps import SqlMasterWraps
from kycvault.ports.persistence.events import EventRepository
from kycvault.ports.persistence.expiry import ExpiryNotificationRepository
from kycvault.ports.persistence.holds import LegalHoldRepository
from kycvault.ports.persistence.master_wraps import MasterWrapRepository
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

Hook = Callable[[], Awaitable[None]]


class _Async:
    """A synchronous repository made awaitable: each method call runs as one unit on the
    connection (``Connection.run_sync``), however many statements it makes; a method marked
    ``@deferrable`` is queued and runs with the next call or the commit, one marked
    ``@at_unit_end`` when the unit ends.

    To mypy every attribute is a coroutine function, so an ``_Async`` fits any repository
    protocol: it cannot relate ``repository``'s synchronous methods to the protocol's
    coroutines. tests/unit/test_port_conformance.py does, method by method, for every
    repository of ``SqlUnitOfWork``."""

    def __init__(self, conn: Connection, repository: type[Any]) -> None:
        self._conn = conn
        self.repository = repository

    def __getattr__(self, name: str) -> Callable[..., Coroutine[Any, Any, Any]]:
        repository = self.repository
        method = getattr(repository, name)
        deferred = getattr(method, "deferrable", False)
        order = getattr(method, "at_unit_end", None)

        def work(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Callable[[sa.Connection], Any]:
            return lambda conn: getattr(repository(conn), name)(*args, **kwargs)

        async def call(*args: Any, **kwargs: Any) -> Any:
            if deferred:
                if order is None:
                    self._conn.defer(work(args, kwargs))
                else:
                    self._conn.defer(work(args, kwargs), last=True, order=order)
                return None
            return await self._conn.run_sync(work(args, kwargs))

        return call


class SqlUnitOfWork:
    """The ``UnitOfWork`` on one connection; each repository is typed as its protocol."""

    def __init__(self, conn: Connection) -> None:
        self.connection = conn
        self.commit_hooks: list[Hook] = []
        self.rollback_hooks: list[Hook] = []
        self.tenants: TenantRepository = _Async(conn, SqlTenants)
        self.api_keys: ApiKeyRepository = _Async(conn, SqlApiKeys)
        self.subjects: SubjectRepository = _Async(conn, SqlSubjects)
        self.documents: DocumentRepository = _Async(conn, SqlDocuments)
        self.files: FileRepository = _Async(conn, SqlFiles)
        self.document_types: DocumentTypeRepository = _Async(conn, SqlDocumentTypes)
        self.download_links: DownloadLinkRepository = _Async(conn, SqlDownloadLinks)
        self.idempotency: IdempotencyRepository = _Async(conn, SqlIdempotency)
        self.audit: AuditRepository = _Async(conn, SqlAudit)
        self.events: EventRepository = _Async(conn, SqlEvents)
        self.expiry_notifications: ExpiryNotificationRepository = _Async(
            conn, SqlExpiryNotifications
        )
        self.jobs: JobRepository = _Async(conn, SqlJobs)
        self.responses: ResponseRepository = _Async(conn, SqlResponses)
        self.integrity: IntegrityRepository = _Async(conn, SqlIntegrity)
        self.signature_uses: SignatureUseRepository = _Async(conn, SqlSignatureUses)
        self.auth_failures: AuthFailureRepository = _Async(conn, SqlAuthFailures)
        self.webhooks: WebhookRepository = _Async(conn, SqlWebhooks)
        self.legal_holds: LegalHoldRepository = _Async(conn, SqlLegalHolds)
        self.retention: RetentionRepository = _Async(conn, SqlRetention)
        self.master_wraps: MasterWrapRepository = _Async(conn, SqlMasterWraps)

    def on_commit(self, hook: Hook) -> None:
        self.commit_hooks.append(hook)

    def on_rollback(self, hook: Hook) -> None:
        self.rollback_hooks.append(hook)
