"""What the vault must keep, checked once for every deletion: a document, a file, a
subject, a replaced file, a questionnaire answer's document, a purge. Two things keep it:
a legal hold (``legal_holds``: 409 ``legal_hold``) and a retention rule whose period has not
run out (``retention``: 409 ``retention_active``, naming the day it may go). Holds are
checked first: a held document is refused as held whatever its retention says.

Every deletion path calls ``check_deletable`` inside its own write transaction, after
``legal_holds.lock``, and on a refusal ``refuse`` once that transaction rolled back, which
audits the attempt (outcome ``refused``, the reason and what is in the way)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

from kycvault.domain.models import Document
from kycvault.errors import Protected
from kycvault.ports.persistence.store import UnitOfWork
from kycvault.services import legal_holds, retention
from kycvault.services.authorization import record_refusal
from kycvault.services.context import Actor, AppContext


async def check_deletable(
    uow: UnitOfWork,
    actor: Actor,
    *,
    documents: Sequence[Document] = (),
    subject_id: UUID | None = None,
    on: date | None = None,
) -> None:
    """Refuse (``LegalHoldActive``, ``RetentionActive``) unless ``documents``, and
    ``subject_id`` with its documents, may be deleted now (``on``: the purge's day; by
    default the database's)."""
    await legal_holds.check_held(uow, actor, documents=documents, subject_id=subject_id)
    await retention.check_retained(uow, actor, documents=documents, subject_id=subject_id, on=on)


async def refuse(
    ctx: AppContext,
    actor: Actor,
    action: str,
    kept: Protected,
    *,
    target_type: str,
    target_id: UUID,
    subject_id: UUID | None = None,
    document_id: UUID | None = None,
) -> None:
    """Audit a deletion refused because the vault must keep it (``action``, outcome
    ``refused``), in a transaction of its own."""
    await record_refusal(
        ctx,
        actor,
        action,
        target_type=target_type,
        target_id=target_id,
        subject_id=subject_id,
        document_id=document_id,
        **kept.audit_details(),
    )
