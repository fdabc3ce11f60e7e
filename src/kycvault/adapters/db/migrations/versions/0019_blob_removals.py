"""blob removals: the purge's outbox of blobs to remove once their rows are gone

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 00:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kycvault.adapters.db.columns import UtcDateTime

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "blob_removals",
        sa.Column("blob_key", sa.String(length=80), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("queued_at", UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name="fk_blob_removals_tenant_id_tenants",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("blob_key", name="pk_blob_removals"),
    )


def downgrade() -> None:
    op.drop_table("blob_removals")
