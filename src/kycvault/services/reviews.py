"""Reviews: a person's decision on a document (``domain/review.py``), and a rejected
document going back to pending when a new file arrives.

A decision needs ``documents:review``. It is one write transaction: the review on the
document's row (locked, so two reviewers deciding at once are ordered and the later one
wins with both recorded), the ``document.reviewed`` event and the audit event. A legal hold
does not stop a review: it stops deletion, and a review deletes nothing.

The event and the audit event carry the status, the reason code, who and when, never the
free text: it may name people, and events leave the vault (webhooks, logs). The text is
stored sealed with the document and read back with it.
"""

from __future__ import annotations

from uuid import UUID

from kycvault.domain.models import Document
from kycvault.domain.review import Review, ReviewStatus
from kycvault.domain.review_rules import decide, reopened
from kycvault.domain.scopes import Scope
from kycvault.ports.persistence.store import UnitOfWork
from kycvault.services import audit, events
from kycvault.services.authorization import require
from kycvault.services.context import Actor, AppContext
from kycvault.services.documents import document_not_found

REVIEWED = "document.reviewed"
# Why a review changed: someone decided, or a file arrived for a rejected document.
DECISION = "decision"
FILE_ADDED = "file_added"


async def review_document(
    ctx: AppContext,
    actor: Actor,
    document_id: UUID,
    status: str,
    reason_code: str | None,
    reason: str | None,
) -> Document:
    """Record a decision on the document and return it with its new review.

    Raises:
        InsufficientScope: the actor lacks ``documents:review``.
        InvalidInput: a decision the rules refuse (``domain/review_rules.decide``).
        NotFound: no such document in the actor's tenant (``document_not_found``).
    """
    await require(ctx, actor, Scope.DOCUMENTS_REVIEW, target_type="document", target_id=document_id)
    review = decide(status, reason_code, reason, by=actor.key_id, at=ctx.clock())
    async with ctx.store.write() as uow:
        doc = await uow.documents.get(actor.tenant_id, document_id, for_update=True)
        if doc is None:
            raise document_not_found()
        await _store(ctx, uow, actor, doc, review, DECISION)
    return doc


async def reopen_on_new_file(ctx: AppContext, uow: UnitOfWork, actor: Actor, doc: Document) -> None:
    """In the transaction that adds files to ``doc``: a rejected document, or one whose new
    upload was requested, is pending again (``doc.review`` is updated in place)."""
    review = reopened(doc.review, by=actor.key_id, at=ctx.clock())
    if review is not None:
        await _store(ctx, uow, actor, doc, review, FILE_ADDED)


async def _store(
    ctx: AppContext, uow: UnitOfWork, actor: Actor, doc: Document, review: Review, cause: str
) -> None:
    previous: ReviewStatus = doc.review.status
    doc.review = review
    await uow.documents.set_review(doc.tenant_id, doc.id, review)
    await audit.record(
        ctx,
        uow,
        actor,
        REVIEWED,
        target_type="document",
        target_id=doc.id,
        subject_id=doc.subject_id,
        status=review.status.value,
        reason_code=review.reason_code.value if review.reason_code else None,
        previous_status=previous.value,
        cause=cause,
    )
    data = events.reviewed_snapshot(doc, previous, cause)
    await events.record(ctx, uow, actor, events.DOCUMENT_REVIEWED, data)
