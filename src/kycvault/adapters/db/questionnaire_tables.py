"""Questionnaire responses of a subject and their file answers (the KYC Genie dialect).
Registered on the one ``metadata`` of ``tables.py``."""

from __future__ import annotations

import sqlalchemy as sa

from kycvault.adapters.db.columns import UtcDateTime, metadata, tenant_fk

questionnaire_responses = sa.Table(
    "questionnaire_responses",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    tenant_fk(),
    sa.Column(
        "subject_id", sa.Uuid, sa.ForeignKey("subjects.id", ondelete="RESTRICT"), nullable=False
    ),
    # The client's reference to its questionnaire template (kept as given, not modelled).
    sa.Column("questionnaire", sa.String(64), nullable=False),
    sa.Column("name", sa.String(255), nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("created_by", sa.String(40), nullable=True),
    sa.Index(None, "tenant_id", "subject_id"),
)

file_answers = sa.Table(
    "file_answers",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    tenant_fk(),
    sa.Column(
        "response_id",
        sa.Uuid,
        sa.ForeignKey("questionnaire_responses.id", ondelete="RESTRICT"),
        nullable=False,
    ),
    # RESTRICT: a document a response references cannot go (the service says so first; the
    # key holds against a delete racing an answer being added).
    sa.Column(
        "document_id", sa.Uuid, sa.ForeignKey("documents.id", ondelete="RESTRICT"), nullable=False
    ),
    sa.Column("question_id", sa.BigInteger, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("created_by", sa.String(40), nullable=True),
    sa.Index(None, "tenant_id", "response_id", "created_at"),
    sa.Index(None, "tenant_id", "document_id"),
)
