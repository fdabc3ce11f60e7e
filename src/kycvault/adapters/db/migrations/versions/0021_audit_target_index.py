"""audit events: drop the (tenant, target, time) index, which no query uses

Every read appends an audit event and every event updates each index of its table: this one
cost a random index page in every commit (the trail is filtered by subject, document, actor,
action, outcome and time, never by target).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 04:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_audit_events_tenant_id_target_id_at", table_name="audit_events")


def downgrade() -> None:
    op.create_index(
        "ix_audit_events_tenant_id_target_id_at",
        "audit_events",
        ["tenant_id", "target_id", "at"],
    )
