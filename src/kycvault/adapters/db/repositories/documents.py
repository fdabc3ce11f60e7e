"""Documents and their files, and the listing queries over them.

Each filter of ``DocumentQuery`` maps onto an index (see ``tables.py``): the composite
``(tenant_id, sort key, id)`` indexes serve every sort, ``(tenant_id, subject_id, …)`` and
``(tenant_id, type, …)`` the equality filters, partial indexes the rare subsets, and a trigram
index the substring search.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import RowMapping

from kycvault.adapters.db.repositories._base import Repo, deferrable, seek_rows
from kycvault.adapters.db.tables import document_texts, documents, files, tenants
from kycvault.domain import listing
from kycvault.domain.listing import DocumentQuery
from kycvault.domain.models import Document, StoredFile
from kycvault.domain.processing import Processing
from kycvault.domain.types import Authenticity, Classification, FileRole
from kycvault.ports.persistence.records import Seek

Condition = sa.ColumnElement[bool] | sa.TextClause
_FTS_MIN_LENGTH = 3  # the trigram index answers substrings of three characters or more
# Costs measured at a million documents: the trigram index, a lookup and a sort per match;
# a walk along the default sort, which reads only a covering index (search_index.py);
# other sorts read table rows, several times dearer, which the plan accepts for them.
_INDEX_COST = 2.0e-6
_WALK_COST = 0.8e-6
_SAMPLE_ROWS = 1_000

# What an entity needs: not the derived listing columns, not the tenant (the caller knows).
_DOCUMENT_COLUMNS = [
    c
    for c in documents.c
    if c.name
    not in {
        "tenant_id",
        "name_key",
        "expiry_key",
        "search_text",
        "file_count",
        "extracted_number",
        "content_search",
    }
]
_FILE_COLUMNS = [c for c in files.c if c.name != "tenant_id"]
_GET_DOCUMENT = sa.select(*_DOCUMENT_COLUMNS).where(
    documents.c.tenant_id == sa.bindparam("tenant_id"),
    documents.c.id == sa.bindparam("document_id"),
)
_GET_DOCUMENT_LOCKED = _GET_DOCUMENT.with_for_update()
_DOCUMENTS_BY_ID = sa.select(*_DOCUMENT_COLUMNS).where(
    documents.c.id.in_(sa.bindparam("ids", expanding=True))
)
_FILES_OF = (
    sa.select(*_FILE_COLUMNS)
    .where(
        files.c.tenant_id == sa.bindparam("tenant_id"),
        files.c.document_id.in_(sa.bindparam("ids", expanding=True)),
    )
    .order_by(files.c.position, files.c.id)
)
_DOCUMENT_COUNT = sa.select(tenants.c.document_count).where(
    tenants.c.id == sa.bindparam("tenant_id")
)


def _file(row: RowMapping, tenant_id: UUID) -> StoredFile:
    return StoredFile(
        id=row["id"],
        tenant_id=tenant_id,
        document_id=row["document_id"],
        position=row["position"],
        role=FileRole(row["role"]) if row["role"] else None,
        filename=row["filename"],
        content_type=row["content_type"],
        size=row["size"],
        sha256=row["sha256"],
        blob_key=row["blob_key"],
        wrapped_dek=bytes(row["wrapped_dek"]),
        kek_id=row["kek_id"],
        created_at=row["created_at"],
        created_by=row["created_by"],
    )


def _document(row: RowMapping, tenant_id: UUID, attached: list[StoredFile]) -> Document:
    return Document(
        id=row["id"],
        tenant_id=tenant_id,
        number=row["number"],
        subject_id=row["subject_id"],
        type=row["type"],
        name=row["name"],
        id_number=row["id_number"],
        issuing_country=row["issuing_country"],
        issue_date=row["issue_date"],
        expiry_date=row["expiry_date"],
        authenticity=Authenticity(row["authenticity"]) if row["authenticity"] else None,
        notify_before_expiry=row["notify_before_expiry"],
        metadata=dict(row["metadata"] or {}),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        created_by=row["created_by"],
        updated_by=row["updated_by"],
        files=attached,
        processing=Processing.of(row["processing"]),
    )


def _document_values(doc: Document) -> dict[str, Any]:
    return {
        "subject_id": doc.subject_id,
        "type": doc.type,
        "name": doc.name,
        "id_number": doc.id_number,
        "issuing_country": doc.issuing_country,
        "issue_date": doc.issue_date,
        "expiry_date": doc.expiry_date,
        "authenticity": doc.authenticity.value if doc.authenticity else None,
        "notify_before_expiry": doc.notify_before_expiry,
        "metadata": doc.metadata,
        "updated_at": doc.updated_at,
        "updated_by": doc.updated_by,
        **_derived(doc.name, doc.expiry_date, [f.filename for f in doc.files]),
    }


def _derived(name: str | None, expiry: Any, filenames: list[str | None]) -> dict[str, Any]:
    return {
        "name_key": listing.name_key(name),
        "expiry_key": listing.expiry_key(expiry),
        "search_text": listing.search_text(name, filenames),
        "file_count": len(filenames),
    }


def _with_content(base: str) -> Any:
    """The searchable text: the derived part, then whatever extracted text the tenant made
    searchable (kept in ``content_search`` so that edits of the name keep it)."""
    return sa.literal(base, sa.Text) + documents.c.content_search


def _day_start(day: Any) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _in_order(rows: Sequence[RowMapping], query: DocumentQuery, seek: Seek) -> list[RowMapping]:
    descending = query.sort.descending != seek.backward
    field = query.sort.field

    def key(row: RowMapping) -> tuple[Any, UUID]:
        if field == "name":
            return listing.name_key(row["name"]), row["id"]
        if field == "expiry_date":
            return listing.expiry_key(row["expiry_date"]), row["id"]
        return row["created_at"], row["id"]

    return sorted(rows, key=key, reverse=descending)


def search_window(folded: str, size: int = 5) -> str:
    """The part of a search term to look up in a trigram index: the five characters with
    the most that are not letters (digits, separators: the rare trigrams in names such as
    "passport_sierra_102"), the rightmost of equals. Shorter terms are used whole."""
    if len(folded) <= size:
        return folded
    best_score, best = -1, folded[-size:]
    for start in range(len(folded) - size + 1):
        window = folded[start : start + size]
        score = sum(not ch.isalpha() for ch in window)
        if score >= best_score:
            best_score, best = score, window
    return best


def _phrase(folded: str) -> str:
    """An FTS5 string literal: the trigram tokenizer then matches it as a substring."""
    return '"' + folded.replace('"', '""') + '"'


def _like_escape(text: str) -> str:
    """``%`` and ``_`` are literal characters in a search, not wildcards."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SqlDocuments(Repo):
    @deferrable
    def add(self, document: Document) -> None:
        self._conn.execute(
            documents.insert(),
            {
                "id": document.id,
                "tenant_id": document.tenant_id,
                "number": document.number,
                "created_at": document.created_at,
                "created_by": document.created_by,
                "processing": document.processing.as_dict(),
                **_document_values(document),
            },
        )
        self._count(document.tenant_id, +1)

    def get(
        self, tenant_id: UUID, document_id: UUID, *, for_update: bool = False
    ) -> Document | None:
        params = {"tenant_id": tenant_id, "document_id": document_id}
        row = self._one(_GET_DOCUMENT_LOCKED if for_update else _GET_DOCUMENT, params)
        if row is None:
            return None
        attached = self._files_of([document_id], tenant_id)
        return _document(row, tenant_id, attached.get(document_id, []))

    def get_by_number(self, tenant_id: UUID, number: int) -> Document | None:
        found = self._conn.execute(
            sa.select(documents.c.id).where(
                documents.c.tenant_id == tenant_id, documents.c.number == number
            )
        ).scalar()
        return self.get(tenant_id, found) if found is not None else None

    def get_many(self, tenant_id: UUID, document_ids: Sequence[UUID]) -> list[Document]:
        if not document_ids:
            return []
        rows = self._all(
            sa.select(*_DOCUMENT_COLUMNS).where(
                documents.c.tenant_id == tenant_id, documents.c.id.in_(list(document_ids))
            )
        )
        return self._attach(tenant_id, rows)

    @deferrable
    def update(self, document: Document) -> None:
        values = _document_values(document)
        values["search_text"] = _with_content(values["search_text"])
        self._conn.execute(
            documents.update()
            .where(documents.c.tenant_id == document.tenant_id, documents.c.id == document.id)
            .values(**values)
        )

    @deferrable
    def sync_files(self, tenant_id: UUID, document_id: UUID) -> None:
        """Recompute what the document derives from its files (count, searchable names)."""
        row = self._one(
            sa.select(documents.c.name, documents.c.expiry_date).where(
                documents.c.tenant_id == tenant_id, documents.c.id == document_id
            )
        )
        if row is None:
            return
        names = (
            self._conn.execute(
                sa.select(files.c.filename)
                .where(files.c.tenant_id == tenant_id, files.c.document_id == document_id)
                .order_by(files.c.position)
            )
        ).scalars()
        values = _derived(row["name"], row["expiry_date"], list(names))
        values["search_text"] = _with_content(values["search_text"])
        self._conn.execute(
            documents.update()
            .where(documents.c.tenant_id == tenant_id, documents.c.id == document_id)
            .values(**values)
        )

    @deferrable
    def set_processing(
        self,
        tenant_id: UUID,
        document_id: UUID,
        processing: Processing,
        *,
        extracted_number: str | None = None,
        content: str | None = None,
    ) -> None:
        values: dict[str, Any] = {"processing": processing.as_dict()}
        if content is not None:
            values["extracted_number"] = extracted_number
            values["content_search"] = listing.content_search(content)
        self._conn.execute(
            documents.update()
            .where(documents.c.tenant_id == tenant_id, documents.c.id == document_id)
            .values(**values)
        )
        if content is not None:
            self.sync_files(tenant_id, document_id)  # search_text takes the new content

    def holders_of_number(
        self, tenant_id: UUID, numbers: Sequence[str], other_than: UUID | None
    ) -> int:
        """How many subjects other than ``other_than`` hold a document declared or read
        with one of ``numbers``."""
        wanted = [n for n in dict.fromkeys(numbers) if n]
        if not wanted:
            return 0
        holders = sa.select(sa.func.count(sa.distinct(documents.c.subject_id))).where(
            documents.c.tenant_id == tenant_id,
            sa.or_(documents.c.id_number.in_(wanted), documents.c.extracted_number.in_(wanted)),
            documents.c.subject_id.is_not(None),
        )
        if other_than is not None:
            holders = holders.where(documents.c.subject_id != other_than)
        return int(self._conn.execute(holders).scalar() or 0)

    def holders_of_file(
        self, tenant_id: UUID, digests: Sequence[str], other_than: UUID | None
    ) -> int:
        """How many subjects other than ``other_than`` have a file with one of ``digests``."""
        if not digests:
            return 0
        holders = (
            sa.select(sa.func.count(sa.distinct(documents.c.subject_id)))
            .select_from(files.join(documents, files.c.document_id == documents.c.id))
            .where(
                files.c.tenant_id == tenant_id,
                files.c.sha256.in_(list(digests)),
                documents.c.subject_id.is_not(None),
            )
        )
        if other_than is not None:
            holders = holders.where(documents.c.subject_id != other_than)
        return int(self._conn.execute(holders).scalar() or 0)

    @deferrable
    def put_text(
        self,
        tenant_id: UUID,
        document_id: UUID,
        sealed: bytes | None,
        characters: int,
        at: datetime,
    ) -> None:
        self._conn.execute(
            document_texts.delete().where(
                document_texts.c.tenant_id == tenant_id,
                document_texts.c.document_id == document_id,
            )
        )
        if sealed is None:
            return
        self._conn.execute(
            document_texts.insert(),
            {
                "document_id": document_id,
                "tenant_id": tenant_id,
                "sealed": sealed,
                "characters": characters,
                "updated_at": at,
            },
        )

    def get_text(self, tenant_id: UUID, document_id: UUID) -> bytes | None:
        row = self._one(
            sa.select(document_texts.c.sealed).where(
                document_texts.c.tenant_id == tenant_id,
                document_texts.c.document_id == document_id,
            )
        )
        return bytes(row["sealed"]) if row is not None else None

    @deferrable
    def delete(self, tenant_id: UUID, document_id: UUID) -> None:
        self._conn.execute(
            files.delete().where(files.c.tenant_id == tenant_id, files.c.document_id == document_id)
        )
        self._conn.execute(
            document_texts.delete().where(
                document_texts.c.tenant_id == tenant_id,
                document_texts.c.document_id == document_id,
            )
        )
        result = self._conn.execute(
            documents.delete()
            .where(documents.c.tenant_id == tenant_id, documents.c.id == document_id)
            .returning(documents.c.id)
        )
        if result.first() is not None:
            self._count(tenant_id, -1)

    def page(self, tenant_id: UUID, query: DocumentQuery, seek: Seek) -> list[Document]:
        if self._two_plans(query):
            ids = self._search_by_walking(tenant_id, query, seek)
            if ids is not None:
                rows = self._all(_DOCUMENTS_BY_ID, {"ids": ids})
                return self._attach(tenant_id, _in_order(rows, query, seek))
        statement = self.page_statement(tenant_id, query, seek)
        return self._attach(tenant_id, self._all(statement))

    def _search_by_walking(
        self, tenant_id: UUID, query: DocumentQuery, seek: Seek
    ) -> list[UUID] | None:
        """A search page found by walking the sort index and testing each row, when matches
        are dense enough for that to beat the trigram index; None when they are not.

        A short first walk samples the density d of matches. Walking costs about ``_WALK_COST``
        per row and needs 50/d rows for a page; the trigram index costs ``_INDEX_COST`` per
        match, d·N of them. The walk is continued only where it is the cheaper of the two.
        A page found by walking is exact: the walk goes in sort order.
        """
        found = self._walk(tenant_id, query, seek, _SAMPLE_ROWS)
        if len(found) >= seek.limit:
            return found
        total = self._conn.execute(_DOCUMENT_COUNT, {"tenant_id": tenant_id})
        documents_in_tenant = max(1, int(total.scalar() or 0))
        density = len(found) / _SAMPLE_ROWS
        walk_rows = seek.limit / density if density else float("inf")
        if walk_rows * _WALK_COST >= density * documents_in_tenant * _INDEX_COST:
            return None
        found = self._walk(tenant_id, query, seek, int(walk_rows * 4))
        return found if len(found) >= seek.limit else None

    def _walk(self, tenant_id: UUID, query: DocumentQuery, seek: Seek, budget: int) -> list[UUID]:
        statement = self.walk_statement(tenant_id, query, seek, budget=budget)
        return [row["id"] for row in self._all(statement)]

    def _two_plans(self, query: DocumentQuery) -> bool:
        folded = query.search_folded
        return self.dialect == "sqlite" and folded is not None and len(folded) >= _FTS_MIN_LENGTH

    def page_statement(self, tenant_id: UUID, query: DocumentQuery, seek: Seek) -> sa.Select[Any]:
        """One page in one statement (also what the query-plan checks explain). A search on
        SQLite is answered from the trigram index here."""
        conditions = self._conditions(tenant_id, query, search_by_index=True)
        return seek_rows(sa.select(*_DOCUMENT_COLUMNS).where(*conditions), documents, seek)

    def walk_statement(
        self, tenant_id: UUID, query: DocumentQuery, seek: Seek, *, budget: int = 1000
    ) -> sa.Select[Any]:
        """The ids of the first matches of a search along ``budget`` rows of the sort index.

        The walk reads only ``(id, sort key, search_text)``; for the default sort a covering
        index holds all three (see ``search_index.py``), so an unfiltered walk never touches
        the table. The inner query runs as a co-routine in index order, so with no ORDER BY
        outside it stops as soon as the page is full (``page`` puts the few rows back in
        order itself).
        """
        folded = query.search_folded or ""
        unsearched = dataclasses.replace(query, search=None)
        sort_key = documents.c[query.sort.column]
        inner = seek_rows(
            sa.select(documents.c.id, sort_key, documents.c.search_text).where(
                *self._conditions(tenant_id, unsearched)
            ),
            documents,
            dataclasses.replace(seek, limit=budget),
        ).subquery("walk")
        return (
            sa.select(inner.c.id)
            .where(inner.c.search_text.like(f"%{_like_escape(folded)}%", escape="\\"))
            .limit(seek.limit)
        )

    def page_at(
        self, tenant_id: UUID, query: DocumentQuery, *, offset: int, limit: int
    ) -> list[Document]:
        sort = query.sort
        column = documents.c[sort.column]
        order = (
            (column.desc(), documents.c.id.desc()) if sort.descending else (column, documents.c.id)
        )
        stmt = (
            sa.select(*_DOCUMENT_COLUMNS)
            .where(*self._conditions(tenant_id, query, search_by_index=True))
            .order_by(*order)
            .offset(offset)
            .limit(limit)
        )
        return self._with_files(tenant_id, stmt)

    def count(self, tenant_id: UUID, query: DocumentQuery) -> int:
        conditions = self._conditions(tenant_id, query, search_by_index=True)
        if len(conditions) == 1:  # only the tenant: the maintained counter answers
            return int(self._conn.execute(_DOCUMENT_COUNT, {"tenant_id": tenant_id}).scalar_one())
        stmt = sa.select(sa.func.count()).select_from(documents).where(*conditions)
        return int(self._conn.execute(stmt).scalar_one())

    def _conditions(
        self, tenant_id: UUID, query: DocumentQuery, *, search_by_index: bool = False
    ) -> list[Condition]:
        """The WHERE clause of ``query``; with ``search_by_index`` a search on SQLite uses the
        trigram index, otherwise it is a LIKE (pg_trgm serves that on PostgreSQL)."""
        c = documents.c
        found: list[Condition] = [c.tenant_id == tenant_id]
        if query.subject_id is not None:
            found.append(c.subject_id == query.subject_id)
        if query.types:
            found.append(c.type.in_(query.types))
        if query.created_from is not None:
            found.append(c.created_at >= _day_start(query.created_from))
        if query.created_to is not None:
            found.append(c.created_at < _day_start(query.created_to + timedelta(days=1)))
        if query.expires_before is not None:
            found.append(c.expiry_key < query.expires_before)
        if query.expires_after is not None:
            found.append(c.expiry_key > query.expires_after)
            found.append(c.expiry_key < listing.NO_EXPIRY)
        if query.classification == Classification.TENANT_PRIVATE:
            found.append(c.subject_id.is_(None))
        elif query.classification == Classification.ENTITY_PRIVATE:
            found.append(c.subject_id.is_not(None))
        if query.has_files is True:
            found.append(c.file_count > 0)
        elif query.has_files is False:
            found.append(c.file_count == 0)
        folded = query.search_folded
        if folded:
            found.extend(self._search(folded, by_index=search_by_index))
        return found

    def _search(self, folded: str, *, by_index: bool) -> list[Condition]:
        """A substring search. The trigram index is asked for the term's most distinctive
        window only (``search_window``), and the whole term is then checked on the few rows
        it returns: both trigram indexes read every trigram of a query, so a long term full
        of common ones ("passport_…") costs ten times what its rarest part does."""
        window = search_window(folded)
        exact = documents.c.search_text.like(f"%{_like_escape(folded)}%", escape="\\")
        if self.dialect == "sqlite":
            if not (by_index and len(folded) >= _FTS_MIN_LENGTH):
                # Tested row by row while walking the sort index (common or very short).
                return [exact]
            from_index = sa.text(
                "documents.rowid IN (SELECT rowid FROM document_search "
                "WHERE document_search MATCH :search_phrase)"
            ).bindparams(search_phrase=_phrase(window))
            return [from_index] if window == folded else [from_index, exact]
        if window == folded:
            return [exact]
        # On PostgreSQL the window is the LIKE that pg_trgm serves; strpos, which no index
        # serves, checks the whole term on the rows that come back.
        in_window = documents.c.search_text.like(f"%{_like_escape(window)}%", escape="\\")
        return [in_window, sa.func.strpos(documents.c.search_text, folded) > 0]

    def _with_files(self, tenant_id: UUID, stmt: sa.Select[Any]) -> list[Document]:
        return self._attach(tenant_id, self._all(stmt))

    def _attach(self, tenant_id: UUID, rows: Sequence[RowMapping]) -> list[Document]:
        attached = self._files_of([r["id"] for r in rows], tenant_id)
        return [_document(r, tenant_id, attached.get(r["id"], [])) for r in rows]

    def _count(self, tenant_id: UUID, delta: int) -> None:
        self._conn.execute(
            tenants.update()
            .where(tenants.c.id == tenant_id)
            .values(document_count=tenants.c.document_count + delta)
        )

    def _files_of(self, document_ids: list[UUID], tenant_id: UUID) -> dict[UUID, list[StoredFile]]:
        if not document_ids:
            return {}
        rows = self._all(_FILES_OF, {"tenant_id": tenant_id, "ids": document_ids})
        grouped: dict[UUID, list[StoredFile]] = {}
        for row in rows:
            grouped.setdefault(row["document_id"], []).append(_file(row, tenant_id))
        return grouped


