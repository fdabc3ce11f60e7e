"""Expiry notifications: the documents a scan looks at, its marks, and the expiring report.

The scan's reads are range scans of the documents' ``(tenant_id, expiry_key, id)`` index (the
expiry date, or 9999-12-31 when there is none), a bounded window of dates, keyset-paged; the
test of a mark is a primary-key lookup. A mark is inserted with ``ON CONFLICT DO NOTHING``:
on PostgreSQL a concurrent transaction inserting the same mark waits for the first to end,
then finds the row and inserts nothing, so only one of them records the event.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from kycvault.adapters.db.event_tables import expiry_notifications
from kycvault.adapters.db.repositories._base import Repo
from kycvault.adapters.db.tables import documents, subjects
from kycvault.ports.persistence.expiry import ExpiringDocument, ExpiringSubject

_d = documents.c
_n = expiry_notifications.c


def _document(row: Any) -> ExpiringDocument:
    return ExpiringDocument(
        id=row["id"], subject_id=row["subject_id"], type=row["type"], expiry_date=row["expiry_date"]
    )


_COLUMNS = (_d.id, _d.subject_id, _d.type, _d.expiry_date)


class SqlExpiryNotifications(Repo):
    def unnotified(
        self,
        tenant_id: UUID,
        first: date,
        last: date,
        threshold: int,
        after: tuple[date, UUID] | None,
        limit: int,
    ) -> list[ExpiringDocument]:
        marked = (
            sa.select(sa.literal(1))
            .where(
                _n.document_id == _d.id,
                _n.expiry_date == _d.expiry_date,
                _n.threshold == threshold,
            )
            .exists()
        )
        stmt = sa.select(*_COLUMNS).where(
            _d.tenant_id == tenant_id,
            _d.expiry_key >= first,
            _d.expiry_key <= last,
            _d.notify_before_expiry.is_(True),
            ~marked,
        )
        if after is not None:
            bound = sa.tuple_(sa.literal(after[0], _d.expiry_key.type), sa.literal(after[1]))
            stmt = stmt.where(sa.tuple_(_d.expiry_key, _d.id) > bound)
        stmt = stmt.order_by(_d.expiry_key, _d.id).limit(limit)
        return [_document(row) for row in self._all(stmt)]

    def mark(
        self,
        tenant_id: UUID,
        document_id: UUID,
        expiry_date: date,
        threshold: int,
        at: datetime,
        told: bool,
    ) -> bool:
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        # From the document's row as it is now: a document re-dated, deleted or no longer
        # to be told since the scan read it gets no mark (and so no event).
        current = sa.select(
            _d.id,
            _d.expiry_date,
            sa.literal(threshold, sa.Integer),
            _d.tenant_id,
            sa.literal(at, _n.notified_at.type),
            sa.literal(told, sa.Boolean),
        ).where(
            _d.tenant_id == tenant_id,
            _d.id == document_id,
            _d.expiry_date == expiry_date,
            _d.notify_before_expiry.is_(True),
        )
        columns = ["document_id", "expiry_date", "threshold", "tenant_id", "notified_at", "told"]
        stmt = (
            dialect_insert(expiry_notifications)
            .from_select(columns, current)
            .on_conflict_do_nothing()
            .returning(_n.document_id)
        )
        return self._conn.execute(stmt).first() is not None

    def forget_before(self, expiry_date: date, limit: int) -> int:
        oldest = (
            sa.select(_n.document_id, _n.expiry_date, _n.threshold)
            .where(_n.expiry_date < expiry_date)
            .order_by(_n.expiry_date)
            .limit(limit)
        )
        key = sa.tuple_(_n.document_id, _n.expiry_date, _n.threshold)
        # Row values IN a subquery: both SQLite (3.15+) and PostgreSQL take it.
        result = self._conn.execute(
            expiry_notifications.delete().where(key.in_(oldest)).returning(_n.document_id)
        )
        return len(result.all())

    def expiring_subjects(
        self,
        tenant_id: UUID,
        first: date,
        last: date,
        after: UUID | None,
        limit: int,
        *,
        detailed: bool = False,
    ) -> list[ExpiringSubject]:
        window = (
            _d.tenant_id == tenant_id,
            _d.expiry_key >= first,
            _d.expiry_key <= last,
            _d.subject_id.is_not(None),
        )
        ids = sa.select(_d.subject_id).where(*window).distinct()
        if after is not None:
            ids = ids.where(_d.subject_id > after)
        page = [row["subject_id"] for row in self._all(ids.order_by(_d.subject_id).limit(limit))]
        if not page:
            return []
        found: dict[UUID, list[ExpiringDocument]] = defaultdict(list)
        sealed = self._sealed
        numbers = (_d.number, _d.id_number_sealed) if detailed else ()
        rows = sa.select(*_COLUMNS, *numbers).where(*window, _d.subject_id.in_(page))
        for row in self._all(rows.order_by(_d.expiry_key, _d.id)):
            document = _document(row)
            if detailed:
                number, id_number = row["number"], sealed.id_number(tenant_id, row)
                document = replace(document, number=number, id_number=id_number)
            found[row["subject_id"]].append(document)
        s = subjects.c
        names = sa.select(s.id, s.details_sealed).where(s.tenant_id == tenant_id, s.id.in_(page))
        details = {row["id"]: sealed.subject_details(tenant_id, row) for row in self._all(names)}
        none: dict[str, str | None] = {"external_id": None, "display_name": None}
        return [
            ExpiringSubject(
                sid,
                details.get(sid, none)["external_id"],
                found[sid],
                details.get(sid, none)["display_name"],
            )
            for sid in page
        ]
