"""document processing: stage statuses and results, extracted numbers, searchable text,
encrypted extracted text

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kycvault.adapters.db.tables import UtcDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("processing", sa.JSON(), nullable=True))
    op.add_column("documents", sa.Column("extracted_number", sa.String(length=64), nullable=True))
    op.add_column(
        "documents", sa.Column("content_search", sa.Text(), nullable=False, server_default="")
    )
    op.create_index("ix_documents_tenant_id_id_number", "documents", ["tenant_id", "id_number"])
    op.create_index(
        "ix_documents_tenant_id_extracted_number", "documents", ["tenant_id", "extracted_number"]
    )
    op.create_table(
        "document_texts",
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("characters", sa.Integer(), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name="fk_document_texts_tenant_id_tenants",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("document_id", name="pk_document_texts"),
    )


def downgrade() -> None:
    op.drop_table("document_texts")
    op.drop_index("ix_documents_tenant_id_extracted_number", table_name="documents")
    op.drop_index("ix_documents_tenant_id_id_number", table_name="documents")
    op.drop_column("documents", "content_search")
    op.drop_column("documents", "extracted_number")
    op.drop_column("documents", "processing")
