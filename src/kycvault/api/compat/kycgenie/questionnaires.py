"""Questionnaire responses and the documents uploaded as their file answers.

v1 has ``/responses/{id}/documents/…``; v2 ``/questionnaire-responses/{id}/answers/…`` and
``…/documents/``. A file answer's document belongs to the response's entity
(``entity_private``). Its type is the ``document_type`` label sent with it, or "Other
Document": the vault keeps no questionnaire templates to read a file question's type from.
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from kycvault.api.bodies import parse_json
from kycvault.api.body_specs import body, json_content
from kycvault.api.compat.kycgenie.common import (
    V1,
    V2,
    form_int,
    form_value,
    issue_link,
    link_url,
    receive,
    upload_form,
)
from kycvault.api.compat.kycgenie.schemas import (
    AnswerDownloadOut,
    AnswerFiles,
    AnswersV1,
    DownloadOut,
    FileAnswerOut,
    ResponseDetailOut,
    ResponseDocuments,
)
from kycvault.api.compat.shared import path_id
from kycvault.api.deps import ActorDep, ContextDep
from kycvault.api.idempotency import Once, OncePerKey, Written, form_payload, json_response
from kycvault.api.routing import CheckedRoute
from kycvault.domain.models import QuestionnaireResponse
from kycvault.domain.scopes import Scope
from kycvault.domain.types import ResponseStatus
from kycvault.services import catalog, questionnaires, subjects
from kycvault.services.context import Actor, AppContext

router = APIRouter(route_class=CheckedRoute)

V2_RESPONSES = f"{V2}/questionnaire-responses"
DEFAULT_TYPE = "other_document"
QuestionId = Annotated[int, Path(ge=0, le=questionnaires.MAX_QUESTION_ID)]


class ResponseIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    questionnaire_id: str | int
    entity_id: UUID
    response_name: str | None = Field(default=None, max_length=255)
    status: Literal["PREFILL", "DRAFT"] = "PREFILL"


async def _response(
    ctx: AppContext, actor: Actor, response_id: str, scope: Scope
) -> QuestionnaireResponse:
    """The response, looked up for a use case that needs ``scope``."""
    return await questionnaires.get_response(
        ctx, actor, path_id(response_id, questionnaires.response_not_found), scope=scope
    )


async def _answers(
    ctx: AppContext, actor: Actor, response: QuestionnaireResponse
) -> list[FileAnswerOut]:
    answers = await questionnaires.list_file_answers(ctx, actor, response.id)
    loaded = await catalog.load_catalog(ctx, actor)
    return [FileAnswerOut.of(answered, response, loaded) for answered in answers]


async def _answered(
    ctx: AppContext,
    actor: Actor,
    response: QuestionnaireResponse,
    attachment_id: str,
    scope: Scope,
) -> questionnaires.AnsweredFile:
    answer_id = path_id(attachment_id, questionnaires.answer_not_found)
    return await questionnaires.get_file_answer(ctx, actor, response.id, answer_id, scope=scope)


async def _upload_answer(
    request: Request,
    ctx: AppContext,
    actor: Actor,
    once: OncePerKey,
    response_id: str,
    question_id: int | None,
) -> Response:
    """One ``file`` (with an optional ``document_type`` label and, where the path does not
    name it, ``file_question_id``) stored as a file answer of the response."""
    response = await _response(ctx, actor, response_id, Scope.DOCUMENTS_WRITE)
    async with receive(request, ctx, actor) as (session, fields):
        label = form_value(fields, "document_type")
        question = question_id if question_id is not None else form_int(fields, "file_question_id")

        async def write() -> Written:
            type_name = (
                (await catalog.type_for_label(ctx, actor, label, field="document_type")).name
                if label
                else DEFAULT_TYPE
            )
            answered = await questionnaires.add_file_answer(
                ctx, actor, response, session, type_name=type_name, question_id=question
            )
            loaded = await catalog.load_catalog(ctx, actor)
            out = FileAnswerOut.of(answered, response, loaded)
            # The answer shows its document: the stored answer goes when that is deleted.
            return Written(json_response(out, status_code=201), answered.document.id)

        return await once(actor, write, payload=form_payload(fields, session.staged))


@router.post(
    f"{V1}/responses/{{response_id}}/documents/upload/",
    status_code=201,
    response_model=FileAnswerOut,
    openapi_extra=upload_form(label_required=False, question=True),
)
@router.post(
    f"{V2_RESPONSES}/{{response_id}}/answers/files/",
    status_code=201,
    response_model=FileAnswerOut,
    openapi_extra=upload_form(label_required=False, question=True),
)
async def upload_response_document(
    response_id: str, request: Request, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """Upload a document as a file answer of the response (``entity_private``)."""
    return await _upload_answer(request, ctx, actor, once, response_id, None)


@router.get(f"{V1}/responses/{{response_id}}/documents/")
async def list_response_documents_v1(
    response_id: str, ctx: ContextDep, actor: ActorDep
) -> AnswersV1:
    """The response's file answers."""
    response = await _response(ctx, actor, response_id, Scope.DOCUMENTS_READ)
    listed = await _answers(ctx, actor, response)
    return AnswersV1(count=len(listed), documents=listed)


