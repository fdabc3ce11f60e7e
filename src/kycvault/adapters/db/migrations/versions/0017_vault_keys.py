"""vault keys: the root secret wrapped by the master key; tenant_keys.wrap_format

The root secret is what derived keys (API-key pepper, record, cursor, audit-chain keys) come
from, so that a new master key only re-wraps rows. ``bootstrap.prepare_schema`` gives this
migration the row to store (``vault_root``): for a vault that already has tenants its root is
the master key's own bytes, from which those keys were derived until now, so every derived
value stays as it was; a new vault gets a random one. Existing tenant keys keep their first
wrap format (1).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 00:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kycvault.adapters.db.columns import UtcDateTime

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    vault_keys = op.create_table(
        "vault_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("master_key_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("retired_at", UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_vault_keys"),
        sa.UniqueConstraint("purpose", "version", name="uq_vault_keys_purpose_version"),
    )
    op.add_column(
        "tenant_keys",
        sa.Column("wrap_format", sa.SmallInteger(), nullable=False, server_default="1"),
    )
    config = op.get_context().config
    root = config.attributes.get("vault_root") if config is not None else None
    if root is not None:
        op.bulk_insert(vault_keys, [root])


def downgrade() -> None:
    # Not in batch mode: on SQLite that rebuilds the table, which the files' foreign keys to
    # it forbid; ALTER TABLE … DROP COLUMN needs no rebuild.
    op.drop_column("tenant_keys", "wrap_format")
    op.drop_table("vault_keys")
