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
from kycvault.adapters.db.field_codec import FieldCodec
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
from kycvault.ports.persistence.events import EventRepository
from kycvault.ports.persistence.expiry import ExpiryNotificationRepository
from kycvault.ports.persistence.holds import LegalHoldRepository
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

    def __init__(self, conn: Connection, repository: type[Any], fields: FieldCodec | None) -> None:
        self._conn = conn
        self.repository = repository
        self._fields = fields

    def __getattr__(self, name: str) -> Callable[..., Coroutine[Any, Any, Any]]:
        repository = self.repository
        method = getattr(repository, name)
        deferred = getattr(method, "deferrable", False)
        order = getattr(method, "at_unit_end", None)

        def work(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Callable[[sa.Connection], Any]:
            fields = self._fields
            return lambda conn: getattr(repository(conn, fields), name)(*args, **kwargs)

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

    def __init__(self, conn: Connection, fields: FieldCodec | None = None) -> None:
        self.connection = conn
        self.commit_hooks: list[Hook] = []
        self.rollback_hooks: list[Hook] = []
        self.tenants: TenantRepository = _Async(conn, SqlTenants, fields)
        self.api_keys: ApiKeyRepository = _Async(conn, SqlApiKeys, fields)
        self.subjects: SubjectRepository = _Async(conn, SqlSubjects, fields)
        self.documents: DocumentRepository = _Async(conn, SqlDocuments, fields)
        self.files: FileRepository = _Async(conn, SqlFiles, fields)
        self.document_types: DocumentTypeRepository = _Async(conn, SqlDocumentTypes, fields)
        self.download_links: DownloadLinkRepository = _Async(conn, SqlDownloadLinks, fields)
        self.idempotency: IdempotencyRepository = _Async(conn, SqlIdempotency, fields)
        self.audit: AuditRepository = _Async(conn, SqlAudit, fields)
        self.events: EventRepository = _Async(conn, SqlEvents, fields)
        self.expiry_notifications: ExpiryNotificationRepository = _Async(
            conn, SqlExpiryNotifications, fields
        )
        self.jobs: JobRepository = _Async(conn, SqlJobs, fields)
        self.responses: ResponseRepository = _Async(conn, SqlResponses, fields)
        self.integrity: IntegrityRepository = _Async(conn, SqlIntegrity, fields)
        self.signature_uses: SignatureUseRepository = _Async(conn, SqlSignatureUses, fields)
        self.auth_failures: AuthFailureRepository = _Async(conn, SqlAuthFailures, fields)
        self.webhooks: WebhookRepository = _Async(conn, SqlWebhooks, fields)
        self.legal_holds: LegalHoldRepository = _Async(conn, SqlLegalHolds, fields)
        self.retention: RetentionRepository = _Async(conn, SqlRetention, fields)

    def on_commit(self, hook: Hook) -> None:
        self.commit_hooks.append(hook)

    def on_rollback(self, hook: Hook) -> None:
        self.rollback_hooks.append(hook)
