"""Questionnaire responses and their file answers."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import RowMapping

from kycvault.adapters.db.questionnaire_tables import file_answers, questionnaire_responses
from kycvault.adapters.db.repositories._base import Repo, deferrable
from kycvault.domain.models import FileAnswer, QuestionnaireResponse
from kycvault.domain.types import ResponseStatus

_responses = questionnaire_responses.c
_answers = file_answers.c


def _response(row: RowMapping) -> QuestionnaireResponse:
    return QuestionnaireResponse(
        id=row["id"],
        tenant_id=row["tenant_id"],
        subject_id=row["subject_id"],
        questionnaire=row["questionnaire"],
        name=row["name"],
        status=ResponseStatus(row["status"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        created_by=row["created_by"],
    )


def _answer(row: RowMapping) -> FileAnswer:
    return FileAnswer(
        id=row["id"],
        tenant_id=row["tenant_id"],
        response_id=row["response_id"],
        document_id=row["document_id"],
        question_id=row["question_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        created_by=row["created_by"],
    )


class SqlResponses(Repo):
    @deferrable
    def add(self, response: QuestionnaireResponse) -> None:
        self._conn.execute(
            questionnaire_responses.insert(),
            {
                "id": response.id,
                "tenant_id": response.tenant_id,
                "subject_id": response.subject_id,
                "questionnaire": response.questionnaire,
                "name": response.name,
                "status": response.status.value,
                "created_at": response.created_at,
                "updated_at": response.updated_at,
                "created_by": response.created_by,
            },
        )

    def get(self, tenant_id: UUID, response_id: UUID) -> QuestionnaireResponse | None:
        row = self._one(
            questionnaire_responses.select().where(
                _responses.tenant_id == tenant_id, _responses.id == response_id
            )
        )
        return _response(row) if row else None

    @deferrable
    def delete(self, tenant_id: UUID, response_id: UUID) -> None:
        """The response and its file answers (not the documents they reference)."""
        self._conn.execute(
            file_answers.delete().where(
                _answers.tenant_id == tenant_id, _answers.response_id == response_id
            )
        )
        self._conn.execute(
            questionnaire_responses.delete().where(
                _responses.tenant_id == tenant_id, _responses.id == response_id
            )
        )

    def exists_for_subject(self, tenant_id: UUID, subject_id: UUID) -> bool:
        return self._exists(
            questionnaire_responses,
            _responses.tenant_id == tenant_id,
            _responses.subject_id == subject_id,
        )

    @deferrable
    def add_answer(self, answer: FileAnswer) -> None:
        self._conn.execute(
            file_answers.insert(),
            {
                "id": answer.id,
                "tenant_id": answer.tenant_id,
                "response_id": answer.response_id,
                "document_id": answer.document_id,
                "question_id": answer.question_id,
                "created_at": answer.created_at,
                "updated_at": answer.updated_at,
                "created_by": answer.created_by,
            },
        )

    def get_answer(self, tenant_id: UUID, answer_id: UUID) -> FileAnswer | None:
        row = self._one(
            file_answers.select().where(_answers.tenant_id == tenant_id, _answers.id == answer_id)
        )
        return _answer(row) if row else None

    def answers(self, tenant_id: UUID, response_id: UUID) -> list[FileAnswer]:
        rows = self._all(
            file_answers.select()
            .where(_answers.tenant_id == tenant_id, _answers.response_id == response_id)
            .order_by(_answers.created_at, _answers.id)
        )
        return [_answer(row) for row in rows]

    @deferrable
    def delete_answer(self, tenant_id: UUID, answer_id: UUID) -> None:
        self._conn.execute(
            file_answers.delete().where(_answers.tenant_id == tenant_id, _answers.id == answer_id)
        )

    def references(self, tenant_id: UUID, document_id: UUID) -> bool:
        return self._exists(
            file_answers, _answers.tenant_id == tenant_id, _answers.document_id == document_id
        )
