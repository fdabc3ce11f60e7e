"""Shared plumbing of the repositories: row access and keyset pagination.

Repositories are plain synchronous code over a SQLAlchemy ``Connection``. The store runs
each repository call as one unit on its connection (``run_sync``): one thread hop per call
on SQLite, one greenlet switch on PostgreSQL's async driver, however many statements the
call makes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import RowMapping

from kycvault.adapters.db.field_codec import FieldCodec
from kycvault.adapters.db.sealed_fields import RowFields
from kycvault.ports.persistence.records import Seek

F = TypeVar("F", bound=Callable[..., None])


def deferrable(method: F) -> F:
    """Marks a write whose caller needs no answer: the store may run it later in the same
    transaction, together with the next call or the commit (see ``database.Connection``)."""
    method.deferrable = True  # type: ignore[attr-defined]
    return method


def at_unit_end(order: int) -> Callable[[F], F]:
    """Marks a deferrable write that runs when its unit of work ends, after every other
    statement of the unit, those of lower ``order`` first (``Connection.defer(last=True)``)."""

    def mark(method: F) -> F:
        method.deferrable = True  # type: ignore[attr-defined]
        method.at_unit_end = order  # type: ignore[attr-defined]
        return method

    return mark


def seek_rows(stmt: sa.Select[Any], table: sa.Table, seek: Seek) -> sa.Select[Any]:
    """Keyset pagination: ``(sort column, id)`` compared as a row value, so the composite
    ``(tenant_id, column, id)`` index answers any page at any depth with a range scan."""
    descending = seek.sort.startswith("-")
    column = table.c[seek.sort.lstrip("-")]
    scan_descending = descending != seek.backward
    if seek.position is not None:
        value, row_id = seek.position
        key = sa.tuple_(column, table.c.id)
        bound = sa.tuple_(sa.literal(value, column.type), sa.literal(row_id, table.c.id.type))
        if scan_descending:
            stmt = stmt.where(key <= bound if seek.inclusive else key < bound)
        else:
            stmt = stmt.where(key >= bound if seek.inclusive else key > bound)
    if scan_descending:
        stmt = stmt.order_by(column.desc(), table.c.id.desc())
    else:
        stmt = stmt.order_by(column.asc(), table.c.id.asc())
    return stmt.limit(seek.limit)


class Repo:
    def __init__(self, conn: sa.Connection, fields: FieldCodec | None = None) -> None:
        self._conn = conn
        self._field_codec = fields

    @property
    def _fields(self) -> FieldCodec:
        """What seals and indexes the identity fields of this repository's rows."""
        if self._field_codec is None:
            raise RuntimeError("this store was opened without a field codec")
        return self._field_codec

    @property
    def _sealed(self) -> RowFields:
        return RowFields(self._fields, self._conn)

    @property
    def dialect(self) -> str:
        return self._conn.dialect.name

    # Hot statements are built once, at import, with bind parameters: building a SELECT and
    # its cache key costs about 130 µs a call, three times what executing it on SQLite does.
    def _one(self, stmt: sa.Executable, params: dict[str, Any] | None = None) -> RowMapping | None:
        return self._conn.execute(stmt, params).mappings().first()

    def _all(
        self, stmt: sa.Executable, params: dict[str, Any] | None = None
    ) -> Sequence[RowMapping]:
        return self._conn.execute(stmt, params).mappings().all()

    def _exists(self, table: sa.Table, *conditions: sa.ColumnElement[bool]) -> bool:
        stmt = sa.select(sa.literal(1)).select_from(table).where(*conditions).limit(1)
        return (self._conn.execute(stmt)).first() is not None
