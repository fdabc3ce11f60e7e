"""Every listing filter, with every sort, is answered from an index on SQLite: the plan
searches an index on ``tenant_id`` and never scans the documents table. (The benchmark in
``bench/listing.py`` prints the same plans, and timings, at a million documents on SQLite and
PostgreSQL.)"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any, cast

import pytest
import sqlalchemy as sa

from kycvault.adapters.db import migrate
from kycvault.adapters.db.connection import Connection
from kycvault.adapters.db.database import create_database
from kycvault.adapters.db.field_codec import FieldCodec
from kycvault.adapters.db.repositories.document_listing import search_window
from kycvault.adapters.db.repositories.documents import SqlDocuments
from kycvault.domain.listing import DocumentQuery, Sort
from kycvault.domain.review import ReviewStatus
from kycvault.domain.types import Classification
from kycvault.ports.persistence.records import Seek

FILTERS: dict[str, DocumentQuery] = {
    "none": DocumentQuery(),
    "subject": DocumentQuery(subject_id=uuid.uuid4()),
    "type": DocumentQuery(types=("passport",)),
    "types": DocumentQuery(types=("passport", "national_id")),
    "created range": DocumentQuery(created_from=date(2026, 1, 1), created_to=date(2026, 1, 31)),
    "search": DocumentQuery(search="lovelace"),
    "short search": DocumentQuery(search="lo"),
    "expires before": DocumentQuery(expires_before=date(2027, 1, 1)),
    "expires after": DocumentQuery(expires_after=date(2027, 1, 1)),
    "library": DocumentQuery(classification=Classification.TENANT_PRIVATE),
    "entity": DocumentQuery(classification=Classification.ENTITY_PRIVATE),
    "with files": DocumentQuery(has_files=True),
    "without files": DocumentQuery(has_files=False),
    "review status": DocumentQuery(review_statuses=(ReviewStatus.PENDING,)),
    "review statuses": DocumentQuery(
        review_statuses=(ReviewStatus.REJECTED, ReviewStatus.RESUBMISSION_REQUESTED)
    ),
}
POSITIONS: dict[str, Any] = {
    "created_at": datetime(2026, 6, 1, tzinfo=UTC),
    "name_key": "m",
    "expiry_key": date(2028, 1, 1),
}


class _FixedIndex:
    """Stands in for the field codec: a plan depends on the blind index's column, not its
    value (the real one needs the tenant's key)."""

    def index(self, conn: sa.Connection, tenant_id: uuid.UUID, label: str, value: str) -> str:
        return "0" * 64


class _TwoNumbered(SqlDocuments):
    """A number that two documents (rowids 1 and 2) hold."""

    def number_rowids(self, tenant_id: uuid.UUID, index: str | None) -> list[int] | None:
        return [1, 2]


@pytest.fixture(scope="module")
async def conn(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Connection]:
    database = create_database(f"sqlite:///{tmp_path_factory.mktemp('plans') / 'p.db'}")
    await migrate.upgrade(database)
    async with database.transaction(write=False) as connection:
        yield connection
    await database.dispose()


async def plan(
    conn: Connection, query: DocumentQuery, *, deep: bool, by_index: bool = True
) -> list[str]:
    sort = query.sort
    column = ("-" if sort.descending else "") + sort.column
    position = (POSITIONS[sort.column], uuid.uuid4()) if deep else None
    seek = Seek(sort=column, limit=51, position=position)

    def explain(sync: sa.Connection) -> list[str]:
        repository = _TwoNumbered(sync, cast(FieldCodec, _FixedIndex()))
        if by_index:
            stmt = repository.page_statement(uuid.uuid4(), query, seek)
        else:
            stmt = repository.walk_statement(uuid.uuid4(), query, seek)
        sql = str(stmt.compile(dialect=sync.dialect, compile_kwargs={"literal_binds": True}))
        return [str(row[3]) for row in sync.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]

    return await conn.run_sync(explain)


@pytest.mark.anyio
@pytest.mark.parametrize("sort", list(Sort))
@pytest.mark.parametrize(
    ("name", "by_index"),
    # A search has two plans: a bounded walk of the sort index testing each row (common
    # matches), then, if that did not fill the page, the trigram index (rare ones).
    [(name, True) for name in FILTERS]
    + [(name, False) for name, query in FILTERS.items() if query.search],
)
@pytest.mark.parametrize("deep", [False, True], ids=["first page", "deep page"])
async def test_no_table_scan(
    conn: Connection, name: str, sort: Sort, deep: bool, by_index: bool
) -> None:
    query = DocumentQuery(**{**_fields(FILTERS[name]), "sort": sort})
    steps = await plan(conn, query, deep=deep, by_index=by_index)
    on_documents = [s for s in steps if " documents " in f" {s} "]
    assert on_documents, steps
    assert not any(s.startswith("SCAN documents") for s in on_documents), steps
    assert any(" INDEX " in s and "tenant_id=?" in s for s in on_documents), steps


@pytest.mark.anyio
@pytest.mark.parametrize("sort", list(Sort))
@pytest.mark.parametrize(
    "others",
    [{}, {"types": ("passport",)}, {"search": "lovelace"}, {"subject_id": uuid.uuid4()}],
    ids=["alone", "type", "search", "subject"],
)
@pytest.mark.parametrize("deep", [False, True], ids=["first page", "deep page"])
async def test_a_number_reads_its_documents_by_rowid(
    conn: Connection, sort: Sort, others: dict[str, Any], deep: bool
) -> None:
    """Whatever else is filtered and however sorted, the documents of a number are read by
    rowid and sorted: never a walk along an index of the tenant's documents."""
    query = DocumentQuery(id_number="X1234567", sort=sort, **others)
    steps = await plan(conn, query, deep=deep)
    on_documents = [s for s in steps if " documents " in f" {s} "]
    assert on_documents == ["SEARCH documents USING INTEGER PRIMARY KEY (rowid=?)"], steps


def _fields(query: DocumentQuery) -> dict[str, Any]:
    return {name: getattr(query, name) for name in DocumentQuery.__dataclass_fields__}


@pytest.mark.parametrize(
    ("term", "window"),
    [
        ("ada", "ada"),
        ("lovelace", "elace"),
        ("passport_sierra_november_101", "r_101"),
        ("scan 2024-03.pdf", "4-03."),
        ("x_1_y", "x_1_y"),
    ],
)
def test_search_window_prefers_the_rare_characters(term: str, window: str) -> None:
    assert search_window(term) == window
    assert window in term
