"""A Python client of the kycvault API.

    from kycvault.client import Client

    with Client("https://vault.example", api_key="kvk_….…") as vault:
        doc = vault.documents.create(type="passport", files=["scan.pdf"])
        for doc in vault.documents.list(type="passport"):
            ...

It imports nothing of the server: it needs only ``httpx2`` and ``pydantic``.
"""

from kycvault.client._client import AsyncClient, Client
from kycvault.client._http import RetryPolicy
from kycvault.client.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ConflictError,
    FieldError,
    GoneError,
    KycVaultError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RangeNotSatisfiableError,
    RateLimitError,
    ServerError,
    ServiceUnavailableError,
    UnsupportedMediaTypeError,
    ValidationError,
)
from kycvault.client.models import (
    AuditEvent,
    Document,
    DocumentText,
    DownloadLink,
    Event,
    File,
    Page,
    Redelivery,
    Review,
    Subject,
    WebhookAttempt,
    WebhookEndpoint,
)
from kycvault.client.pagination import AsyncPaginator, Paginator
from kycvault.client.uploads import Upload
from kycvault.client.webhook_signatures import WebhookVerificationError, verify_webhook

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AsyncPaginator",
    "AuditEvent",
    "AuthenticationError",
    "Client",
    "ConflictError",
    "Document",
    "DocumentText",
    "DownloadLink",
    "Event",
    "FieldError",
    "File",
    "GoneError",
    "KycVaultError",
    "NotFoundError",
    "Page",
    "Paginator",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RangeNotSatisfiableError",
    "RateLimitError",
    "Redelivery",
    "RetryPolicy",
    "Review",
    "ServerError",
    "ServiceUnavailableError",
    "Subject",
    "UnsupportedMediaTypeError",
    "Upload",
    "ValidationError",
    "WebhookAttempt",
    "WebhookEndpoint",
    "WebhookVerificationError",
    "verify_webhook",
]
