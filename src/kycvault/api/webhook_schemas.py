"""The bodies of /v1/webhook-endpoints (the rules are in ``services/webhooks.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field, StrictBool
from pydantic.config import JsonDict

from kycvault.api.schemas import _Input, not_null
from kycvault.ports.persistence.webhooks import Attempt, Endpoint

# At least one event type (the service says so with its own code, ``invalid_events``).
_EVENTS: JsonDict = {"minItems": 1, "maxItems": 50}


class WebhookEndpointCreate(_Input):
    url: str = Field(max_length=2048)
    events: list[str] = Field(max_length=50, json_schema_extra=_EVENTS)
    description: str | None = Field(default=None, max_length=500)


class WebhookEndpointPatch(_Input):
    """Null takes the description away; the other fields refuse it, so their schemas do
    not offer it."""

    url: Annotated[
        str | None, Field(max_length=2048), not_null({"type": "string", "maxLength": 2048})
    ] = None
    events: Annotated[
        list[str] | None,
        Field(max_length=50),
        not_null({"type": "array", "items": {"type": "string"}, **_EVENTS}),
    ] = None
    description: str | None = Field(default=None, max_length=500)
    enabled: Annotated[StrictBool | None, not_null({"type": "boolean"})] = None


class WebhookEndpointOut(BaseModel):
    id: UUID
    url: str
    events: list[str]
    description: str | None
    enabled: bool
    disabled_reason: str | None
    # "standard", or "argyle" for an Argyle subscription (its Argyle events in
    # ``vendor_events``, the vault events they are views of in ``events``).
    format: str
    vendor_events: list[str] | None
    created_at: datetime
    updated_at: datetime
    # Only when made or rotated: it cannot be shown again.
    secret: str | None = Field(default=None)

    @classmethod
    def of(cls, endpoint: Endpoint, secret: str | None = None) -> WebhookEndpointOut:
        return cls(
            id=endpoint.id,
            url=endpoint.url,
            events=list(endpoint.events),
            description=endpoint.description,
            enabled=endpoint.enabled,
            disabled_reason=endpoint.disabled_reason,
            format=endpoint.format,
            vendor_events=endpoint.vendor_events,
            created_at=endpoint.created_at,
            updated_at=endpoint.updated_at,
            secret=secret,
        )


class WebhookEndpointList(BaseModel):
    data: list[WebhookEndpointOut]


class WebhookAttemptOut(BaseModel):
    id: UUID
    event_id: UUID
    attempted_at: datetime
    status: str
    response_code: int | None
    duration_ms: int
    error: str | None
    next_retry_at: datetime | None

    @classmethod
    def of(cls, attempt: Attempt) -> WebhookAttemptOut:
        return cls.model_validate(attempt, from_attributes=True)


class RedeliveryOut(BaseModel):
    event_id: UUID
    endpoint_ids: list[UUID]
