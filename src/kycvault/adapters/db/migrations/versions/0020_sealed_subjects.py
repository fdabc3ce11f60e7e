"""sealed subjects: display names, external ids and metadata of subjects and documents
sealed, external ids found through a blind index

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 04:30:00

Seals what earlier versions stored in clear (``subjects.display_name``, ``external_id`` and
``metadata``; ``documents.metadata``; the subject's ``external_id`` in the snapshots of
``events.data``) with the tenant keys, given the field codec as 0018 is (see
``adapters/db/sealed_fields.py``). ``subjects.external_id`` is renamed
``external_id_index`` and holds the blind index from then on: its unique constraint (per
tenant) carries over, and SQLite renames a column in place, where dropping a column of a
unique constraint would rebuild a table that foreign keys name. The other clear columns are
dropped in the same transaction; a downgrade gives them back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from kycvault.adapters.db.sealed_fields import RowFields, migration_fields, needed

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SUBJECTS = sa.table(
    "subjects",
    sa.column("id", sa.Uuid()),
    sa.column("tenant_id", sa.Uuid()),
    sa.column("display_name", sa.String()),
    sa.column("external_id_index", sa.String()),
    sa.column("metadata", sa.JSON()),
    sa.column("details_sealed", sa.LargeBinary()),
)
_DOCUMENTS = sa.table(
    "documents",
    sa.column("id", sa.Uuid()),
    sa.column("tenant_id", sa.Uuid()),
    sa.column("metadata", sa.JSON()),
    sa.column("metadata_sealed", sa.LargeBinary()),
)
_EVENTS = sa.table(
    "events",
    sa.column("id", sa.Uuid()),
    sa.column("tenant_id", sa.Uuid()),
    sa.column("data", sa.JSON()),
    sa.column("external_id_sealed", sa.LargeBinary()),
)


def _fields(conn: sa.Connection) -> RowFields | None:
    config = op.get_context().config
    return migration_fields(config.attributes if config is not None else None, conn)


def _rows(conn: sa.Connection, table: sa.TableClause) -> Sequence[sa.RowMapping]:
    return conn.execute(sa.select(table)).mappings().all()


def upgrade() -> None:
    op.add_column("subjects", sa.Column("details_sealed", sa.LargeBinary(), nullable=True))
    op.add_column("documents", sa.Column("metadata_sealed", sa.LargeBinary(), nullable=True))
    op.add_column("events", sa.Column("external_id_sealed", sa.LargeBinary(), nullable=True))
    op.execute("ALTER TABLE subjects RENAME COLUMN external_id TO external_id_index")
    conn = op.get_bind()
    fields = _fields(conn)
    for row in _rows(conn, _SUBJECTS):
        values = needed(fields).subject_values(
            row["tenant_id"],
            row["id"],
            display_name=row["display_name"],
            external_id=row["external_id_index"],  # still the clear id
            metadata=row["metadata"] or {},
        )
        conn.execute(_SUBJECTS.update().where(_SUBJECTS.c.id == row["id"]).values(**values))
    for row in _rows(conn, _DOCUMENTS):
        if row["metadata"]:
            values = needed(fields).metadata_values(row["tenant_id"], row["id"], row["metadata"])
            conn.execute(_DOCUMENTS.update().where(_DOCUMENTS.c.id == row["id"]).values(**values))
    for row in _rows(conn, _EVENTS):
        subject = (row["data"] or {}).get("subject")
        if isinstance(subject, dict) and subject.get("external_id") is not None:
            values = needed(fields).event_values(row["tenant_id"], row["id"], row["data"])
            conn.execute(_EVENTS.update().where(_EVENTS.c.id == row["id"]).values(**values))
    op.drop_column("subjects", "display_name")
    op.drop_column("subjects", "metadata")
    op.drop_column("documents", "metadata")


def downgrade() -> None:
    # NOT NULL with a default: SQLite adds no NOT NULL column without one.
    for table in ("subjects", "documents"):
        op.add_column(table, sa.Column("metadata", sa.JSON(), nullable=False, server_default="{}"))
    op.add_column("subjects", sa.Column("display_name", sa.String(255), nullable=True))
    conn = op.get_bind()
    fields = _fields(conn)
    for row in _rows(conn, _SUBJECTS):
        values: dict[str, Any] = {"external_id_index": None}
        if row["details_sealed"] is not None:
            details = needed(fields).subject_details(row["tenant_id"], row)
            values = {
                "display_name": details["display_name"],
                "external_id_index": details["external_id"],  # the clear id again
                "metadata": details["metadata"],
            }
        conn.execute(_SUBJECTS.update().where(_SUBJECTS.c.id == row["id"]).values(**values))
    for row in _rows(conn, _DOCUMENTS):
        if row["metadata_sealed"] is not None:
            metadata = needed(fields).metadata(row["tenant_id"], row)
            conn.execute(
                _DOCUMENTS.update().where(_DOCUMENTS.c.id == row["id"]).values(metadata=metadata)
            )
    for row in _rows(conn, _EVENTS):
        if row["external_id_sealed"] is not None:
            data = needed(fields).event_data(row["tenant_id"], row)
            conn.execute(_EVENTS.update().where(_EVENTS.c.id == row["id"]).values(data=data))
    op.execute("ALTER TABLE subjects RENAME COLUMN external_id_index TO external_id")
    op.drop_column("events", "external_id_sealed")
    op.drop_column("documents", "metadata_sealed")
    op.drop_column("subjects", "details_sealed")
