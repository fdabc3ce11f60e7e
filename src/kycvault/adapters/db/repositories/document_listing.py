"""The listing and search of documents: one page of a ``DocumentQuery``, by keyset or by
offset, and its count; a search is planned by cost (a walk along the sort index, or the
trigram index).

Each filter of ``DocumentQuery`` maps onto an index (see ``tables.py``): the composite
``(tenant_id, sort key, id)`` indexes serve every sort, ``(tenant_id, subject_id, …)``,
``(tenant_id, type, …)`` and ``(tenant_id, review_status, …)`` the equality filters, partial
indexes the rare subsets, and a trigram index the substring search.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import RowMapping
from sqlalchemy.sql.util import ClauseAdapter

from kycvault.adapters.db.repositories._base import seek_rows
from kycvault.adapters.db.repositories.document_rows import DOCUMENT_COLUMNS, DocumentRows
from kycvault.adapters.db.tables import documents, tenants
from kycvault.domain import listing
from kycvault.domain.listing import DocumentQuery
from kycvault.domain.models import Document
from kycvault.domain.types import Classification
from kycvault.ports.persistence.records import Seek

Condition = sa.ColumnElement[bool] | sa.TextClause
_S = TypeVar("_S", bound=sa.Select[Any])
_FTS_MIN_LENGTH = 3  # the trigram index answers substrings of three characters or more
# Costs measured at a million documents: the trigram index, a lookup and a sort per match;
# a walk along the default sort, which reads only a covering index (search_index.py);
# other sorts read table rows, several times dearer, which the plan accepts for them.
_INDEX_COST = 2.0e-6
_WALK_COST = 0.8e-6
_SAMPLE_ROWS = 1_000

_DOCUMENTS_BY_ID = sa.select(*DOCUMENT_COLUMNS).where(
    documents.c.id.in_(sa.bindparam("ids", expanding=True))
)
# A document number names a handful of documents; past this many, SQLite is not told their
# rowids (``DocumentListing._by_number``).
_MAX_NUMBER_MATCHES = 1000
_ROWID: sa.ColumnClause[int] = sa.literal_column("documents.rowid", sa.Integer)
_NUMBER_ROWIDS = sa.union_all(
    *(
        sa.select(_ROWID).where(
            documents.c.tenant_id == sa.bindparam("tenant_id"), column == sa.bindparam("index")
        )
        for column in (documents.c.id_number_index, documents.c.extracted_number_index)
    )
).limit(_MAX_NUMBER_MATCHES + 1)
_DOCUMENT_COUNT = sa.select(tenants.c.document_count).where(
    tenants.c.id == sa.bindparam("tenant_id")
)


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


class DocumentListing(DocumentRows):
    """Pages and counts of a ``DocumentQuery``."""

    def page(self, tenant_id: UUID, query: DocumentQuery, seek: Seek) -> list[Document]:
        if self._two_plans(query):
            ids = self._search_by_walking(tenant_id, query, seek)
            if ids is not None:
                rows = self._all(_DOCUMENTS_BY_ID, {"ids": ids})
                return self._attach(tenant_id, _in_order(rows, query, seek))
        return self._with_files(tenant_id, self.page_statement(tenant_id, query, seek))

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
        matches = self._walk(tenant_id, query, seek, _SAMPLE_ROWS)
        if len(matches) >= seek.limit:
            return matches
        total = self._conn.execute(_DOCUMENT_COUNT, {"tenant_id": tenant_id})
        documents_in_tenant = max(1, int(total.scalar() or 0))
        density = len(matches) / _SAMPLE_ROWS
        walk_rows = seek.limit / density if density else float("inf")
        if walk_rows * _WALK_COST >= density * documents_in_tenant * _INDEX_COST:
            return None
        matches = self._walk(tenant_id, query, seek, int(walk_rows * 4))
        return matches if len(matches) >= seek.limit else None

    def _walk(self, tenant_id: UUID, query: DocumentQuery, seek: Seek, budget: int) -> list[UUID]:
        statement = self.walk_statement(tenant_id, query, seek, budget=budget)
        return [row["id"] for row in self._all(statement)]

    def _two_plans(self, query: DocumentQuery) -> bool:
        folded = query.search_folded
        return (
            self.dialect == "sqlite"
            and folded is not None
            and len(folded) >= _FTS_MIN_LENGTH
            and query.id_number is None  # a number's few matches are searched as they are read
        )

    def _by_number(self, tenant_id: UUID, query: DocumentQuery, statement: _S) -> _S:
        """``statement`` over the documents of the queried number only, on SQLite.

        A number names a handful of documents, found through either number index; but given
        their OR beside an ORDER BY, SQLite's planner walks the sort's index instead and tests
        every document of the tenant. So their rowids are looked up first, and the statement
        reads a subquery that fetches just those rows (its LIMIT keeps SQLite from merging it
        into the statement, and the planner from choosing another index); the filters and
        the sort then apply to those few rows. PostgreSQL ORs the two indexes' bitmaps."""
        if self.dialect != "sqlite" or query.id_number is None:
            return statement
        index = self._sealed.number_index(tenant_id, query.id_number)
        rowids = self.number_rowids(tenant_id, index)
        if rowids is None:
            return statement
        numbered = (
            sa.select(documents)
            .where(documents.c.tenant_id == tenant_id, _ROWID.in_(rowids))
            .limit(len(rowids))
            .subquery("numbered")
        )
        adapted: _S = ClauseAdapter(numbered).traverse(statement)
        return adapted

    def number_rowids(self, tenant_id: UUID, index: str | None) -> list[int] | None:
        """The rowids of the tenant's documents declared or read with the number whose blind
        index is ``index``; None when there are more than ``_MAX_NUMBER_MATCHES``."""
        params = {"tenant_id": tenant_id, "index": index}
        found = list(dict.fromkeys(self._conn.execute(_NUMBER_ROWIDS, params).scalars()))
        return found if len(found) <= _MAX_NUMBER_MATCHES else None

    def page_statement(self, tenant_id: UUID, query: DocumentQuery, seek: Seek) -> sa.Select[Any]:
        """One page in one statement (also what the query-plan checks explain). A search on
        SQLite is answered from the trigram index here."""
        conditions = self._conditions(tenant_id, query, search_by_index=True)
        statement = seek_rows(sa.select(*DOCUMENT_COLUMNS).where(*conditions), documents, seek)
        return self._by_number(tenant_id, query, statement)

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
            sa.select(*DOCUMENT_COLUMNS)
            .where(*self._conditions(tenant_id, query, search_by_index=True))
            .order_by(*order)
            .offset(offset)
            .limit(limit)
        )
        return self._with_files(tenant_id, self._by_number(tenant_id, query, stmt))

    def count(self, tenant_id: UUID, query: DocumentQuery) -> int:
        conditions = self._conditions(tenant_id, query, search_by_index=True)
        if len(conditions) == 1:  # only the tenant: the maintained counter answers
            return int(self._conn.execute(_DOCUMENT_COUNT, {"tenant_id": tenant_id}).scalar_one())
        stmt = sa.select(sa.func.count()).select_from(documents).where(*conditions)
        return int(self._conn.execute(self._by_number(tenant_id, query, stmt)).scalar_one())

    def _conditions(
        self, tenant_id: UUID, query: DocumentQuery, *, search_by_index: bool = False
    ) -> list[Condition]:
        """The WHERE clause of ``query``; with ``search_by_index`` a search on SQLite uses the
        trigram index, otherwise it is a LIKE (pg_trgm serves that on PostgreSQL)."""
        c = documents.c
        conditions: list[Condition] = [c.tenant_id == tenant_id]
        if query.subject_id is not None:
            conditions.append(c.subject_id == query.subject_id)
        if query.types:
            conditions.append(c.type.in_(query.types))
        if query.review_statuses:
            conditions.append(c.review_status.in_([s.value for s in query.review_statuses]))
        if query.id_number is not None:
            # Declared or read from the MRZ: each has its own (tenant_id, number index) index
            # (PostgreSQL ORs their bitmaps; SQLite: ``_by_number``).
            index = self._sealed.number_index(tenant_id, query.id_number)
            conditions.append(sa.or_(c.id_number_index == index, c.extracted_number_index == index))
        if query.created_from is not None:
            conditions.append(c.created_at >= _day_start(query.created_from))
        if query.created_to is not None:
            conditions.append(c.created_at < _day_start(query.created_to + timedelta(days=1)))
        if query.expires_before is not None:
            conditions.append(c.expiry_key < query.expires_before)
        if query.expires_after is not None:
            conditions.append(c.expiry_key > query.expires_after)
            conditions.append(c.expiry_key < listing.NO_EXPIRY)
        if query.classification == Classification.TENANT_PRIVATE:
            conditions.append(c.subject_id.is_(None))
        elif query.classification == Classification.ENTITY_PRIVATE:
            conditions.append(c.subject_id.is_not(None))
        if query.has_files is True:
            conditions.append(c.file_count > 0)
        elif query.has_files is False:
            conditions.append(c.file_count == 0)
        folded = query.search_folded
        if folded:
            # Beside a number (``_by_number``) a search is tested on its few rows.
            by_index = search_by_index and query.id_number is None
            conditions.extend(self._search(folded, by_index=by_index))
        return conditions

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
