"""expiry notifications: one mark per document, expiry date and threshold told

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-11 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kycvault.adapters.db.tables import UtcDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "expiry_notifications",
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("notified_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("told", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint(
            "document_id", "expiry_date", "threshold", name="pk_expiry_notifications"
        ),
    )
    op.create_index("ix_expiry_notifications_expiry_date", "expiry_notifications", ["expiry_date"])


def downgrade() -> None:
    op.drop_index("ix_expiry_notifications_expiry_date", table_name="expiry_notifications")
    op.drop_table("expiry_notifications")
