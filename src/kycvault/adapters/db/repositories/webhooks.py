"""Webhook endpoints, their subscriptions, the delivery queue and its attempts.

``enqueue`` runs at the end of the event's unit, after the event has its sequence: one
``INSERT … SELECT`` makes the deliveries of the event to every enabled, subscribed endpoint
of its tenant, in the same transaction and without a round trip of its own. It takes no row
lock another transaction could hold (its rows are new), so it keeps the event log's rule
that nothing waits while the tenant's sequence row is locked.

``claim`` is the jobs' claim (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) with one more rule:
a delivery waits while an earlier event (lower sequence) of the same endpoint is pending
and not yet attempted, so each endpoint gets its events' first attempts in sequence order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import RowMapping

from kycvault.adapters.db.event_tables import (
    events,
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
    webhook_subscriptions,
)
from kycvault.adapters.db.prepared import Prepared
from kycvault.adapters.db.repositories._base import Repo, at_unit_end, seek_rows
from kycvault.ports.persistence.events import Event
from kycvault.ports.persistence.records import Seek
from kycvault.ports.persistence.webhooks import WILDCARD, Attempt, Delivery, Endpoint

PENDING = "pending"
E, S, D, A = (
    webhook_endpoints.c,
    webhook_subscriptions.c,
    webhook_deliveries.c,
    webhook_attempts.c,
)


def _endpoint(row: RowMapping) -> Endpoint:
    return Endpoint(
        id=row["id"],
        tenant_id=row["tenant_id"],
        url=row["url"],
        events=list(row["events"]),
        description=row["description"],
        enabled=row["enabled"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        sealed_secret=row["secret"],
        sealed_previous_secret=row["previous_secret"],
        previous_secret_until=row["previous_secret_until"],
        failing_since=row["failing_since"],
        disabled_reason=row["disabled_reason"],
        format=row["format"],
        name=row["name"],
        vendor_events=list(row["vendor_events"]) if row["vendor_events"] is not None else None,
    )


def _attempt(row: RowMapping) -> Attempt:
    return Attempt(
        id=row["id"],
        tenant_id=row["tenant_id"],
        endpoint_id=row["endpoint_id"],
        event_id=row["event_id"],
        attempted_at=row["attempted_at"],
        status=row["status"],
        response_code=row["response_code"],
        duration_ms=row["duration_ms"],
        error=row["error"],
        next_retry_at=row["next_retry_at"],
    )


def _endpoint_values(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "url": endpoint.url,
        "events": list(endpoint.events),
        "description": endpoint.description,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "secret": endpoint.sealed_secret,
        "previous_secret": endpoint.sealed_previous_secret,
        "previous_secret_until": endpoint.previous_secret_until,
        "failing_since": endpoint.failing_since,
        "updated_at": endpoint.updated_at,
        "format": endpoint.format,
        "name": endpoint.name,
        "vendor_events": endpoint.vendor_events,
    }


def _enqueue_statement() -> sa.ClauseElement:
    """A delivery for each enabled endpoint of the event's tenant subscribed to its type (or
    to every type), numbered with the event's sequence."""
    event_id = sa.bindparam("event_id", type_=sa.Uuid())
    created_at = sa.bindparam("created_at", type_=D.created_at.type)
    sequence = sa.select(events.c.sequence).where(events.c.id == event_id).scalar_subquery()
    subscribed = sa.select(
        event_id.label("event_id"),
        E.id.label("endpoint_id"),
        E.tenant_id,
        sequence.label("sequence"),
        sa.literal(PENDING).label("state"),
        sa.literal(0).label("attempts"),
        created_at.label("next_attempt_at"),
        created_at.label("created_at"),
    ).where(
        E.tenant_id == sa.bindparam("tenant_id", type_=sa.Uuid()),
        E.enabled.is_(True),
        sa.exists().where(
            S.endpoint_id == E.id,
            S.event_type.in_([sa.bindparam("event_type", type_=sa.String()), WILDCARD]),
        ),
    )
    columns = [
        "event_id", "endpoint_id", "tenant_id", "sequence", "state", "attempts",
        "next_attempt_at", "created_at",
    ]  # fmt: skip
    return webhook_deliveries.insert().from_select(columns, subscribed)


