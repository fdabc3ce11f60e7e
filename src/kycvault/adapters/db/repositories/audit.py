"""The append-only audit log and its per-tenant hash chain (``domain/audit_chain.py``).

``add`` runs when its unit of work ends (``@at_unit_end``, after the event log's own
sequence bump): it takes the chain's head row — an upsert, which on PostgreSQL locks the row
until the transaction ends, so a concurrent writer of the same tenant reads the head only
after this one committed — numbers the event after it, MACs it on the head's MAC, and moves
the head. Many API processes on PostgreSQL therefore build one unbroken chain; SQLite has one
writer at a time anyway. Nothing here updates or deletes an event.

``add_batch`` writes the events of many reads at once (``adapters/db/group_commit.py``): per
chain one head upsert, one multi-row insert and one head move, the chains taken in id order
so that two batches (of two API processes) lock their heads in the same order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import RowMapping
from sqlalchemy.dialects import postgresql, sqlite

from kycvault.adapters.db.audit_tables import audit_chains, audit_events
from kycvault.adapters.db.prepared import Prepared
from kycvault.adapters.db.repositories._base import Repo, at_unit_end, seek_rows
from kycvault.domain.audit_chain import GENESIS, chain_of, link
from kycvault.ports.persistence.records import AuditChainHead, AuditEvent, AuditFilter, Seek

A = audit_events.c
H = audit_chains.c


def _event(row: RowMapping) -> AuditEvent:
    return AuditEvent(
        id=row["id"],
        tenant_id=row["tenant_id"],
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        outcome=row["outcome"],
        target_type=row["target_type"],
        target_id=row["target_id"],
        request_id=row["request_id"],
        details=dict(row["details"] or {}),
        subject_id=row["subject_id"],
        document_id=row["document_id"],
        file_id=row["file_id"],
        client_address=row["client_address"],
        seq=row["seq"],
        prev_mac=row["prev_mac"],
        mac=row["mac"],
    )


def _take_head_statement(insert: Any) -> sa.ClauseElement:
    statement: sa.ClauseElement = (
        insert(audit_chains)
        .values(chain_id=sa.bindparam("chain", type_=sa.Uuid()), last_seq=0, last_mac=None)
        .on_conflict_do_update(index_elements=["chain_id"], set_={"last_seq": H.last_seq})
        .returning(H.last_seq, H.last_mac)
    )
    return statement


# Built once: every write of the service makes an audit event, and building these statements
# (and their cache keys) per call cost more than running them on SQLite.
# They run on the driver's cursor (``prepared.py``): through ``Connection.execute`` the three
# statements of an append cost five times what SQLite spends on them.
_TAKE_HEAD = {
    "postgresql": Prepared(_take_head_statement(postgresql.insert)),
    "sqlite": Prepared(_take_head_statement(sqlite.insert)),
}
_INSERT = Prepared(audit_events.insert())
_MOVE_HEAD = Prepared(
    audit_chains.update()
    .where(H.chain_id == sa.bindparam("chain", type_=sa.Uuid()))
    .values(last_seq=sa.bindparam("seq"), last_mac=sa.bindparam("mac"))
)


class SqlAudit(Repo):
    def _take_head(self, chain_id: UUID) -> tuple[int, bytes | None]:
        """The chain's head, locked for the rest of the transaction on PostgreSQL (made at
        the chain's first event)."""
        last_seq, last_mac = _TAKE_HEAD[self.dialect].one(self._conn, {"chain": chain_id})
        return int(last_seq), None if last_mac is None else bytes(last_mac)

    @at_unit_end(order=2)  # after the event log's sequence: one lock order everywhere
    def add(self, event: AuditEvent, key: bytes) -> None:
        chain_id = chain_of(event.tenant_id)
        last_seq, last_mac = self._take_head(chain_id)
        # A head without a MAC has none only at the chain's start; elsewhere it was tampered
        # with, and chaining on from the start leaves that for ``verify`` to name.
        last_mac = last_mac or GENESIS
        seq = last_seq + 1
        fields = event.chained_fields(chain_id, seq)
        mac = link(key, last_mac, fields)
        _INSERT.many(self._conn, [{**fields, "prev_mac": last_mac, "mac": mac}])
        _MOVE_HEAD.many(self._conn, [{"chain": chain_id, "seq": seq, "mac": mac}])

    def add_batch(self, events: Sequence[tuple[AuditEvent, bytes]]) -> None:
        """``events`` (with their chains' MAC keys) appended to their chains, each chain's in
        the order given."""
        chains: dict[UUID, list[tuple[AuditEvent, bytes]]] = {}
        for item in events:
            chains.setdefault(chain_of(item[0].tenant_id), []).append(item)
        rows: list[dict[str, Any]] = []
        heads: list[dict[str, Any]] = []
        for chain_id in sorted(chains):
            last_seq, last_mac = self._take_head(chain_id)
            mac = last_mac or GENESIS  # as in ``add``
            for event, key in chains[chain_id]:
                last_seq += 1
                fields = event.chained_fields(chain_id, last_seq)
                prev, mac = mac, link(key, mac, fields)
                rows.append({**fields, "prev_mac": prev, "mac": mac})
            heads.append({"chain": chain_id, "seq": last_seq, "mac": mac})
        _INSERT.many(self._conn, rows)
        _MOVE_HEAD.many(self._conn, heads)

    def heads(self, chain_id: UUID | None = None) -> list[AuditChainHead]:
        stmt = sa.select(audit_chains).order_by(H.chain_id)
        if chain_id is not None:
            stmt = stmt.where(H.chain_id == chain_id)
        return [
            AuditChainHead(r["chain_id"], int(r["last_seq"]), r["last_mac"])
            for r in self._all(stmt)
        ]

    def chain_events(self, chain_id: UUID, after_seq: int, limit: int) -> list[AuditEvent]:
        """The chain's events numbered above ``after_seq``, in number order."""
        rows = self._all(
            audit_events.select()
            .where(A.chain_id == chain_id, A.seq > after_seq)
            .order_by(A.seq)
            .limit(limit)
        )
        return [_event(r) for r in rows]

    def page(self, tenant_id: UUID, where: AuditFilter, seek: Seek) -> list[AuditEvent]:
        conditions: list[sa.ColumnElement[bool]] = [A.tenant_id == tenant_id]
        if where.subject_id is not None:
            conditions.append(A.subject_id == where.subject_id)
        if where.document_id is not None:
            conditions.append(A.document_id == where.document_id)
        if where.actor is not None:
            conditions.append(A.actor == where.actor)
        if where.actions:
            conditions.append(A.action.in_(where.actions))
        if where.outcome is not None:
            conditions.append(A.outcome == where.outcome)
        if where.at_from is not None:
            conditions.append(A.at >= where.at_from)
        if where.at_to is not None:
            conditions.append(A.at <= where.at_to)
        stmt = seek_rows(audit_events.select().where(*conditions), audit_events, seek)
        return [_event(r) for r in self._all(stmt)]
