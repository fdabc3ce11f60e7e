"""The API's resources, each in a blocking and an asyncio flavour over the same calls."""

from kycvault.client.resources.audit import AsyncAudit, Audit
from kycvault.client.resources.documents import AsyncDocuments, Documents
from kycvault.client.resources.events import AsyncEvents, Events
from kycvault.client.resources.files import AsyncFiles, Files
from kycvault.client.resources.links import AsyncLinks, Links
from kycvault.client.resources.subjects import AsyncSubjects, Subjects
from kycvault.client.resources.webhooks import AsyncWebhooks, Webhooks

__all__ = [
    "AsyncAudit",
    "AsyncDocuments",
    "AsyncEvents",
    "AsyncFiles",
    "AsyncLinks",
    "AsyncSubjects",
    "AsyncWebhooks",
    "Audit",
    "Documents",
    "Events",
    "Files",
    "Links",
    "Subjects",
    "Webhooks",
]
