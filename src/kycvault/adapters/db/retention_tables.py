"""The retention tables. Registered on the one ``metadata`` of ``tables.py``."""

from __future__ import annotations

import sqlalchemy as sa

from kycvault.adapters.db.columns import UtcDateTime, metadata, tenant_fk

retention_rules = sa.Table(
    "retention_rules",
    metadata,
    tenant_fk(),
    sa.Column("document_type", sa.String(64), nullable=False),
    sa.Column("basis", sa.String(20), nullable=False),
    sa.Column("period", sa.String(20), nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("updated_by", sa.String(40), nullable=True),
    sa.PrimaryKeyConstraint("tenant_id", "document_type"),
)

# A receipt outlives its document (no foreign key to it): the proof of what was deleted.
deletion_receipts = sa.Table(
    "deletion_receipts",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    tenant_fk(),
    sa.Column("document_id", sa.Uuid, nullable=False),
    sa.Column("subject_id", sa.Uuid, nullable=True),
    sa.Column("document_type", sa.String(64), nullable=False),
    sa.Column("basis", sa.String(20), nullable=False),
    sa.Column("period", sa.String(20), nullable=False),
    sa.Column("retain_until", sa.Date, nullable=False),
    sa.Column("purged_at", UtcDateTime, nullable=False),
    sa.Column("files", sa.JSON, nullable=False),
    sa.Index(None, "tenant_id", "purged_at", "id"),
)

# Blobs of purged documents still to remove from the store: queued in the transaction that
# deletes the rows, removed once it committed, and by the next scan if the process died
# in between (an outbox: no purged document's ciphertext outlives a crash).
blob_removals = sa.Table(
    "blob_removals",
    metadata,
    sa.Column("blob_key", sa.String(80), primary_key=True),
    tenant_fk(),
    sa.Column("queued_at", UtcDateTime, nullable=False),
)
