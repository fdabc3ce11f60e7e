"""Questionnaire responses and their file answers.

A response belongs to one subject (the entity that answers). Each file answer is a document
of that subject, uploaded for the answer and recorded with it in one transaction; while an
answer references a document, the document cannot be deleted (``document_removal.delete_document``
refuses it). Deleting the answer deletes its document; deleting the response deletes its
answers but leaves the documents with the subject.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from uuid import UUID

from kycvault.domain.models import Document, FileAnswer, QuestionnaireResponse, clean_text
from kycvault.domain.scopes import Scope
from kycvault.domain.types import ResponseStatus
from kycvault.errors import InvalidInput, NotFound, Protected
from kycvault.ports.persistence.store import UnitOfWork
from kycvault.services import audit, document_removal, documents, legal_holds, protection
from kycvault.services.authorization import require
from kycvault.services.context import Actor, AppContext
from kycvault.services.intake import UploadSession
from kycvault.services.subjects import subject_not_found

# A response starts out filled by the caller (PREFILL) or sent to its subject (DRAFT).
INITIAL_STATUSES = frozenset({ResponseStatus.PREFILL, ResponseStatus.DRAFT})
MAX_QUESTION_ID = 2**63 - 1


@dataclass(frozen=True, slots=True)
class AnsweredFile:
    """A file answer with the document it references."""

    answer: FileAnswer
    document: Document


def response_not_found() -> NotFound:
    return NotFound("no such questionnaire response", code="response_not_found")


def answer_not_found() -> NotFound:
    return NotFound("no such file answer", code="file_answer_not_found")


async def create_response(
    ctx: AppContext,
    actor: Actor,
    *,
    subject_id: UUID,
    questionnaire: str,
    name: str | None = None,
    status: ResponseStatus = ResponseStatus.PREFILL,
) -> QuestionnaireResponse:
    """A response of the subject: part of what is known about it (``subjects:write``)."""
    await require(ctx, actor, Scope.SUBJECTS_WRITE, target_id=subject_id)
    reference = clean_text(questionnaire, field_name="questionnaire_id", max_length=64)
    if reference is None:
        raise InvalidInput.field("questionnaire_id", "required", "name the questionnaire")
    if status not in INITIAL_STATUSES:
        raise InvalidInput.field("status", "invalid_choice", "a response starts PREFILL or DRAFT")
    now = ctx.clock()
    response = QuestionnaireResponse(
        id=uuid.uuid4(),
        tenant_id=actor.tenant_id,
        subject_id=subject_id,
        questionnaire=reference,
        name=clean_text(name, field_name="response_name"),
        status=status,
        created_at=now,
        updated_at=now,
        created_by=actor.key_id,
    )
    async with ctx.store.write() as uow:
        if await uow.subjects.get(actor.tenant_id, subject_id) is None:
            raise subject_not_found()
        await uow.responses.add(response)
        await audit.record(
            ctx, uow, actor, "response.created", target_type="response", target_id=response.id
        )
    return response


async def get_response(
    ctx: AppContext, actor: Actor, response_id: UUID, *, scope: Scope = Scope.SUBJECTS_READ
) -> QuestionnaireResponse:
    """A response; ``scope`` is what the caller must hold: reading it by default, or the
    scope of the use case the lookup is a step of (uploading a file answer)."""
    await require(ctx, actor, scope, target_type="response", target_id=response_id)
    async with ctx.store.read() as uow:
        response = await uow.responses.get(actor.tenant_id, response_id)
    if response is None:
        raise response_not_found()
    return response


async def delete_response(ctx: AppContext, actor: Actor, response_id: UUID) -> None:
    """The response and its answers go; the documents stay with the subject (and may then be
    deleted)."""
    await require(ctx, actor, Scope.SUBJECTS_WRITE, target_type="response", target_id=response_id)
    async with ctx.store.write() as uow:
        if await uow.responses.get(actor.tenant_id, response_id) is None:
            raise response_not_found()
        answers = await uow.responses.answers(actor.tenant_id, response_id)
        await uow.responses.delete(actor.tenant_id, response_id)
        await audit.record(
            ctx,
            uow,
            actor,
            "response.deleted",
            target_type="response",
            target_id=response_id,
            answers=len(answers),
        )


def _question(question_id: int | None) -> int | None:
    if question_id is not None and not 0 <= question_id <= MAX_QUESTION_ID:
        raise InvalidInput.field("file_question_id", "out_of_range", "not a question number")
    return question_id


async def add_file_answer(
    ctx: AppContext,
    actor: Actor,
    response: QuestionnaireResponse,
    upload: UploadSession,
    *,
    type_name: str,
    question_id: int | None = None,
) -> AnsweredFile:
    """Store the uploaded file as a document of the response's subject and record the answer
    that references it, in one transaction (the response must still exist then)."""
    await require(ctx, actor, Scope.DOCUMENTS_WRITE, target_type="response", target_id=response.id)
    question = _question(question_id)
    recorded: list[FileAnswer] = []

    async def answer(uow: UnitOfWork, doc: Document) -> None:
        if await uow.responses.get(actor.tenant_id, response.id) is None:
            raise response_not_found()
        now = ctx.clock()
        made = FileAnswer(
            id=uuid.uuid4(),
            tenant_id=actor.tenant_id,
            response_id=response.id,
            document_id=doc.id,
            question_id=question,
            created_at=now,
            updated_at=now,
            created_by=actor.key_id,
        )
        await uow.responses.add_answer(made)
        await audit.record(
            ctx,
            uow,
            actor,
            "response.file_answered",
            target_type="response",
            target_id=response.id,
            document_id=doc.id,
        )
        recorded.append(made)

    doc = await documents.create_document(
        ctx,
        actor,
        {"type": type_name, "subject_id": response.subject_id},
        upload=upload,
        in_transaction=answer,
    )
    return AnsweredFile(recorded[0], doc)


async def list_file_answers(ctx: AppContext, actor: Actor, response_id: UUID) -> list[AnsweredFile]:
    """A response's file answers with their documents, oldest first."""
    await require(ctx, actor, Scope.DOCUMENTS_READ, target_type="response", target_id=response_id)
    async with ctx.store.read() as uow:
        if await uow.responses.get(actor.tenant_id, response_id) is None:
            raise response_not_found()
        answers = await uow.responses.answers(actor.tenant_id, response_id)
        docs = await uow.documents.get_many(actor.tenant_id, [a.document_id for a in answers])
    by_id = {doc.id: doc for doc in docs}
    return [AnsweredFile(a, by_id[a.document_id]) for a in answers if a.document_id in by_id]


