"""Statements run on the driver's cursor, for the few hot writes where SQLAlchemy's execution
path costs more than the database does.

Every read of the API appends an audit event: a head upsert, an insert and a head move. On
SQLite those three statements take about 60 µs in the driver and about 300 µs through
``Connection.execute`` (cache-key lookup, execution context, event dispatch, result set-up
per call). A ``Prepared`` statement is compiled once per dialect, with the bind processors of
its columns' types (the UUID and timestamp encodings stay SQLAlchemy's, so a row written here
reads back through the ordinary path unchanged), and run on the DBAPI cursor of the
connection's current transaction. Driver errors are wrapped as SQLAlchemy wraps them, so the
store translates them as it does every other statement's. Hot reads have their counterpart
in ``prepared_reads.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql.compiler import SQLCompiler


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    # Positional drivers (SQLite's qmark) take the values in this order; named ones by name.
    order: tuple[str, ...] | None
    processors: Mapping[str, Callable[[Any], Any]]
    # Values the statement carries itself (``.values(last_seq=0)``), under their bind names.
    fixed: Mapping[str, Any]


class Prepared:
    def __init__(self, statement: sa.ClauseElement) -> None:
        self._statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect: sa.Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self._statement.compile(dialect=dialect)
            assert isinstance(compiled, SQLCompiler)
            processors = {
                name: processor
                for name, bind in compiled.binds.items()
                if (processor := bind.type._cached_bind_processor(dialect)) is not None
            }
            order = tuple(compiled.positiontup or ()) if compiled.positional else None
            found = self._compiled[dialect.name] = _Compiled(
                compiled.string, order, processors, fixed_values(compiled)
            )
        return found

    def _parameters(self, compiled: _Compiled, values: Mapping[str, Any]) -> Any:
        processors = compiled.processors
        processed = {
            name: processors[name](value) if name in processors else value
            for name, value in {**compiled.fixed, **values}.items()
        }
        if compiled.order is None:
            return processed
        return tuple(processed[name] for name in compiled.order)

    def one(self, conn: sa.Connection, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """Run with ``values`` and return the first row it returns (raw driver values)."""
        compiled = self._for(conn.dialect)
        parameters = self._parameters(compiled, values)
        with driver_cursor(conn, compiled.sql, parameters) as cursor:
            cursor.execute(compiled.sql, parameters)
            row = cursor.fetchone()
        if row is None:
            raise sa.exc.NoResultFound("the statement returned no row")
        return tuple(row)

    def many(self, conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run once per row of ``rows`` (the driver's ``executemany``)."""
        if not rows:
            return
        compiled = self._for(conn.dialect)
        parameters = [self._parameters(compiled, row) for row in rows]
        with driver_cursor(conn, compiled.sql, parameters) as cursor:
            if len(parameters) == 1:
                cursor.execute(compiled.sql, parameters[0])
            else:
                cursor.executemany(compiled.sql, parameters)


@contextmanager
def driver_cursor(conn: sa.Connection, sql: str, parameters: Any) -> Iterator[Any]:
    """A cursor of the DBAPI connection of the transaction ``conn`` has begun (the statements
    run in it), closed after use; a driver error is wrapped as SQLAlchemy wraps it
    (OperationalError, IntegrityError...: DBAPIError subclasses)."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        yield cursor
    except conn.dialect.loaded_dbapi.Error as exc:
        raise _wrapped(sql, parameters, exc, conn) from exc
    finally:
        cursor.close()


def _wrapped(sql: str, parameters: Any, exc: Exception, conn: sa.Connection) -> StatementError:
    return DBAPIError.instance(
        sql, parameters, exc, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect
    )


def fixed_values(compiled: SQLCompiler) -> dict[str, Any]:
    return {
        name: bind.value
        for name, bind in compiled.binds.items()
        if not bind.required and bind.callable is None
    }
