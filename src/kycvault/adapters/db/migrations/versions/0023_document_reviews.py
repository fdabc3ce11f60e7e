"""document reviews: a document's current review on its row, and the review queue's index

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 06:40:00

Every existing document is ``pending`` (never reviewed). The review's free text is sealed
(``review_reason_sealed``, see ``adapters/db/sealed_fields.py``); there is none to seal yet,
so no field codec is needed. The history of reviews is the audit trail and the event log,
not a table. The index serves ``GET /v1/documents?review_status=`` on the default sort.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kycvault.adapters.db.columns import UtcDateTime

revision: str = "0023"
# The one place this migration names its parent.
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "ix_documents_tenant_id_review_status_created_at_id"


def upgrade() -> None:
    op.add_column(
        "documents",
        sa.Column("review_status", sa.String(32), nullable=False, server_default="pending"),
    )
    op.add_column("documents", sa.Column("review_reason_code", sa.String(32), nullable=True))
    op.add_column("documents", sa.Column("review_reason_sealed", sa.LargeBinary(), nullable=True))
    op.add_column("documents", sa.Column("reviewed_by", sa.String(40), nullable=True))
    op.add_column("documents", sa.Column("reviewed_at", UtcDateTime(timezone=True), nullable=True))
    op.create_index(_INDEX, "documents", ["tenant_id", "review_status", "created_at", "id"])


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="documents")
    for column in (
        "reviewed_at",
        "reviewed_by",
        "review_reason_sealed",
        "review_reason_code",
        "review_status",
    ):
        op.drop_column("documents", column)