@router.post(
    f"{V2_RESPONSES}/",
    status_code=201,
    response_model=ResponseDetailOut,
    openapi_extra=body(json_content(ResponseIn)),
)
async def create_response(
    request: Request, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """A response of an existing entity (``{questionnaire_id, entity_id, response_name?,
    status?}``); ``questionnaire_id`` is kept as the client's reference."""
    body = await parse_json(request, ResponseIn)

    async def write() -> Written:
        made = await questionnaires.create_response(
            ctx,
            actor,
            subject_id=body.entity_id,
            questionnaire=str(body.questionnaire_id),
            name=body.response_name,
            status=ResponseStatus(body.status),
        )
        subject = await subjects.get_subject(
            ctx, actor, made.subject_id, scope=Scope.SUBJECTS_WRITE
        )
        out = ResponseDetailOut.of(made, subject)
        return Written(json_response(out, status_code=201), made.id)

    return await once(actor, write)


@router.get(f"{V2_RESPONSES}/{{response_id}}/")
async def get_response(response_id: str, ctx: ContextDep, actor: ActorDep) -> ResponseDetailOut:
    """The questionnaire response, with its entity."""
    response = await _response(ctx, actor, response_id, Scope.SUBJECTS_READ)
    subject = await subjects.get_subject(ctx, actor, response.subject_id)
    return ResponseDetailOut.of(response, subject)


@router.delete(f"{V2_RESPONSES}/{{response_id}}/", status_code=204)
async def delete_response(
    response_id: str, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """Delete the response and its file answers; their documents stay with the entity."""

    async def write() -> Written:
        response = await _response(ctx, actor, response_id, Scope.SUBJECTS_WRITE)
        await questionnaires.delete_response(ctx, actor, response.id)
        return Written(Response(status_code=204))

    return await once(actor, write)


@router.put(
    f"{V2_RESPONSES}/{{response_id}}/answers/{{fq_id}}/file/",
    status_code=201,
    response_model=FileAnswerOut,
    openapi_extra=upload_form(label_required=False),
)
async def upload_question_file(
    response_id: str,
    fq_id: QuestionId,
    request: Request,
    ctx: ContextDep,
    actor: ActorDep,
    once: Once,
) -> Response:
    """A file answer to file question ``fq_id``."""
    return await _upload_answer(request, ctx, actor, once, response_id, fq_id)


@router.get(f"{V2_RESPONSES}/{{response_id}}/answers/files/")
async def list_file_answers(response_id: str, ctx: ContextDep, actor: ActorDep) -> AnswerFiles:
    """The response's file answers."""
    response = await _response(ctx, actor, response_id, Scope.DOCUMENTS_READ)
    listed = await _answers(ctx, actor, response)
    return AnswerFiles(count=len(listed), data=listed)


@router.get(f"{V1}/responses/{{response_id}}/documents/{{attachment_id}}/")
@router.get(f"{V2_RESPONSES}/{{response_id}}/answers/files/{{attachment_id}}/")
async def get_file_answer(
    response_id: str, attachment_id: str, ctx: ContextDep, actor: ActorDep
) -> FileAnswerOut:
    """One file answer of the response."""
    response = await _response(ctx, actor, response_id, Scope.DOCUMENTS_READ)
    answered = await _answered(ctx, actor, response, attachment_id, Scope.DOCUMENTS_READ)
    return FileAnswerOut.of(answered, response, await catalog.load_catalog(ctx, actor))


@router.delete(f"{V2_RESPONSES}/{{response_id}}/answers/files/{{attachment_id}}/", status_code=204)
async def delete_file_answer(
    response_id: str, attachment_id: str, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """Delete the file answer and its document."""

    async def write() -> Written:
        response = await _response(ctx, actor, response_id, Scope.DOCUMENTS_DELETE)
        answer_id = path_id(attachment_id, questionnaires.answer_not_found)
        await questionnaires.delete_file_answer(ctx, actor, response.id, answer_id)
        return Written(Response(status_code=204))

    return await once(actor, write)


@router.get(f"{V2_RESPONSES}/{{response_id}}/answers/files/{{attachment_id}}/download/")
async def get_file_answer_download_url(
    response_id: str, attachment_id: str, request: Request, ctx: ContextDep, actor: ActorDep
) -> AnswerDownloadOut:
    """A proxy URL that serves the answer's file once, without an API key, for 15 minutes."""
    response = await _response(ctx, actor, response_id, Scope.DOCUMENTS_DOWNLOAD)
    answered = await _answered(ctx, actor, response, attachment_id, Scope.DOCUMENTS_DOWNLOAD)
    issued = await issue_link(ctx, actor, answered.document)
    plain = DownloadOut.of(issued, link_url(request, issued.token))
    return AnswerDownloadOut(**plain.model_dump(), attachment_id=str(answered.answer.id))


@router.get(f"{V2_RESPONSES}/{{response_id}}/documents/")
async def list_response_documents(
    response_id: str, ctx: ContextDep, actor: ActorDep
) -> ResponseDocuments:
    """The documents of the response's file answers."""
    response = await _response(ctx, actor, response_id, Scope.DOCUMENTS_READ)
    listed = await _answers(ctx, actor, response)
    return ResponseDocuments(count=len(listed), results=listed)
