"""legal holds: one row per hold on a subject or a document, kept once lifted

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 23:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kycvault.adapters.db.columns import UtcDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.Column("document_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("placed_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("placed_by", sa.String(length=40), nullable=True),
        sa.Column("lifted_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("lifted_by", sa.String(length=40), nullable=True),
        sa.CheckConstraint(
            "(subject_id IS NULL) <> (document_id IS NULL)",
            name="ck_legal_holds_one_target",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name="fk_legal_holds_tenant_id_tenants",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_legal_holds"),
    )
    op.create_index(
        "ix_legal_holds_tenant_id_placed_at_id", "legal_holds", ["tenant_id", "placed_at", "id"]
    )
    op.create_index(
        "ix_legal_holds_tenant_id_subject_id", "legal_holds", ["tenant_id", "subject_id"]
    )
    op.create_index(
        "ix_legal_holds_tenant_id_document_id", "legal_holds", ["tenant_id", "document_id"]
    )


def downgrade() -> None:
    op.drop_table("legal_holds")
