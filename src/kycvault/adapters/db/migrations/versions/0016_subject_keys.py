"""subject keys: a file's data key may be wrapped by a subject key kept in the subject-key store

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 01:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Files written before stay wrapped by their tenant key (null here) until a tenant-key
    # rotation or an erasure moves them under a subject key.
    op.add_column("files", sa.Column("subject_key_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    # Not in batch mode: on SQLite that would rebuild the table (see 0017).
    op.drop_column("files", "subject_key_id")
