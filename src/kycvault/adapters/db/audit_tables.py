"""The audit trail's tables: the events and each chain's head (``domain/audit_chain.py``).
Registered on the one ``metadata`` of ``tables.py``."""

from __future__ import annotations

import sqlalchemy as sa

from kycvault.adapters.db.columns import UtcDateTime, metadata

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("actor", sa.String(40), nullable=True),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("target_type", sa.String(20), nullable=True),
    sa.Column("target_id", sa.Uuid, nullable=True),
    sa.Column("request_id", sa.String(64), nullable=True),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Column("subject_id", sa.Uuid, nullable=True),
    sa.Column("document_id", sa.Uuid, nullable=True),
    sa.Column("file_id", sa.Uuid, nullable=True),
    sa.Column("client_address", sa.String(64), nullable=True),
    # The hash chain (domain/audit_chain.py): the tenant's chain (all zeros: no tenant), the
    # event's number in it, the MAC of the event before it and its own.
    sa.Column("chain_id", sa.Uuid, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("prev_mac", sa.LargeBinary(32), nullable=True),
    sa.Column("mac", sa.LargeBinary(32), nullable=True),
    sa.Index(None, "chain_id", "seq", unique=True),
    sa.Index(None, "tenant_id", "at"),
    sa.Index(None, "tenant_id", "document_id", "seq"),
    sa.Index(None, "tenant_id", "subject_id", "seq"),
)

# Each chain's head: the number and MAC of its newest event, updated in the same transaction
# as the event; its row lock orders the chain's writers on PostgreSQL.
audit_chains = sa.Table(
    "audit_chains",
    metadata,
    sa.Column("chain_id", sa.Uuid, primary_key=True),
    sa.Column("last_seq", sa.BigInteger, nullable=False),
    sa.Column("last_mac", sa.LargeBinary(32), nullable=True),
)
