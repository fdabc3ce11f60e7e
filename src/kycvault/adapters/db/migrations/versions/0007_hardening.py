"""hardening: the scrub's verification time per file, leases of Idempotency-Key claims, used
signatures (Sila replay), failed authentication counters

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kycvault.adapters.db.tables import UtcDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("files", sa.Column("verified_at", UtcDateTime(timezone=True), nullable=True))
    op.create_index("ix_files_verified_at", "files", ["verified_at"])
    op.add_column(
        "idempotency_records",
        sa.Column("lease_until", UtcDateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "signature_uses",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("expires_at", UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "digest", name="pk_signature_uses"),
    )
    op.create_index("ix_signature_uses_expires_at", "signature_uses", ["expires_at"])
    op.create_table(
        "auth_failures",
        sa.Column("bucket", sa.String(length=200), nullable=False),
        sa.Column("window_start", UtcDateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("blocked_until", UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("bucket", name="pk_auth_failures"),
    )
    op.create_index("ix_auth_failures_window_start", "auth_failures", ["window_start"])


def downgrade() -> None:
    op.drop_index("ix_auth_failures_window_start", table_name="auth_failures")
    op.drop_table("auth_failures")
    op.drop_index("ix_signature_uses_expires_at", table_name="signature_uses")
    op.drop_table("signature_uses")
    with op.batch_alter_table("idempotency_records") as batch:
        batch.drop_column("lease_until")
    op.drop_index("ix_files_verified_at", table_name="files")
    with op.batch_alter_table("files") as batch:
        batch.drop_column("verified_at")
