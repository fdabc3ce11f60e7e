"""The trigram index behind document search, per dialect (used by the migrations).

SQLite: an FTS5 table with the trigram tokenizer over ``documents.search_text`` as external
content, kept in step by triggers, and a covering index for searches that walk the default
sort instead. FTS5 answers substring queries of three or more
characters from the index, case-insensitively. It is keyed by the documents' rowid, which a
manual ``VACUUM`` may renumber: after one, run ``rebuild`` (``kycvault`` never vacuums).

PostgreSQL: a pg_trgm GIN index on ``search_text``, which serves ``LIKE '%…%'``.

Any migration that recreates the ``documents`` table on SQLite (batch mode) drops the
triggers: it must call ``drop`` before and ``create`` after.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

_SQLITE_CREATE = (
    "CREATE VIRTUAL TABLE document_search USING fts5("
    "search_text, content='documents', content_rowid='rowid', tokenize='trigram')",
    "CREATE TRIGGER documents_search_insert AFTER INSERT ON documents BEGIN "
    "INSERT INTO document_search(rowid, search_text) VALUES (new.rowid, new.search_text); END",
    "CREATE TRIGGER documents_search_delete AFTER DELETE ON documents BEGIN "
    "INSERT INTO document_search(document_search, rowid, search_text) "
    "VALUES ('delete', old.rowid, old.search_text); END",
    "CREATE TRIGGER documents_search_update AFTER UPDATE OF search_text ON documents BEGIN "
    "INSERT INTO document_search(document_search, rowid, search_text) "
    "VALUES ('delete', old.rowid, old.search_text); "
    "INSERT INTO document_search(rowid, search_text) VALUES (new.rowid, new.search_text); END",
    # Covers the search walk along the default sort (see repositories/document_listing.py), so that
    # walk reads no table rows. PostgreSQL does not need it, and would refuse its long rows.
    "CREATE INDEX ix_documents_search_walk ON documents (tenant_id, created_at, id, search_text)",
)
_SQLITE_DROP = (
    "DROP INDEX IF EXISTS ix_documents_search_walk",
    "DROP TRIGGER IF EXISTS documents_search_update",
    "DROP TRIGGER IF EXISTS documents_search_delete",
    "DROP TRIGGER IF EXISTS documents_search_insert",
    "DROP TABLE IF EXISTS document_search",
)
_POSTGRES_CREATE = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_documents_search_trgm ON documents USING gin (search_text gin_trgm_ops)",
)
_POSTGRES_DROP = ("DROP INDEX IF EXISTS ix_documents_search_trgm",)


def create(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        for statement in _SQLITE_CREATE:
            conn.execute(text(statement))
        rebuild(conn)
    elif conn.dialect.name == "postgresql":
        for statement in _POSTGRES_CREATE:
            conn.execute(text(statement))


def drop(conn: Connection) -> None:
    statements = _SQLITE_DROP if conn.dialect.name == "sqlite" else _POSTGRES_DROP
    for statement in statements:
        conn.execute(text(statement))


def rebuild(conn: Connection) -> None:
    """Re-derive the SQLite index from the documents (after a VACUUM, or a backfill)."""
    if conn.dialect.name == "sqlite":
        conn.execute(text("INSERT INTO document_search(document_search) VALUES ('rebuild')"))
