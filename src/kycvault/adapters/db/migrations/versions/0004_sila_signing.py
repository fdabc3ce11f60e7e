"""signing keys for Sila's ECDSA requests: the tenant's app handle and address, the subject's
crypto address

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tenants", sa.Column("sila_app_handle", sa.String(length=100), nullable=True))
    op.add_column("tenants", sa.Column("sila_app_address", sa.String(length=42), nullable=True))
    op.create_index("ix_tenants_sila_app_handle", "tenants", ["sila_app_handle"], unique=True)
    op.add_column("subjects", sa.Column("crypto_address", sa.String(length=42), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subjects") as batch:
        batch.drop_column("crypto_address")
    op.drop_index("ix_tenants_sila_app_handle", table_name="tenants")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("sila_app_address")
        batch.drop_column("sila_app_handle")
