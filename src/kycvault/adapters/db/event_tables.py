"""Tables of the event log and what hangs off it: events and their per-tenant sequence,
expiry notification marks, webhook endpoints, subscriptions, the delivery queue and its
attempts. Registered on the one ``metadata`` of ``tables.py``."""

from __future__ import annotations

import sqlalchemy as sa

from kycvault.adapters.db.columns import UtcDateTime, metadata, tenant_fk

# The event log (kycvault.ports.persistence.events). No foreign keys: an event outlives what
# it reports (a deleted document's events stay until retention removes them).
events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    # Per tenant, in commit order (see event_sequences); the listing's key.
    sa.Column("sequence", sa.BigInteger, nullable=False),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("subject_id", sa.Uuid, nullable=True),
    sa.Column("document_id", sa.Uuid, nullable=True),
    sa.Column("data", sa.JSON, nullable=False),
    # The subject's external_id of a snapshot in ``data``, sealed (adapters/db/sealed_fields.py).
    sa.Column("external_id_sealed", sa.LargeBinary, nullable=True),
    sa.UniqueConstraint("tenant_id", "sequence"),
    sa.Index(None, "tenant_id", "type", "sequence"),
    sa.Index(None, "tenant_id", "subject_id", "sequence"),
    sa.Index(None, "tenant_id", "document_id", "sequence"),
    sa.Index(None, "created_at"),
)

# Each tenant's last event sequence: the row is locked from the moment a transaction numbers
# its events until it commits, so sequences are given in commit order.
event_sequences = sa.Table(
    "event_sequences",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("last", sa.BigInteger, nullable=False),
)

# Expiry notifications given (kycvault.ports.persistence.expiry): one mark per document,
# expiry date and threshold, unique, taken in the transaction that records the event. No
# foreign key: the scan removes marks once their expiry date is past its lookback, whether
# the document still exists or not.
expiry_notifications = sa.Table(
    "expiry_notifications",
    metadata,
    sa.Column("document_id", sa.Uuid, primary_key=True),
    sa.Column("expiry_date", sa.Date, primary_key=True),
    # Days before the expiry date; 0 is the expiry day (document.expired).
    sa.Column("threshold", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("notified_at", UtcDateTime, nullable=False),
    # Whether an event was recorded; false for a threshold marked done silently (a nearer
    # one was told).
    sa.Column("told", sa.Boolean, nullable=False),
    sa.Index(None, "expiry_date"),
)


# Webhook endpoints (kycvault.ports.persistence.webhooks). Secrets are sealed records.
webhook_endpoints = sa.Table(
    "webhook_endpoints",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    tenant_fk(),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("events", sa.JSON, nullable=False),
    sa.Column("description", sa.String(500), nullable=True),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("disabled_reason", sa.String(200), nullable=True),
    sa.Column("secret", sa.LargeBinary, nullable=False),
    sa.Column("previous_secret", sa.LargeBinary, nullable=True),
    sa.Column("previous_secret_until", UtcDateTime, nullable=True),
    sa.Column("failing_since", UtcDateTime, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    # The message shape ("standard", or a vendor's such as "argyle"), the subscription's name
    # and the vendor's event names (``events`` holds the vault types they are views of).
    sa.Column("format", sa.String(20), nullable=False, server_default="standard"),
    sa.Column("name", sa.String(200), nullable=True),
    sa.Column("vendor_events", sa.JSON, nullable=True),
    sa.Index(None, "tenant_id", "created_at"),
)

# One row per (endpoint, event type or "*"): an event's deliveries are made by one
# INSERT … SELECT in its own transaction, with no round trip of their own.
webhook_subscriptions = sa.Table(
    "webhook_subscriptions",
    metadata,
    sa.Column("endpoint_id", sa.Uuid, primary_key=True),
    sa.Column("event_type", sa.String(40), primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Index(None, "tenant_id", "event_type"),
)

# The delivery queue: one row per (event, endpoint), claimed with a lease like ``jobs``.
# ``sequence`` is the event's, for the per-endpoint order.
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("event_id", sa.Uuid, primary_key=True),
    sa.Column("endpoint_id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("sequence", sa.BigInteger, nullable=False),
    # pending, delivered, failed (the schedule is spent), cancelled (endpoint disabled)
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UtcDateTime, nullable=False),
    sa.Column("lease_until", UtcDateTime, nullable=True),
    sa.Column("locked_by", sa.String(80), nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Index(None, "state", "next_attempt_at"),
    sa.Index(None, "endpoint_id", "state", "sequence"),
)

# Every attempt of a delivery, for GET /v1/webhook-endpoints/{id}/deliveries.
webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("endpoint_id", sa.Uuid, nullable=False),
    sa.Column("event_id", sa.Uuid, nullable=False),
    sa.Column("attempted_at", UtcDateTime, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("response_code", sa.Integer, nullable=True),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Column("error", sa.String(300), nullable=True),
    sa.Column("next_retry_at", UtcDateTime, nullable=True),
    sa.Index(None, "tenant_id", "endpoint_id", "attempted_at", "id"),
    sa.Index(None, "attempted_at"),
)
