"""Table definitions (SQLAlchemy Core), portable between SQLite and PostgreSQL.

These are the models Alembic migrations are checked against; the schema itself is created
only by the migrations. Every tenant-owned table carries ``tenant_id`` and every query filters
on it; composite indexes lead with ``tenant_id`` for that reason.
"""

from __future__ import annotations

import sqlalchemy as sa

# Re-exported: the migrations name ``tables.UtcDateTime`` and ``tables.metadata``.
from kycvault.adapters.db.columns import UtcDateTime as UtcDateTime
from kycvault.adapters.db.columns import metadata as metadata
from kycvault.adapters.db.columns import tenant_fk

tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("number", sa.BigInteger, nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Column("subject_seq", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("document_seq", sa.BigInteger, nullable=False, server_default="0"),
    # Kept with every insert and delete, so an unfiltered total is one row read.
    sa.Column("document_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("created_at", UtcDateTime, nullable=False),
    # Sila's signed requests name the app by handle; the handle picks the tenant.
    sa.Column("sila_app_handle", sa.String(100), nullable=True),
    sa.Column("sila_app_address", sa.String(42), nullable=True),
    sa.Index(None, "sila_app_handle", unique=True),
)

tenant_keys = sa.Table(
    "tenant_keys",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    tenant_fk(),
    sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
    sa.Column("master_key_id", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("retired_at", UtcDateTime, nullable=True),
    # How ``wrapped_key`` is wrapped: 1, the first format; 2, format 2 (ports/cipher.py).
    sa.Column("wrap_format", sa.SmallInteger, nullable=False, server_default="1"),
    sa.Index(None, "tenant_id", "created_at"),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    tenant_fk(),
    sa.Column("key_id", sa.String(40), nullable=False, unique=True),
    sa.Column("secret_hash", sa.LargeBinary(32), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("revoked_at", UtcDateTime, nullable=True),
    # What the key may do (``domain/scopes.py``); keys made before scopes hold ["admin"].
    sa.Column("scopes", sa.JSON, nullable=False),
    # None: the key does not expire.
    sa.Column("expires_at", UtcDateTime, nullable=True),
    sa.Index(None, "tenant_id", "created_at"),
)

subjects = sa.Table(
    "subjects",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    tenant_fk(),
    sa.Column("number", sa.BigInteger, nullable=False),
    sa.Column("type", sa.String(20), nullable=False),
    # The blind index of the client's id for the subject, unique per tenant; the column
    # ``external_id`` renamed by migration 0020 (hence its length and its constraint's name).
    sa.Column("external_id_index", sa.String(255), nullable=True),
    sa.Column(
        "parent_id", sa.Uuid, sa.ForeignKey("subjects.id", ondelete="RESTRICT"), nullable=True
    ),
    # ``display_name``, ``external_id`` and ``metadata``, sealed (adapters/db/sealed_fields.py).
    sa.Column("details_sealed", sa.LargeBinary, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("created_by", sa.String(40), nullable=True),
    sa.Column("updated_by", sa.String(40), nullable=True),
    sa.Column("crypto_address", sa.String(42), nullable=True),
    sa.Column("relationship_ended_on", sa.Date, nullable=True),  # retention's basis date
    sa.UniqueConstraint("tenant_id", "number"),
    sa.UniqueConstraint("tenant_id", "external_id_index", name="uq_subjects_tenant_id_external_id"),
    sa.Index(None, "tenant_id", "created_at", "id"),
    sa.Index(None, "parent_id"),
)

documents = sa.Table(
    "documents",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    tenant_fk(),
    sa.Column("number", sa.BigInteger, nullable=False),
    sa.Column(
        "subject_id", sa.Uuid, sa.ForeignKey("subjects.id", ondelete="RESTRICT"), nullable=True
    ),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("name", sa.String(255), nullable=True),
    # The declared document number, sealed, and its blind index (adapters/db/sealed_fields.py).
    sa.Column("id_number_sealed", sa.LargeBinary, nullable=True),
    sa.Column("id_number_index", sa.String(64), nullable=True),
    sa.Column("issuing_country", sa.String(3), nullable=True),
    sa.Column("issue_date", sa.Date, nullable=True),
    sa.Column("expiry_date", sa.Date, nullable=True),
    sa.Column("authenticity", sa.String(20), nullable=True),
    sa.Column("notify_before_expiry", sa.Boolean, nullable=False),
    sa.Column("metadata_sealed", sa.LargeBinary, nullable=True),  # null: no metadata
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("created_by", sa.String(40), nullable=True),
    sa.Column("updated_by", sa.String(40), nullable=True),
    # Derived columns for listing (see kycvault.domain.listing): non-null sort keys, the
    # searchable text (name and original filenames, case-folded) and the file count.
    sa.Column("name_key", sa.String(255), nullable=False, server_default=""),
    sa.Column("expiry_key", sa.Date, nullable=False, server_default="9999-12-31"),
    sa.Column("search_text", sa.Text, nullable=False, server_default=""),
    sa.Column("file_count", sa.Integer, nullable=False, server_default="0"),
    # Processing results (kycvault.domain.processing); null until first queued. What may
    # hold personal data (the MRZ, the classification, the signals) is in processing_sealed.
    sa.Column("processing", sa.JSON, nullable=True),
    sa.Column("processing_sealed", sa.LargeBinary, nullable=True),
    # The blind index of the MRZ's document number, and the extracted text where the tenant
    # made it searchable (appended to search_text, so the trigram index serves it).
    sa.Column("extracted_number_index", sa.String(64), nullable=True),
    sa.Column("content_search", sa.Text, nullable=False, server_default=""),
    # The current review (kycvault.domain.review); its free text is sealed (it may name people).
    sa.Column("review_status", sa.String(32), nullable=False, server_default="pending"),
    sa.Column("review_reason_code", sa.String(32), nullable=True),
    sa.Column("review_reason_sealed", sa.LargeBinary, nullable=True),
    sa.Column("reviewed_by", sa.String(40), nullable=True),
    sa.Column("reviewed_at", UtcDateTime, nullable=True),
    sa.UniqueConstraint("tenant_id", "number"),
    sa.Index(None, "tenant_id", "created_at", "id"),
    sa.Index(None, "tenant_id", "name_key", "id"),
    sa.Index(None, "tenant_id", "expiry_key", "id"),
    sa.Index(None, "tenant_id", "subject_id", "created_at", "id"),
    sa.Index(None, "tenant_id", "type", "created_at", "id"),
    # The type is the filter clients use most; it gets an index for each sort.
    sa.Index(None, "tenant_id", "type", "name_key", "id"),
    sa.Index(None, "tenant_id", "type", "expiry_key", "id"),
    # A review queue ("what is pending", newest first): the review filter on the default sort.
    sa.Index(None, "tenant_id", "review_status", "created_at", "id"),
    # The duplicate-number signal looks a number up among declared and extracted ones.
    sa.Index(None, "tenant_id", "id_number_index"),
    sa.Index(None, "tenant_id", "extracted_number_index"),
)
# Rare subsets get partial indexes, so "only the library" or "only empty documents" pages do
# not walk the whole tenant looking for matches.
sa.Index(
    "ix_documents_library",
    documents.c.tenant_id,
    documents.c.created_at,
    documents.c.id,
    sqlite_where=documents.c.subject_id.is_(None),
    postgresql_where=documents.c.subject_id.is_(None),
)
sa.Index(
    "ix_documents_without_files",
    documents.c.tenant_id,
    documents.c.created_at,
    documents.c.id,
    sqlite_where=documents.c.file_count == 0,
    postgresql_where=documents.c.file_count == 0,
)
# Substring search has a trigram index of its own, made by the migrations only: an FTS5
# table on SQLite, a pg_trgm GIN index on PostgreSQL. They are not modelled here.
SEARCH_OBJECTS = frozenset(
    {"document_search", "ix_documents_search_trgm", "ix_documents_search_walk"}
)

files = sa.Table(
    "files",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    tenant_fk(),
    sa.Column(
        "document_id",
        sa.Uuid,
        sa.ForeignKey("documents.id", ondelete="RESTRICT"),
        nullable=False,
    ),
    # Order of the files within their document (upload order), kept across deletions.
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("role", sa.String(20), nullable=True),
    sa.Column("filename", sa.String(255), nullable=True),
    sa.Column("content_type", sa.String(127), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    # The content's SHA-256, sealed (clients get it in clear), and its blind index, which
    # finds the same content elsewhere in the tenant without the digest being stored.
    sa.Column("sha256_sealed", sa.LargeBinary, nullable=True),
    sa.Column("content_index", sa.String(64), nullable=True),
    sa.Column("blob_key", sa.String(80), nullable=False, unique=True),
    sa.Column("wrapped_dek", sa.LargeBinary, nullable=False),
    sa.Column(
        "kek_id", sa.Uuid, sa.ForeignKey("tenant_keys.id", ondelete="RESTRICT"), nullable=False
    ),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("created_by", sa.String(40), nullable=True),
    # The subject key (in the subject-key store, not this database) that wraps the data key;
    # null: the tenant key ``kek_id`` wraps it.
    sa.Column("subject_key_id", sa.Uuid, nullable=True),
    # When the blob was last read in full and found intact (the upload check, then the
    # scrub's cycle); the scrub takes the files verified longest ago first.
    sa.Column("verified_at", UtcDateTime, nullable=True),
    sa.Index(None, "document_id", "position"),
    sa.Index(None, "tenant_id", "content_index"),
    sa.Index(None, "verified_at"),
)

# Text read from a document's files, encrypted like the files themselves.
document_texts = sa.Table(
    "document_texts",
    metadata,
    sa.Column("document_id", sa.Uuid, primary_key=True),
    tenant_fk(),
    sa.Column("sealed", sa.LargeBinary, nullable=False),
    sa.Column("characters", sa.Integer, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

document_types = sa.Table(
    "document_types",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    tenant_fk(),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("label", sa.String(200), nullable=False),
    sa.Column("category", sa.String(20), nullable=False),
    sa.Column("roles", sa.JSON, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("created_by", sa.String(40), nullable=True),
    sa.UniqueConstraint("tenant_id", "name"),
)

download_links = sa.Table(
    "download_links",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    tenant_fk(),
    # SHA-256 of the token; the token itself is never stored.
    sa.Column("token_hash", sa.LargeBinary(32), nullable=False, unique=True),
    sa.Column("document_id", sa.Uuid, nullable=False),
    sa.Column("file_id", sa.Uuid, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("used_at", UtcDateTime, nullable=True),
    sa.Column("created_by", sa.String(40), nullable=True),
    sa.Index(None, "tenant_id", "file_id"),
    sa.Index(None, "expires_at"),
)

idempotency_records = sa.Table(
    "idempotency_records",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    # When the claim was made: also the claim's identity, so that only its own request may
    # complete or release it.
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    # An in-progress claim lapses at this time unless its request renews it.
    sa.Column("lease_until", UtcDateTime, nullable=True),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("content_type", sa.String(100), nullable=True),
    sa.Column("location", sa.String(255), nullable=True),
    sa.Column("body", sa.LargeBinary, nullable=True),
    # What the request created or changed, so deleting it also purges the stored response.
    sa.Column("target_id", sa.Uuid, nullable=True),
    # The scopes the request was allowed: a replay needs them too (NULL: stored before keys
    # had scopes).
    sa.Column("scopes", sa.JSON, nullable=True),
    sa.Index(None, "expires_at"),
    sa.Index(None, "tenant_id", "target_id"),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    # No foreign keys: a job outlives what it was about (a deleted file's job finds nothing
    # to do and ends), and never holds up a deletion.
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("document_id", sa.Uuid, nullable=True),
    sa.Column("file_id", sa.Uuid, nullable=True),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("run_after", UtcDateTime, nullable=False),
    sa.Column("lease_until", UtcDateTime, nullable=True),
    sa.Column("locked_by", sa.String(80), nullable=True),
    sa.Column("last_error", sa.String(500), nullable=True),
    sa.Column("result", sa.JSON, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("finished_at", UtcDateTime, nullable=True),
    # Claims scan queued jobs by due time, and running ones by lapsed lease.
    sa.Index(None, "state", "run_after"),
    sa.Index(None, "state", "lease_until"),
    sa.Index(None, "tenant_id", "file_id"),
)

# Signed requests already accepted (Sila's ECDSA scheme), kept until their replay window
# ends: the primary key refuses a second use of the same signature across processes.
signature_uses = sa.Table(
    "signature_uses",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    # SHA-256 of the canonical (low-s) signature.
    sa.Column("digest", sa.LargeBinary(32), primary_key=True),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Index(None, "expires_at"),
)

# Failed authentication attempts per bucket (a client address, a key id prefix), counted in
# fixed windows and shared by every API process.
auth_failures = sa.Table(
    "auth_failures",
    metadata,
    sa.Column("bucket", sa.String(200), primary_key=True),
    sa.Column("window_start", UtcDateTime, nullable=False),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("blocked_until", UtcDateTime, nullable=True),
    sa.Index(None, "window_start"),
)

# The tables of other concepts live in modules of their own (the event log, legal holds,
# retention, vault keys, questionnaires, the audit trail, the console); importing them
# registers them on ``metadata`` (migrations, export and import walk every table there).
from kycvault.adapters.db import console_tables as console_tables  # noqa: E402
from kycvault.adapters.db import event_tables as event_tables  # noqa: E402
from kycvault.adapters.db import hold_tables as hold_tables  # noqa: E402
from kycvault.adapters.db import questionnaire_tables as questionnaire_tables  # noqa: E402
from kycvault.adapters.db import retention_tables as retention_tables  # noqa: E402
from kycvault.adapters.db import vault_key_tables as vault_key_tables  # noqa: E402
from kycvault.adapters.db.audit_tables import audit_chains as audit_chains  # noqa: E402
from kycvault.adapters.db.audit_tables import audit_events as audit_events  # noqa: E402
