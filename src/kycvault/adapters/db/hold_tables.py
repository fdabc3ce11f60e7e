"""The legal holds table. Registered on the one ``metadata`` of ``tables.py``."""

from __future__ import annotations

import sqlalchemy as sa

from kycvault.adapters.db.columns import UtcDateTime, metadata, tenant_fk

# A hold on one subject or one document. No foreign key to either: a lifted hold is evidence
# and stays after what it held has been deleted.
legal_holds = sa.Table(
    "legal_holds",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    tenant_fk(),
    sa.Column("subject_id", sa.Uuid, nullable=True),
    sa.Column("document_id", sa.Uuid, nullable=True),
    sa.Column("reason", sa.String(500), nullable=False),
    sa.Column("placed_at", UtcDateTime, nullable=False),
    sa.Column("placed_by", sa.String(40), nullable=True),
    sa.Column("lifted_at", UtcDateTime, nullable=True),
    sa.Column("lifted_by", sa.String(40), nullable=True),
    sa.CheckConstraint("(subject_id IS NULL) <> (document_id IS NULL)", name="one_target"),
    sa.Index(None, "tenant_id", "placed_at", "id"),
    sa.Index(None, "tenant_id", "subject_id"),
    sa.Index(None, "tenant_id", "document_id"),
)
