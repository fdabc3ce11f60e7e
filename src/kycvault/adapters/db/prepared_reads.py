"""SELECTs run on the driver's cursor: the read counterpart of ``prepared.py``, for the hot
reads whose rows SQLAlchemy's execution and result machinery cost more to hand over than
the database costs to find.

A listing page reads the files of its fifty documents in one statement. Through
``Connection.execute`` that statement is re-rendered on every call (its expanding IN takes
as many parameters as there are documents), and each of its rows becomes a ``Row`` then a
``RowMapping`` read by name. A ``PreparedRead`` is compiled once per dialect and once per
number of values of each expanding parameter, and returns each row as a plain list. Its
values are decoded by the result processors of the columns' own types for the dialect, the
ones the ordinary path uses, so a row reads the same either way. Columns named in
``repeated`` hold few distinct values (the tenant key that wraps a file's data key, say):
each distinct raw value is decoded once per call; a column that ``echoes`` a parameter holds
the values given for it (the files' document ids), known without decoding. Driver errors
are wrapped as ``prepared.py`` wraps them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.compiler import SQLCompiler

from kycvault.adapters.db.prepared import driver_cursor, fixed_values

Processor = Callable[[Any], Any]
# Expanded forms kept per dialect: one per page size in use (a handful), capped so that
# odd sizes (a subject's documents, a long page) cannot grow it without bound.
_MAX_EXPANSIONS = 128


@dataclass(frozen=True, slots=True)
class _Expanded:
    sql: str
    # Positional drivers (SQLite's qmark) take the values in this order; named ones by name.
    order: tuple[str, ...] | None
    processors: Mapping[str, Processor]
    # The name of each element of an expanding parameter, in the order of its values.
    elements: Mapping[str, tuple[str, ...]]


@dataclass(slots=True)
class _Compiled:
    compiled: SQLCompiler
    expanding: tuple[str, ...]
    # Bind processors of the other parameters, and the values the statement carries itself.
    processors: Mapping[str, Processor]
    fixed: Mapping[str, Any]
    # (position, processor) of the columns that have one, those decoded value by value...
    plain: tuple[tuple[int, Processor], ...]
    # ...and those decoded once per distinct value, known ahead for an ``echoes`` column.
    repeated: tuple[_Repeated, ...]
    expansions: dict[tuple[int, ...], _Expanded]


@dataclass(frozen=True, slots=True)
class _Repeated:
    position: int
    processor: Processor
    # The parameter whose values the column holds, and what the driver is given of one.
    echoes: str | None
    bind: Processor | None

    def known(self, values: Mapping[str, Any]) -> dict[Any, Any]:
        """Raw values already decoded: those given to the driver for ``echoes``."""
        if self.echoes is None:
            return {}
        bind = self.bind
        given = values[self.echoes]
        return {bind(value) if bind else value: value for value in given}


class PreparedRead:
    """``statement`` on the driver's cursor. ``repeated`` names columns of few distinct values;
    ``echoes`` maps a column to the expanding parameter it is compared with (``document_id``
    to the ``ids`` of ``document_id IN :ids``): its raw values are those given, already known
    decoded."""

    def __init__(
        self,
        statement: sa.Select[Any],
        *,
        repeated: Collection[str] = (),
        echoes: Mapping[str, str] | None = None,
    ) -> None:
        self._statement = statement
        self._echoes = dict(echoes or {})
        self._repeated = frozenset(repeated) | set(self._echoes)
        self.columns: tuple[str, ...] = tuple(statement.selected_columns.keys())
        unknown = self._repeated - set(self.columns)
        if unknown:
            raise ValueError(f"not selected: {sorted(unknown)}")
        self._compiled: dict[str, _Compiled] = {}

    def position(self, name: str) -> int:
        return self.columns.index(name)

    def _for(self, dialect: sa.Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self._statement.compile(dialect=dialect)
            assert isinstance(compiled, SQLCompiler)
            plain: list[tuple[int, Processor]] = []
            repeated: list[_Repeated] = []
            for index, column in enumerate(self._statement.selected_columns):
                processor = column.type._cached_result_processor(dialect, None)
                name = self.columns[index]
                if processor is None:
                    continue
                if name not in self._repeated:
                    plain.append((index, processor))
                    continue
                echoes = self._echoes.get(name)
                bind = None
                if echoes is not None:
                    bind = compiled.binds[echoes].type._cached_bind_processor(dialect)
                repeated.append(_Repeated(index, processor, echoes, bind))
            expanding = tuple(name for name, bind in compiled.binds.items() if bind.expanding)
            processors = {
                name: processor
                for name, bind in compiled.binds.items()
                if not bind.expanding
                and (processor := bind.type._cached_bind_processor(dialect)) is not None
            }
            found = self._compiled[dialect.name] = _Compiled(
                compiled,
                expanding,
                processors,
                fixed_values(compiled),
                tuple(plain),
                tuple(repeated),
                {},
            )
        return found

    def _expanded(self, compiled: _Compiled, values: Mapping[str, Any]) -> _Expanded:
        sizes = tuple(len(values[name]) for name in compiled.expanding)
        found = compiled.expansions.get(sizes)
        if found is None:
            # SQLAlchemy renders the statement for these sizes as it does on every execution
            # (placeholder values: only their number matters here).
            shape = {
                **values,
                **{n: [None] * s for n, s in zip(compiled.expanding, sizes, strict=True)},
            }
            state = compiled.compiled.construct_expanded_state(shape)
            elements = {
                name: tuple(state.parameter_expansion.get(name, ())) for name in compiled.expanding
            }
            order = tuple(state.positiontup) if state.positiontup is not None else None
            # The expanded elements' processors are the expanding parameter's own.
            processors = {**compiled.processors, **state.processors}
            found = _Expanded(state.statement, order, processors, elements)
            if len(compiled.expansions) >= _MAX_EXPANSIONS:
                compiled.expansions.clear()
            compiled.expansions[sizes] = found
        return found

    def _parameters(
        self, compiled: _Compiled, expanded: _Expanded, values: Mapping[str, Any]
    ) -> Any:
        named: dict[str, Any] = {}
        for name, value in {**compiled.fixed, **values}.items():
            elements = expanded.elements.get(name)
            if elements is None:
                named[name] = value
            else:
                named.update(zip(elements, value, strict=True))
        processors = expanded.processors
        for name, processor in processors.items():
            if name in named:
                named[name] = processor(named[name])
        if expanded.order is None:
            return named
        return tuple(named[name] for name in expanded.order)

    def all(self, conn: sa.Connection, values: Mapping[str, Any]) -> list[list[Any]]:
        """Every row, each a list of decoded values in the order of ``columns``."""
        compiled = self._for(conn.dialect)
        expanded = self._expanded(compiled, values)
        parameters = self._parameters(compiled, expanded, values)
        with driver_cursor(conn, expanded.sql, parameters) as cursor:
            cursor.execute(expanded.sql, parameters)
            raw = cursor.fetchall()
        rows = [list(row) for row in raw]
        for index, processor in compiled.plain:
            for row in rows:
                row[index] = processor(row[index])
        for repeated in compiled.repeated:
            index, processor = repeated.position, repeated.processor
            decoded = repeated.known(values)
            for row in rows:
                value = row[index]
                if value in decoded:
                    row[index] = decoded[value]
                else:
                    row[index] = decoded[value] = processor(value)
        return rows
