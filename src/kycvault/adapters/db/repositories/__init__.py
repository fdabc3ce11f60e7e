"""Repositories over SQLAlchemy Core: rows in, domain entities out. Every query on tenant data
filters by ``tenant_id``."""

from kycvault.adapters.db.repositories.audit import SqlAudit
from kycvault.adapters.db.repositories.auth_failures import SqlAuthFailures
from kycvault.adapters.db.repositories.console import SqlConsoleSessions, SqlConsoleUsers
from kycvault.adapters.db.repositories.document_types import SqlDocumentTypes
from kycvault.adapters.db.repositories.documents import SqlDocuments
from kycvault.adapters.db.repositories.events import SqlEvents
from kycvault.adapters.db.repositories.expiry import SqlExpiryNotifications
from kycvault.adapters.db.repositories.files import SqlFiles
from kycvault.adapters.db.repositories.idempotency import SqlIdempotency
from kycvault.adapters.db.repositories.integrity import SqlIntegrity
from kycvault.adapters.db.repositories.jobs import SqlJobs
from kycvault.adapters.db.repositories.legal_holds import SqlLegalHolds
from kycvault.adapters.db.repositories.links import SqlDownloadLinks
from kycvault.adapters.db.repositories.responses import SqlResponses
from kycvault.adapters.db.repositories.retention import SqlRetention
from kycvault.adapters.db.repositories.signature_uses import SqlSignatureUses
from kycvault.adapters.db.repositories.subjects import SqlSubjects
from kycvault.adapters.db.repositories.tenants import SqlApiKeys, SqlTenants
from kycvault.adapters.db.repositories.webhooks import SqlWebhooks

__all__ = [
    "SqlApiKeys",
    "SqlAudit",
    "SqlAuthFailures",
    "SqlConsoleSessions",
    "SqlConsoleUsers",
    "SqlDocumentTypes",
    "SqlDocuments",
    "SqlDownloadLinks",
    "SqlEvents",
    "SqlExpiryNotifications",
    "SqlFiles",
    "SqlIdempotency",
    "SqlIntegrity",
    "SqlJobs",
    "SqlLegalHolds",
    "SqlResponses",
    "SqlRetention",
    "SqlSignatureUses",
    "SqlSubjects",
    "SqlTenants",
    "SqlWebhooks",
]
