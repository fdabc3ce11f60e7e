"""listing, download links, idempotency, custom types

Adds the derived listing columns of documents (sort keys, search text, file count) with their
indexes and the trigram search index, the tenant's document counter, single-use download
links, idempotency records and tenant-defined document types. Existing rows are backfilled.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 04:24:04.200965
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kycvault.adapters.db.tables
from kycvault.adapters.db import search_index
from kycvault.domain import listing

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_records",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column(
            "created_at", kycvault.adapters.db.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "expires_at", kycvault.adapters.db.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("location", sa.String(length=255), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("target_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "key", name=op.f("pk_idempotency_records")),
    )
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_records_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_idempotency_records_tenant_id_target_id"),
            ["tenant_id", "target_id"],
            unique=False,
        )

    op.create_table(
        "document_types",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column(
            "created_at", kycvault.adapters.db.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_document_types_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_types")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_document_types_tenant_id_name")),
    )
    op.create_table(
        "download_links",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("file_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at", kycvault.adapters.db.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "expires_at", kycvault.adapters.db.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("used_at", kycvault.adapters.db.tables.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_download_links_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_download_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_download_links_token_hash")),
    )
    with op.batch_alter_table("download_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_download_links_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_download_links_tenant_id_file_id"),
            ["tenant_id", "file_id"],
            unique=False,
        )

    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("name_key", sa.String(length=255), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("expiry_key", sa.Date(), server_default="9999-12-31", nullable=False)
        )
        batch_op.add_column(sa.Column("search_text", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(
            sa.Column("file_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_index(
            "ix_documents_library",
            ["tenant_id", "created_at", "id"],
            unique=False,
            sqlite_where=sa.text("subject_id IS NULL"),
            postgresql_where=sa.text("subject_id IS NULL"),
        )
        batch_op.create_index(
            batch_op.f("ix_documents_tenant_id_expiry_key_id"),
            ["tenant_id", "expiry_key", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_documents_tenant_id_type_name_key_id"),
            ["tenant_id", "type", "name_key", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_documents_tenant_id_type_expiry_key_id"),
            ["tenant_id", "type", "expiry_key", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_documents_tenant_id_name_key_id"),
            ["tenant_id", "name_key", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_documents_without_files",
            ["tenant_id", "created_at", "id"],
            unique=False,
            sqlite_where=sa.text("file_count = 0"),
            postgresql_where=sa.text("file_count = 0"),
        )

    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("document_count", sa.BigInteger(), server_default="0", nullable=False)
        )

    _backfill(op.get_bind())
    search_index.create(op.get_bind())


def _backfill(conn: sa.Connection) -> None:
    documents = sa.table(
        "documents",
        sa.column("id", sa.Uuid),
        sa.column("tenant_id", sa.Uuid),
        sa.column("name", sa.String),
        sa.column("expiry_date", sa.Date),
        sa.column("name_key", sa.String),
        sa.column("expiry_key", sa.Date),
        sa.column("search_text", sa.Text),
        sa.column("file_count", sa.Integer),
    )
    files = sa.table(
        "files",
        sa.column("document_id", sa.Uuid),
        sa.column("filename", sa.String),
        sa.column("position", sa.Integer),
    )
    tenants = sa.table(
        "tenants", sa.column("id", sa.Uuid), sa.column("document_count", sa.BigInteger)
    )
    names: dict[object, list[str | None]] = {}
    for document_id, filename in conn.execute(
        sa.select(files.c.document_id, files.c.filename).order_by(files.c.position)
    ):
        names.setdefault(document_id, []).append(filename)
    counts: dict[object, int] = {}
    rows = conn.execute(
        sa.select(documents.c.id, documents.c.tenant_id, documents.c.name, documents.c.expiry_date)
    ).all()
    for document_id, tenant_id, name, expiry in rows:
        attached = names.get(document_id, [])
        conn.execute(
            documents.update()
            .where(documents.c.id == document_id)
            .values(
                name_key=listing.name_key(name),
                expiry_key=listing.expiry_key(expiry),
                search_text=listing.search_text(name, attached),
                file_count=len(attached),
            )
        )
        counts[tenant_id] = counts.get(tenant_id, 0) + 1
    for tenant_id, count in counts.items():
        conn.execute(tenants.update().where(tenants.c.id == tenant_id).values(document_count=count))


def downgrade() -> None:
    search_index.drop(op.get_bind())
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("document_count")

    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_documents_without_files",
            sqlite_where=sa.text("file_count = 0"),
            postgresql_where=sa.text("file_count = 0"),
        )
        batch_op.drop_index(batch_op.f("ix_documents_tenant_id_name_key_id"))
        batch_op.drop_index(batch_op.f("ix_documents_tenant_id_type_expiry_key_id"))
        batch_op.drop_index(batch_op.f("ix_documents_tenant_id_type_name_key_id"))
        batch_op.drop_index(batch_op.f("ix_documents_tenant_id_expiry_key_id"))
        batch_op.drop_index(
            "ix_documents_library",
            sqlite_where=sa.text("subject_id IS NULL"),
            postgresql_where=sa.text("subject_id IS NULL"),
        )
        batch_op.drop_column("file_count")
        batch_op.drop_column("search_text")
        batch_op.drop_column("expiry_key")
        batch_op.drop_column("name_key")

    with op.batch_alter_table("download_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_download_links_tenant_id_file_id"))
        batch_op.drop_index(batch_op.f("ix_download_links_expires_at"))

    op.drop_table("download_links")
    op.drop_table("document_types")
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_records_tenant_id_target_id"))
        batch_op.drop_index(batch_op.f("ix_idempotency_records_expires_at"))

    op.drop_table("idempotency_records")
