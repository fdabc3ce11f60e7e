"""The event log: events numbered per tenant in commit order.

``add`` runs when its unit of work ends (``@at_unit_end``): it bumps the tenant's row in
``event_sequences`` (an upsert, so a tenant's first event makes the row) and inserts the
event with the number drawn. On PostgreSQL the bumped row stays locked until the
transaction ends, so a concurrent transaction of the same tenant draws its number only after
this one committed (or rolled back, leaving no gap): sequence order is commit order, and a
reader that pages by sequence cannot skip an event committed after it read. Because the
bump is the unit's last statement, the transaction holding that lock waits for no other row
lock, and no deadlock can form around it. SQLite has one writer at a time anyway.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import RowMapping
from sqlalchemy.dialects import postgresql, sqlite

from kycvault.adapters.db.event_tables import event_sequences, events
from kycvault.adapters.db.prepared import Prepared
from kycvault.adapters.db.repositories._base import Repo, at_unit_end, seek_rows
from kycvault.adapters.db.sealed_fields import RowFields
from kycvault.ports.persistence.events import Event, EventFilter
from kycvault.ports.persistence.records import Seek


def _event(row: RowMapping, sealed: RowFields) -> Event:
    return Event(
        id=row["id"],
        tenant_id=row["tenant_id"],
        type=row["type"],
        created_at=row["created_at"],
        data=sealed.event_data(row["tenant_id"], row),
        subject_id=row["subject_id"],
        document_id=row["document_id"],
        sequence=row["sequence"],
    )


def _next_sequence_statement(dialect_insert: Any) -> sa.ClauseElement:
    last = event_sequences.c.last
    statement: sa.ClauseElement = (
        dialect_insert(event_sequences)
        .values(tenant_id=sa.bindparam("tenant_id", type_=sa.Uuid()), last=1)
        .on_conflict_do_update(index_elements=["tenant_id"], set_={"last": last + 1})
        .returning(last)
    )
    return statement


# Every change writes an event: its two statements run on the driver's cursor (prepared.py).
_NEXT_SEQUENCE = {
    "postgresql": Prepared(_next_sequence_statement(postgresql.insert)),
    "sqlite": Prepared(_next_sequence_statement(sqlite.insert)),
}
_INSERT = Prepared(events.insert())


class SqlEvents(Repo):
    def _next_sequence(self, tenant_id: UUID) -> int:
        (last,) = _NEXT_SEQUENCE[self.dialect].one(self._conn, {"tenant_id": tenant_id})
        return int(last)

    @at_unit_end(order=0)
    def add(self, event: Event) -> None:
        _INSERT.many(
            self._conn,
            [
                {
                    "id": event.id,
                    "tenant_id": event.tenant_id,
                    "sequence": self._next_sequence(event.tenant_id),
                    "type": event.type,
                    "created_at": event.created_at,
                    "subject_id": event.subject_id,
                    "document_id": event.document_id,
                    **self._sealed.event_values(event.tenant_id, event.id, event.data),
                }
            ],
        )

    def get(self, tenant_id: UUID, event_id: UUID) -> Event | None:
        c = events.c
        row = self._one(events.select().where(c.tenant_id == tenant_id, c.id == event_id))
        return _event(row, self._sealed) if row else None

    def page(self, tenant_id: UUID, where: EventFilter, seek: Seek) -> list[Event]:
        c = events.c
        conditions: list[sa.ColumnElement[bool]] = [c.tenant_id == tenant_id]
        if where.types:
            conditions.append(c.type.in_(where.types))
        if where.subject_id is not None:
            conditions.append(c.subject_id == where.subject_id)
        if where.document_id is not None:
            conditions.append(c.document_id == where.document_id)
        if where.created_from is not None:
            conditions.append(c.created_at >= where.created_from)
        if where.created_to is not None:
            conditions.append(c.created_at <= where.created_to)
        stmt: sa.Select[Any] = events.select().where(*conditions)
        sealed = self._sealed
        return [_event(row, sealed) for row in self._all(seek_rows(stmt, events, seek))]

    def purge_before(self, before: datetime, limit: int) -> int:
        oldest = (
            sa.select(events.c.id)
            .where(events.c.created_at < before)
            .order_by(events.c.created_at)
            .limit(limit)
        )
        result = self._conn.execute(
            events.delete().where(events.c.id.in_(oldest.scalar_subquery())).returning(events.c.id)
        )
        return len(result.all())
