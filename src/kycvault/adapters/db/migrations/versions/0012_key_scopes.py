"""key scopes: what each API key may do and when it expires; the scopes an idempotent
write was allowed, which its replay needs too

Keys made before scopes keep full access: they get ["admin"].

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kycvault.adapters.db.tables

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_api_keys = sa.table("api_keys", sa.column("scopes", sa.JSON()))


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("scopes", sa.JSON(), nullable=True))
        batch.add_column(
            sa.Column(
                "expires_at",
                kycvault.adapters.db.tables.UtcDateTime(timezone=True),
                nullable=True,
            )
        )
    op.execute(_api_keys.update().values(scopes=["admin"]))
    with op.batch_alter_table("api_keys") as batch:
        batch.alter_column("scopes", existing_type=sa.JSON(), nullable=False)
    with op.batch_alter_table("idempotency_records") as batch:
        batch.add_column(sa.Column("scopes", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_records") as batch:
        batch.drop_column("scopes")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("expires_at")
        batch.drop_column("scopes")
