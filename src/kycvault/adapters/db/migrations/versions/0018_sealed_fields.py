"""sealed fields: document numbers, processing results and file digests sealed, with blind
indexes for exact-match lookups

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 00:45:00

Seals what earlier versions stored in clear (``documents.id_number``, the MRZ and the rest
of ``documents.processing``'s findings, ``documents.extracted_number``, ``files.sha256``) with
the tenant keys, so the migration needs the field codec (``field_codec`` attribute, given
by ``bootstrap.prepare_schema``) when there are rows to seal. The clear columns are dropped
in the same transaction. See ``adapters/db/sealed_fields.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from kycvault.adapters.db.sealed_fields import RowFields, migration_fields, needed

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DOCUMENTS = sa.table(
    "documents",
    sa.column("id", sa.Uuid()),
    sa.column("tenant_id", sa.Uuid()),
    sa.column("id_number", sa.String()),
    sa.column("extracted_number", sa.String()),
    sa.column("processing", sa.JSON()),
    sa.column("id_number_sealed", sa.LargeBinary()),
    sa.column("id_number_index", sa.String()),
    sa.column("processing_sealed", sa.LargeBinary()),
    sa.column("extracted_number_index", sa.String()),
)
_FILES = sa.table(
    "files",
    sa.column("id", sa.Uuid()),
    sa.column("tenant_id", sa.Uuid()),
    sa.column("sha256", sa.String()),
    sa.column("sha256_sealed", sa.LargeBinary()),
    sa.column("content_index", sa.String()),
)


def _fields(conn: sa.Connection) -> RowFields | None:
    config = op.get_context().config
    return migration_fields(config.attributes if config is not None else None, conn)


def upgrade() -> None:
    op.add_column("documents", sa.Column("id_number_sealed", sa.LargeBinary(), nullable=True))
    op.add_column("documents", sa.Column("id_number_index", sa.String(64), nullable=True))
    op.add_column("documents", sa.Column("processing_sealed", sa.LargeBinary(), nullable=True))
    op.add_column("documents", sa.Column("extracted_number_index", sa.String(64), nullable=True))
    op.add_column("files", sa.Column("sha256_sealed", sa.LargeBinary(), nullable=True))
    op.add_column("files", sa.Column("content_index", sa.String(64), nullable=True))
    conn = op.get_bind()
    fields = _fields(conn)
    for row in conn.execute(sa.select(_DOCUMENTS)).mappings().all():
        sealed = needed(fields)
        tenant, document = row["tenant_id"], row["id"]
        values: dict[str, Any] = sealed.id_number_values(tenant, document, row["id_number"])
        if row["processing"]:
            values.update(sealed.processing_values(tenant, document, row["processing"]))
        values["extracted_number_index"] = sealed.number_index(tenant, row["extracted_number"])
        conn.execute(_DOCUMENTS.update().where(_DOCUMENTS.c.id == document).values(**values))
    for row in conn.execute(sa.select(_FILES)).mappings().all():
        values = needed(fields).file_values(row["tenant_id"], row["id"], row["sha256"])
        conn.execute(_FILES.update().where(_FILES.c.id == row["id"]).values(**values))
    op.drop_index("ix_documents_tenant_id_id_number", table_name="documents")
    op.drop_index("ix_documents_tenant_id_extracted_number", table_name="documents")
    op.drop_index("ix_files_tenant_id_sha256", table_name="files")
    op.drop_column("documents", "id_number")
    op.drop_column("documents", "extracted_number")
    op.drop_column("files", "sha256")
    op.create_index(
        "ix_documents_tenant_id_id_number_index", "documents", ["tenant_id", "id_number_index"]
    )
    op.create_index(
        "ix_documents_tenant_id_extracted_number_index",
        "documents",
        ["tenant_id", "extracted_number_index"],
    )
    op.create_index("ix_files_tenant_id_content_index", "files", ["tenant_id", "content_index"])


def downgrade() -> None:
    op.add_column("documents", sa.Column("id_number", sa.String(64), nullable=True))
    op.add_column("documents", sa.Column("extracted_number", sa.String(64), nullable=True))
    op.add_column("files", sa.Column("sha256", sa.String(64), nullable=True))
    conn = op.get_bind()
    fields = _fields(conn)
    for row in conn.execute(sa.select(_DOCUMENTS)).mappings().all():
        opened = needed(fields)
        processing = opened.processing(row["tenant_id"], row)
        mrz = processing.extracted.get("mrz") or {}
        number = mrz.get("document_number") if row["extracted_number_index"] else None
        values = {
            "id_number": opened.id_number(row["tenant_id"], row),
            "processing": processing.as_dict() if row["processing"] else None,
            "extracted_number": number,
        }
        conn.execute(_DOCUMENTS.update().where(_DOCUMENTS.c.id == row["id"]).values(**values))
    for row in conn.execute(sa.select(_FILES)).mappings().all():
        digest = needed(fields).sha256(row["tenant_id"], row)
        conn.execute(_FILES.update().where(_FILES.c.id == row["id"]).values(sha256=digest))
    op.drop_index("ix_files_tenant_id_content_index", table_name="files")
    op.drop_index("ix_documents_tenant_id_extracted_number_index", table_name="documents")
    op.drop_index("ix_documents_tenant_id_id_number_index", table_name="documents")
    for table, column in (
        ("files", "content_index"),
        ("files", "sha256_sealed"),
        ("documents", "extracted_number_index"),
        ("documents", "processing_sealed"),
        ("documents", "id_number_index"),
        ("documents", "id_number_sealed"),
    ):
        op.drop_column(table, column)
    op.create_index("ix_files_tenant_id_sha256", "files", ["tenant_id", "sha256"])
    op.create_index("ix_documents_tenant_id_id_number", "documents", ["tenant_id", "id_number"])
    op.create_index(
        "ix_documents_tenant_id_extracted_number", "documents", ["tenant_id", "extracted_number"]
    )
