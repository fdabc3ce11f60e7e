"""``SqlUnitOfWork``: the ``UnitOfWork`` port on one database connection, its repositories
made awaitable.

The repositories are synchronous classes (SQLAlchemy Core on a sync connection): each method
call runs on the connection's own thread through ``Connection.run_sync``, so one call costs
one thread hop however many statements it makes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from kycvault.adapters.db.connection import Connection
from kycvault.adapters.db.field_codec import FieldCodec
from kycvault.adapters.db.repositories import (
    SqlApiKeys,
    SqlAudit,
    SqlAuthFailures,
    SqlConsoleSessions,
    SqlConsoleUsers,
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
from kycvault.ports.persistence.console import ConsoleSessionRepository, ConsoleUserRepository
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
R = TypeVar("R")


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


class _Repository(Generic[R]):
    """A repository of the unit, made when the unit first uses it and then kept in the unit's
    ``__dict__``, where later look-ups find it first. A unit uses one or two of its nineteen
    repositories, and a request opens several units: making all nineteen took 46 µs a unit,
    one 1.2 µs (timeit, on a busy 2-core machine)."""

    def __init__(self, repository: type[Any]) -> None:
        self._repository = repository
        self._name = ""

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self._name = name

    def __get__(self, unit: SqlUnitOfWork, owner: type[Any] | None = None) -> R:
        made: R = _Async(unit.connection, self._repository, unit.fields)  # type: ignore[assignment]
        unit.__dict__[self._name] = made
        return made


class SqlUnitOfWork:
    """The ``UnitOfWork`` on one connection; each repository is typed as its protocol."""

    tenants = _Repository[TenantRepository](SqlTenants)
    api_keys = _Repository[ApiKeyRepository](SqlApiKeys)
    subjects = _Repository[SubjectRepository](SqlSubjects)
    documents = _Repository[DocumentRepository](SqlDocuments)
    files = _Repository[FileRepository](SqlFiles)
    document_types = _Repository[DocumentTypeRepository](SqlDocumentTypes)
    download_links = _Repository[DownloadLinkRepository](SqlDownloadLinks)
    idempotency = _Repository[IdempotencyRepository](SqlIdempotency)
    audit = _Repository[AuditRepository](SqlAudit)
    events = _Repository[EventRepository](SqlEvents)
    expiry_notifications = _Repository[ExpiryNotificationRepository](SqlExpiryNotifications)
    jobs = _Repository[JobRepository](SqlJobs)
    responses = _Repository[ResponseRepository](SqlResponses)
    integrity = _Repository[IntegrityRepository](SqlIntegrity)
    signature_uses = _Repository[SignatureUseRepository](SqlSignatureUses)
    auth_failures = _Repository[AuthFailureRepository](SqlAuthFailures)
    webhooks = _Repository[WebhookRepository](SqlWebhooks)
    legal_holds = _Repository[LegalHoldRepository](SqlLegalHolds)
    retention = _Repository[RetentionRepository](SqlRetention)
    master_wraps = _Repository[MasterWrapRepository](SqlMasterWraps)
    console_users = _Repository[ConsoleUserRepository](SqlConsoleUsers)
    console_sessions = _Repository[ConsoleSessionRepository](SqlConsoleSessions)

    def __init__(self, conn: Connection, fields: FieldCodec | None = None) -> None:
        self.connection = conn
        self.fields = fields
        self.commit_hooks: list[Hook] = []
        self.rollback_hooks: list[Hook] = []

    def on_commit(self, hook: Hook) -> None:
        self.commit_hooks.append(hook)

    def on_rollback(self, hook: Hook) -> None:
        self.rollback_hooks.append(hook)
