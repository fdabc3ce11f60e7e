"""Subjects."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import RowMapping

from kycvault.adapters.db.repositories._base import Repo, deferrable, seek_rows
from kycvault.adapters.db.sealed_fields import RowFields
from kycvault.adapters.db.tables import documents, subjects
from kycvault.domain.listing import SubjectQuery
from kycvault.domain.models import Subject
from kycvault.domain.types import SubjectType
from kycvault.ports.persistence.records import Seek

_GET_SUBJECT = subjects.select().where(
    subjects.c.tenant_id == sa.bindparam("tenant_id"), subjects.c.id == sa.bindparam("subject_id")
)


def _subject(row: RowMapping, sealed: RowFields) -> Subject:
    details = sealed.subject_details(row["tenant_id"], row)
    return Subject(
        id=row["id"],
        tenant_id=row["tenant_id"],
        number=row["number"],
        type=SubjectType(row["type"]),
        external_id=details["external_id"],
        display_name=details["display_name"],
        parent_id=row["parent_id"],
        metadata=dict(details["metadata"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        created_by=row["created_by"],
        updated_by=row["updated_by"],
        crypto_address=row["crypto_address"],
        birth_date=details["birth_date"],
    )


def _subject_values(subject: Subject, sealed: RowFields) -> dict[str, Any]:
    return {
        "type": subject.type.value,
        **sealed.subject_values(
            subject.tenant_id,
            subject.id,
            display_name=subject.display_name,
            external_id=subject.external_id,
            metadata=subject.metadata,
            birth_date=subject.birth_date,
        ),
        "parent_id": subject.parent_id,
        "crypto_address": subject.crypto_address,
        "updated_at": subject.updated_at,
        "updated_by": subject.updated_by,
    }


class SqlSubjects(Repo):
    @deferrable
    def add(self, subject: Subject) -> None:
        self._conn.execute(
            subjects.insert(),
            {
                "id": subject.id,
                "tenant_id": subject.tenant_id,
                "number": subject.number,
                "created_at": subject.created_at,
                "created_by": subject.created_by,
                **_subject_values(subject, self._sealed),
            },
        )

    def get(self, tenant_id: UUID, subject_id: UUID) -> Subject | None:
        row = self._one(_GET_SUBJECT, {"tenant_id": tenant_id, "subject_id": subject_id})
        return _subject(row, self._sealed) if row else None

    def get_by_number(self, tenant_id: UUID, number: int) -> Subject | None:
        row = self._one(
            subjects.select().where(subjects.c.tenant_id == tenant_id, subjects.c.number == number)
        )
        return _subject(row, self._sealed) if row else None

    def get_by_external_id(self, tenant_id: UUID, external_id: str) -> Subject | None:
        # Through its blind index: the external id itself is stored sealed only.
        index = self._sealed.external_id_index(tenant_id, external_id)
        row = self._one(
            subjects.select().where(
                subjects.c.tenant_id == tenant_id, subjects.c.external_id_index == index
            )
        )
        return _subject(row, self._sealed) if row else None

    @deferrable
    def update(self, subject: Subject) -> None:
        self._conn.execute(
            subjects.update()
            .where(subjects.c.tenant_id == subject.tenant_id, subjects.c.id == subject.id)
            .values(**_subject_values(subject, self._sealed))
        )

    @deferrable
    def delete(self, tenant_id: UUID, subject_id: UUID) -> None:
        self._conn.execute(
            subjects.delete().where(subjects.c.tenant_id == tenant_id, subjects.c.id == subject_id)
        )

    def has_documents(self, tenant_id: UUID, subject_id: UUID) -> bool:
        return self._exists(
            documents, documents.c.tenant_id == tenant_id, documents.c.subject_id == subject_id
        )

    def document_ids(self, tenant_id: UUID, subject_id: UUID) -> list[UUID]:
        return list(
            self._conn.execute(
                sa.select(documents.c.id)
                .where(documents.c.tenant_id == tenant_id, documents.c.subject_id == subject_id)
                .order_by(documents.c.created_at, documents.c.id)
            ).scalars()
        )

    def has_members(self, tenant_id: UUID, subject_id: UUID) -> bool:
        return self._exists(
            subjects, subjects.c.tenant_id == tenant_id, subjects.c.parent_id == subject_id
        )

    def members(self, tenant_id: UUID, subject_id: UUID, limit: int) -> list[Subject]:
        stmt = (
            subjects.select()
            .where(subjects.c.tenant_id == tenant_id, subjects.c.parent_id == subject_id)
            .order_by(subjects.c.created_at, subjects.c.id)
            .limit(limit)
        )
        sealed = self._sealed
        return [_subject(r, sealed) for r in self._all(stmt)]

    def with_review_status(
        self, tenant_id: UUID, statuses: tuple[str, ...], limit: int
    ) -> list[UUID]:
        # The (tenant_id, review_status, …) index of the review queue answers it.
        stmt = (
            sa.select(documents.c.subject_id)
            .where(
                documents.c.tenant_id == tenant_id,
                documents.c.review_status.in_(statuses),
                documents.c.subject_id.is_not(None),
            )
            .distinct()
            .limit(limit)
        )
        return list(self._conn.execute(stmt).scalars())

    def page(self, tenant_id: UUID, seek: Seek, query: SubjectQuery | None = None) -> list[Subject]:
        where = [subjects.c.tenant_id == tenant_id, *self._matching(tenant_id, query)]
        stmt = seek_rows(subjects.select().where(*where), subjects, seek)
        sealed = self._sealed
        return [_subject(r, sealed) for r in self._all(stmt)]

    def _matching(
        self, tenant_id: UUID, query: SubjectQuery | None
    ) -> list[sa.ColumnElement[bool]]:
        """The conditions of ``query``. The existing indexes serve them: the external id's
        blind index is unique in the tenant (one row at most), ``parent_id`` has its own, and
        a type is checked along the (tenant_id, created_at, id) index of the page."""
        if query is None:
            return []
        conditions: list[sa.ColumnElement[bool]] = []
        if query.external_id is not None:
            index = self._sealed.external_id_index(tenant_id, query.external_id)
            conditions.append(subjects.c.external_id_index == index)
        if query.types:
            conditions.append(subjects.c.type.in_([t.value for t in query.types]))
        if query.parent_id is not None:
            conditions.append(subjects.c.parent_id == query.parent_id)
        return conditions