class SqlFiles(Repo):
    @deferrable
    def add(self, stored: StoredFile) -> None:
        self._conn.execute(
            files.insert(),
            {
                "id": stored.id,
                "tenant_id": stored.tenant_id,
                "document_id": stored.document_id,
                "position": stored.position,
                "role": stored.role.value if stored.role else None,
                "filename": stored.filename,
                "content_type": stored.content_type,
                "size": stored.size,
                "sha256": stored.sha256,
                "blob_key": stored.blob_key,
                "wrapped_dek": stored.wrapped_dek,
                "kek_id": stored.kek_id,
                "created_at": stored.created_at,
                "created_by": stored.created_by,
            },
        )

    def count(self, tenant_id: UUID, document_id: UUID) -> int:
        stmt = sa.select(sa.func.count()).where(
            files.c.tenant_id == tenant_id, files.c.document_id == document_id
        )
        return int((self._conn.execute(stmt)).scalar_one())

    def next_position(self, tenant_id: UUID, document_id: UUID) -> int:
        stmt = sa.select(sa.func.max(files.c.position)).where(
            files.c.tenant_id == tenant_id, files.c.document_id == document_id
        )
        last = (self._conn.execute(stmt)).scalar()
        return 0 if last is None else int(last) + 1

    @deferrable
    def delete(self, tenant_id: UUID, file_id: UUID) -> None:
        self._conn.execute(
            files.delete().where(files.c.tenant_id == tenant_id, files.c.id == file_id)
        )
