"""retention: rules per document type, a subject's relationship end, deletion receipts

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 23:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kycvault.adapters.db.columns import UtcDateTime

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants", ondelete="RESTRICT"
    )


def upgrade() -> None:
    op.add_column("subjects", sa.Column("relationship_ended_on", sa.Date(), nullable=True))
    op.create_table(
        "retention_rules",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("document_type", sa.String(length=64), nullable=False),
        sa.Column("basis", sa.String(length=20), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=40), nullable=True),
        _tenant_fk("retention_rules"),
        sa.PrimaryKeyConstraint("tenant_id", "document_type", name="pk_retention_rules"),
    )
    op.create_table(
        "deletion_receipts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.Column("document_type", sa.String(length=64), nullable=False),
        sa.Column("basis", sa.String(length=20), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("retain_until", sa.Date(), nullable=False),
        sa.Column("purged_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        _tenant_fk("deletion_receipts"),
        sa.PrimaryKeyConstraint("id", name="pk_deletion_receipts"),
    )
    op.create_index(
        "ix_deletion_receipts_tenant_id_purged_at_id",
        "deletion_receipts",
        ["tenant_id", "purged_at", "id"],
    )


def downgrade() -> None:
    op.drop_table("deletion_receipts")
    op.drop_table("retention_rules")
    with op.batch_alter_table("subjects") as batch:
        batch.drop_column("relationship_ended_on")
