"""What the API answers, as typed objects. Fields the server adds later are ignored, so an
older client keeps working against a newer server."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Subject(Model):
    id: UUID
    number: int
    type: str
    external_id: str | None
    display_name: str | None
    parent_id: UUID | None
    metadata: dict[str, Any]
    crypto_address: str | None
    birth_date: date | None = None
    created_at: datetime
    updated_at: datetime
    created_by: str | None
    updated_by: str | None


class File(Model):
    id: UUID
    document_id: UUID
    role: str | None
    filename: str | None
    content_type: str
    size: int
    sha256: str
    created_at: datetime
    created_by: str | None


class Signal(Model):
    code: str
    weight: int
    outcome: str
    fired: bool
    detail: str
    severity: str = "medium"
    message: str | None = None


class Review(Model):
    status: str
    reason_code: str | None
    reason: str | None
    by: str | None
    at: datetime | None


class Document(Model):
    id: UUID
    number: int
    subject_id: UUID | None
    type: str
    name: str | None
    id_number: str | None
    issuing_country: str | None
    issue_date: date | None
    expiry_date: date | None
    authenticity: str | None
    notify_before_expiry: bool
    classification: str
    metadata: dict[str, Any]
    files: list[File]
    processing: dict[str, str]
    processing_reasons: dict[str, str]
    extracted: dict[str, Any]
    authenticity_score: int | None
    authenticity_status: str | None = None
    authenticity_reason: str | None = None
    authenticity_signals: list[Signal]
    review: Review
    created_at: datetime
    created_by: str | None
    updated_at: datetime
    updated_by: str | None


class DocumentText(Model):
    document_id: UUID
    text: str
    characters: int


class DownloadLink(Model):
    download_url: str
    expires_at: datetime
    filename: str
    content_type: str
    size: int


class Event(Model):
    id: UUID
    type: str
    created_at: datetime
    tenant_id: UUID
    sequence: int
    data: dict[str, Any]


class AuditEvent(Model):
    id: UUID
    seq: int | None
    at: datetime
    actor: str | None
    action: str
    outcome: str
    target_type: str | None
    target_id: UUID | None
    subject_id: UUID | None
    document_id: UUID | None
    file_id: UUID | None
    client_address: str | None
    request_id: str | None
    details: dict[str, Any]


class WebhookEndpoint(Model):
    id: UUID
    url: str
    events: list[str]
    description: str | None
    enabled: bool
    disabled_reason: str | None
    format: str
    vendor_events: list[str] | None
    created_at: datetime
    updated_at: datetime
    # Only in the answer that made or rotated it: it is never shown again.
    secret: str | None = None


class WebhookAttempt(Model):
    id: UUID
    event_id: UUID
    attempted_at: datetime
    status: str
    response_code: int | None
    duration_ms: int
    error: str | None
    next_retry_at: datetime | None


class Redelivery(Model):
    event_id: UUID
    endpoint_ids: list[UUID]


class Page(Model, Generic[T]):
    """One page of a cursor-paged list."""

    data: list[T]
    next_cursor: str | None
    prev_cursor: str | None
    has_more: bool


class Listed(Model, Generic[T]):
    """A list the API answers whole (``{"data": [...]}``)."""

    data: list[T]