# Every change enqueues its event, most often for no endpoint at all: one statement on the
# driver's cursor (prepared.py).
_ENQUEUE = Prepared(_enqueue_statement())


class SqlWebhooks(Repo):
    def _subscribe(self, endpoint: Endpoint) -> None:
        self._conn.execute(webhook_subscriptions.delete().where(S.endpoint_id == endpoint.id))
        self._conn.execute(
            webhook_subscriptions.insert(),
            [
                {"endpoint_id": endpoint.id, "event_type": t, "tenant_id": endpoint.tenant_id}
                for t in sorted(set(endpoint.events))
            ],
        )

    def add_endpoint(self, endpoint: Endpoint) -> None:
        values = _endpoint_values(endpoint)
        values.update(id=endpoint.id, tenant_id=endpoint.tenant_id, created_at=endpoint.created_at)
        self._conn.execute(webhook_endpoints.insert(), values)
        self._subscribe(endpoint)

    def get_endpoint(self, tenant_id: UUID, endpoint_id: UUID) -> Endpoint | None:
        row = self._one(
            webhook_endpoints.select().where(E.tenant_id == tenant_id, E.id == endpoint_id)
        )
        return _endpoint(row) if row else None

    def list_endpoints(self, tenant_id: UUID | None) -> list[Endpoint]:
        stmt = webhook_endpoints.select().order_by(E.tenant_id, E.created_at, E.id)
        if tenant_id is not None:
            stmt = stmt.where(E.tenant_id == tenant_id)
        return [_endpoint(row) for row in self._all(stmt)]

    def count_endpoints(self, tenant_id: UUID) -> int:
        stmt = sa.select(sa.func.count()).where(E.tenant_id == tenant_id)
        return int(self._conn.execute(stmt).scalar_one())

    def update_endpoint(self, endpoint: Endpoint) -> None:
        self._conn.execute(
            webhook_endpoints.update()
            .where(E.tenant_id == endpoint.tenant_id, E.id == endpoint.id)
            .values(**_endpoint_values(endpoint))
        )
        self._subscribe(endpoint)

    def set_health(
        self,
        tenant_id: UUID,
        endpoint_id: UUID,
        *,
        failing_since: datetime | None = None,
        enabled: bool | None = None,
        disabled_reason: str | None = None,
    ) -> bool:
        values: dict[str, Any] = {"failing_since": failing_since}
        where = [E.tenant_id == tenant_id, E.id == endpoint_id]
        if enabled is not None:
            values.update(enabled=enabled, disabled_reason=disabled_reason)
            # Conditional, so that of two transactions disabling it, one changes it (on
            # PostgreSQL the second waits for the row and then finds it disabled).
            where.append(E.enabled.is_(not enabled))
        changed = self._conn.execute(webhook_endpoints.update().where(*where).values(**values))
        return changed.rowcount == 1

    def delete_endpoint(self, tenant_id: UUID, endpoint_id: UUID) -> bool:
        gone = self._conn.execute(
            webhook_endpoints.delete().where(E.tenant_id == tenant_id, E.id == endpoint_id)
        )
        for table in (webhook_subscriptions, webhook_deliveries, webhook_attempts):
            self._conn.execute(table.delete().where(table.c.endpoint_id == endpoint_id))
        return gone.rowcount == 1

    @at_unit_end(order=1)  # after the event's own insert, which numbers it
    def enqueue(self, event: Event) -> None:
        _ENQUEUE.many(
            self._conn,
            [
                {
                    "event_id": event.id,
                    "tenant_id": event.tenant_id,
                    "event_type": event.type,
                    "created_at": event.created_at,
                }
            ],
        )

    def redeliver(self, event: Event, endpoint_ids: list[UUID], now: datetime) -> None:
        for endpoint_id in endpoint_ids:
            where = (D.event_id == event.id, D.endpoint_id == endpoint_id)
            again = self._conn.execute(
                webhook_deliveries.update()
                .where(*where)
                .values(state=PENDING, next_attempt_at=now, lease_until=None, locked_by=None)
            )
            if again.rowcount == 0:
                self._conn.execute(
                    webhook_deliveries.insert(),
                    {
                        "event_id": event.id,
                        "endpoint_id": endpoint_id,
                        "tenant_id": event.tenant_id,
                        "sequence": event.sequence,
                        "state": PENDING,
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                    },
                )

    def claim(
        self, worker: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[Delivery]:
        earlier = webhook_deliveries.alias("earlier")
        waits = sa.exists().where(
            earlier.c.endpoint_id == D.endpoint_id,
            earlier.c.state == PENDING,
            earlier.c.attempts == 0,
            earlier.c.sequence < D.sequence,
        )
        due = (
            sa.select(D.event_id, D.endpoint_id)
            .where(
                D.state == PENDING,
                D.next_attempt_at <= now,
                sa.or_(D.lease_until.is_(None), D.lease_until < now),
                ~waits,
            )
            .order_by(D.next_attempt_at, D.sequence)
            .limit(limit)
            .with_for_update(skip_locked=True, of=webhook_deliveries)
        )
        keys = [(row[0], row[1]) for row in self._conn.execute(due)]
        claimed = []
        for event_id, endpoint_id in keys:
            row = self._conn.execute(
                webhook_deliveries.update()
                .where(D.event_id == event_id, D.endpoint_id == endpoint_id)
                .values(lease_until=lease_until, locked_by=worker)
                .returning(D.tenant_id, D.sequence, D.attempts)
            ).one()
            claimed.append(Delivery(event_id, endpoint_id, row[0], row[1], row[2]))
        return claimed

    def _held(self, delivery: Delivery, worker: str) -> tuple[sa.ColumnElement[bool], ...]:
        return (
            D.event_id == delivery.event_id,
            D.endpoint_id == delivery.endpoint_id,
            D.state == PENDING,
            D.locked_by == worker,
        )

    def finish(self, delivery: Delivery, worker: str, attempt: Attempt, state: str) -> bool:
        done = self._conn.execute(
            webhook_deliveries.update()
            .where(*self._held(delivery, worker))
            .values(
                state=state,
                attempts=D.attempts + 1,
                next_attempt_at=attempt.next_retry_at or attempt.attempted_at,
                lease_until=None,
                locked_by=None,
            )
        )
        if done.rowcount != 1:
            return False
        self._conn.execute(
            webhook_attempts.insert(),
            {
                "id": attempt.id,
                "tenant_id": attempt.tenant_id,
                "endpoint_id": attempt.endpoint_id,
                "event_id": attempt.event_id,
                "attempted_at": attempt.attempted_at,
                "status": attempt.status,
                "response_code": attempt.response_code,
                "duration_ms": attempt.duration_ms,
                "error": (attempt.error or None) and attempt.error[:300],
                "next_retry_at": attempt.next_retry_at,
            },
        )
        return True

    def cancel(self, delivery: Delivery, worker: str) -> None:
        self._conn.execute(
            webhook_deliveries.update()
            .where(*self._held(delivery, worker))
            .values(state="cancelled", lease_until=None, locked_by=None)
        )

    def purge_before(self, before: datetime, limit: int) -> int:
        removed = 0
        for table, column in (
            (webhook_deliveries, D.created_at),
            (webhook_attempts, A.attempted_at),
        ):
            key = (D.event_id, D.endpoint_id) if table is webhook_deliveries else (A.id,)
            oldest = sa.select(*key).where(column < before).order_by(column).limit(limit)
            gone = self._conn.execute(table.delete().where(sa.tuple_(*key).in_(oldest)))
            removed += gone.rowcount
        return removed

    def attempts(self, tenant_id: UUID, endpoint_id: UUID, seek: Seek) -> list[Attempt]:
        stmt: sa.Select[Any] = webhook_attempts.select().where(
            A.tenant_id == tenant_id, A.endpoint_id == endpoint_id
        )
        return [_attempt(row) for row in self._all(seek_rows(stmt, webhook_attempts, seek))]
