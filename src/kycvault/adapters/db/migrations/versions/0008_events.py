"""events: the event log and each tenant's last event sequence

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kycvault.adapters.db.tables import UtcDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.Column("document_id", sa.Uuid(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint("tenant_id", "sequence", name="uq_events_tenant_id_sequence"),
    )
    op.create_index(
        "ix_events_tenant_id_type_sequence", "events", ["tenant_id", "type", "sequence"]
    )
    op.create_index(
        "ix_events_tenant_id_subject_id_sequence", "events", ["tenant_id", "subject_id", "sequence"]
    )
    op.create_index(
        "ix_events_tenant_id_document_id_sequence",
        "events",
        ["tenant_id", "document_id", "sequence"],
    )
    op.create_index("ix_events_created_at", "events", ["created_at"])
    op.create_table(
        "event_sequences",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("last", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_event_sequences"),
    )


def downgrade() -> None:
    op.drop_table("event_sequences")
    op.drop_index("ix_events_created_at", table_name="events")
    op.drop_index("ix_events_tenant_id_document_id_sequence", table_name="events")
    op.drop_index("ix_events_tenant_id_subject_id_sequence", table_name="events")
    op.drop_index("ix_events_tenant_id_type_sequence", table_name="events")
    op.drop_table("events")
