"""audit trail: subject, document, file and client address on each audit event, and the
per-tenant hash chain (number, previous MAC, MAC; the chain heads)

Events written before this revision are numbered and MACed here, in the order they were
written, with the chain key the process running the migration derived from the master key
(checked against the vault before the schema is touched: ``bootstrap.prepare_schema``). Sealing
them later, on the first start, would let anyone who can write to the database reset a chain
to "not sealed yet" and have the next start seal an edited trail.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 22:30:00
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import sqlalchemy as sa
from alembic import op

from kycvault.adapters.db.columns import UtcDateTime
from kycvault.domain.audit_chain import CHAINED_FIELDS, GENESIS, SYSTEM_CHAIN, link

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UUIDS = ("id", "tenant_id", "target_id", "chain_id", "subject_id", "document_id", "file_id")
_TEXTS = ("actor", "action", "outcome", "target_type", "request_id", "client_address")


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("subject_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("document_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("file_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("client_address", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("chain_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("prev_mac", sa.LargeBinary(length=32), nullable=True))
        batch.add_column(sa.Column("mac", sa.LargeBinary(length=32), nullable=True))
    chains = op.create_table(
        "audit_chains",
        sa.Column("chain_id", sa.Uuid(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_mac", sa.LargeBinary(length=32), nullable=True),
        sa.PrimaryKeyConstraint("chain_id", name=op.f("pk_audit_chains")),
    )
    events = sa.table(
        "audit_events",
        *(sa.column(name, sa.Uuid()) for name in _UUIDS),
        sa.column("at", UtcDateTime()),
        *(sa.column(name, sa.String()) for name in _TEXTS),
        sa.column("details", sa.JSON()),
        sa.column("seq", sa.BigInteger()),
        sa.column("prev_mac", sa.LargeBinary()),
        sa.column("mac", sa.LargeBinary()),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(events).order_by(events.c.tenant_id, events.c.at, events.c.id)
    ).mappings()
    config = op.get_context().config
    key = config.attributes.get("audit_chain_key") if config is not None else None
    heads: dict[UUID, tuple[int, bytes]] = {}
    for row in rows:
        if key is None:
            raise RuntimeError("audit events to chain, and no chain key given to the migration")
        chain = row["tenant_id"] or SYSTEM_CHAIN
        seq, previous = heads.get(chain, (0, GENESIS))
        fields = {name: row[name] for name in CHAINED_FIELDS if name in row}
        fields.update(chain_id=chain, seq=seq + 1, details=dict(row["details"] or {}))
        named = {"subject": "subject_id", "document": "document_id", "file": "file_id"}
        column = named.get(row["target_type"] or "")
        if column:
            fields[column] = row["target_id"]
        mac = link(key, previous, fields)
        values = {k: fields[k] for k in ("chain_id", "seq", "subject_id", "document_id", "file_id")}
        conn.execute(
            events.update()
            .where(events.c.id == row["id"])
            .values(**values, prev_mac=previous, mac=mac)
        )
        heads[chain] = (seq + 1, mac)
    if heads:
        op.bulk_insert(
            chains,
            [{"chain_id": c, "last_seq": n, "last_mac": m} for c, (n, m) in heads.items()],
        )
    with op.batch_alter_table("audit_events") as batch:
        batch.alter_column("chain_id", existing_type=sa.Uuid(), nullable=False)
        batch.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
        batch.create_index(
            batch.f("ix_audit_events_chain_id_seq"), ["chain_id", "seq"], unique=True
        )
        batch.create_index(
            batch.f("ix_audit_events_tenant_id_document_id_seq"),
            ["tenant_id", "document_id", "seq"],
        )
        batch.create_index(
            batch.f("ix_audit_events_tenant_id_subject_id_seq"),
            ["tenant_id", "subject_id", "seq"],
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_index(batch.f("ix_audit_events_tenant_id_subject_id_seq"))
        batch.drop_index(batch.f("ix_audit_events_tenant_id_document_id_seq"))
        batch.drop_index(batch.f("ix_audit_events_chain_id_seq"))
        for column in (
            "mac", "prev_mac", "seq", "chain_id", "client_address", "file_id", "document_id",
            "subject_id",
        ):  # fmt: skip
            batch.drop_column(column)
    op.drop_table("audit_chains")