async def _answer(uow: UnitOfWork, actor: Actor, response_id: UUID, answer_id: UUID) -> FileAnswer:
    answer = await uow.responses.get_answer(actor.tenant_id, answer_id)
    if answer is None or answer.response_id != response_id:
        raise answer_not_found()
    return answer


async def get_file_answer(
    ctx: AppContext,
    actor: Actor,
    response_id: UUID,
    answer_id: UUID,
    *,
    scope: Scope = Scope.DOCUMENTS_READ,
) -> AnsweredFile:
    """A file answer with its document; ``scope`` as for ``get_response``."""
    await require(ctx, actor, scope, target_type="response", target_id=response_id)
    async with ctx.store.read() as uow:
        if await uow.responses.get(actor.tenant_id, response_id) is None:
            raise response_not_found()
        answer = await _answer(uow, actor, response_id, answer_id)
        doc = await uow.documents.get(actor.tenant_id, answer.document_id)
    if doc is None:  # the foreign key keeps it; a row read mid-delete is simply gone
        raise answer_not_found()
    return AnsweredFile(answer, doc)


async def delete_file_answer(
    ctx: AppContext, actor: Actor, response_id: UUID, answer_id: UUID
) -> None:
    """The answer and the document uploaded for it (unless another answer references it)."""
    await require(ctx, actor, Scope.DOCUMENTS_DELETE, target_type="response", target_id=response_id)
    try:
        await _delete_file_answer(ctx, actor, response_id, answer_id)
    except Protected as held:
        await protection.refuse(
            ctx,
            actor,
            "response.file_answer_delete_refused",
            held,
            target_type="response",
            target_id=response_id,
        )
        raise


async def _delete_file_answer(
    ctx: AppContext, actor: Actor, response_id: UUID, answer_id: UUID
) -> None:
    async with ctx.store.write() as uow:
        await legal_holds.lock(uow, actor)
        if await uow.responses.get(actor.tenant_id, response_id) is None:
            raise response_not_found()
        answer = await _answer(uow, actor, response_id, answer_id)
        await uow.responses.delete_answer(actor.tenant_id, answer_id)
        await audit.record(
            ctx,
            uow,
            actor,
            "response.file_answer_deleted",
            target_type="response",
            target_id=response_id,
            document_id=answer.document_id,
        )
        if not await uow.responses.references(actor.tenant_id, answer.document_id):
            doc = await uow.documents.get(actor.tenant_id, answer.document_id)
            if doc is not None:
                await document_removal.remove_document(ctx, uow, actor, doc)
