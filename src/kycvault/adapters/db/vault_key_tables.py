"""The vault's own secrets, wrapped by the master key (the root secret that derived keys come
from). Registered on the one ``metadata`` of ``tables.py``."""

from __future__ import annotations

import sqlalchemy as sa

from kycvault.adapters.db.columns import UtcDateTime, metadata

vault_keys = sa.Table(
    "vault_keys",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("purpose", sa.String(40), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("wrapped", sa.LargeBinary, nullable=False),
    sa.Column("master_key_id", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("retired_at", UtcDateTime, nullable=True),
    sa.UniqueConstraint("purpose", "version"),
)
