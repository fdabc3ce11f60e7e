"""The append-only audit log."""

from __future__ import annotations

from uuid import UUID

from kycvault.adapters.db.repositories._base import Repo, deferrable
from kycvault.adapters.db.tables import audit_events
from kycvault.ports.persistence.records import AuditEvent


class SqlAudit(Repo):
    @deferrable
    def add(self, event: AuditEvent) -> None:
        self._conn.execute(
            audit_events.insert(),
            {
                "id": event.id,
                "tenant_id": event.tenant_id,
                "at": event.at,
                "actor": event.actor,
                "action": event.action,
                "outcome": event.outcome,
                "target_type": event.target_type,
                "target_id": event.target_id,
                "request_id": event.request_id,
                "details": event.details,
            },
        )

    def list_for(self, tenant_id: UUID, *, limit: int = 100) -> list[AuditEvent]:
        rows = self._all(
            audit_events.select()
            .where(audit_events.c.tenant_id == tenant_id)
            .order_by(audit_events.c.at.desc(), audit_events.c.id.desc())
            .limit(limit)
        )
        return [
            AuditEvent(
                id=r["id"],
                tenant_id=r["tenant_id"],
                at=r["at"],
                actor=r["actor"],
                action=r["action"],
                outcome=r["outcome"],
                target_type=r["target_type"],
                target_id=r["target_id"],
                request_id=r["request_id"],
                details=dict(r["details"] or {}),
            )
            for r in rows
        ]
