"""Repositories over SQLAlchemy Core: rows in, domain entities out. Every query on tenant data
filters by ``tenant_id``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from kycvault.adapters.db.tables import (
    api_keys,
    audit_events,
    documents,
    files,
    subjects,
    tenant_keys,
    tenants,
)
from kycvault.domain.models import ApiKey, Document, StoredFile, Subject, Tenant
from kycvault.domain.types import Authenticity, FileRole, SubjectType
from kycvault.services.unit_of_work import AuditEvent, DocumentFilter, Seek, TenantKeyRecord


def _seek(stmt: sa.Select[Any], table: sa.Table, seek: Seek) -> sa.Select[Any]:
    """Keyset pagination: ``(sort column, id)`` compared as a row value, so the composite
    ``(tenant_id, column, id)`` index answers any page at any depth with a range scan."""
    descending = seek.sort.startswith("-")
    column = table.c[seek.sort.lstrip("-")]
    scan_descending = descending != seek.backward
    if seek.position is not None:
        value, row_id = seek.position
        key = sa.tuple_(column, table.c.id)
        bound = sa.tuple_(sa.literal(value, column.type), sa.literal(row_id, table.c.id.type))
        stmt = stmt.where(key < bound if scan_descending else key > bound)
    if scan_descending:
        stmt = stmt.order_by(column.desc(), table.c.id.desc())
    else:
        stmt = stmt.order_by(column.asc(), table.c.id.asc())
    return stmt.limit(seek.limit)


class _Repo:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def _one(self, stmt: sa.Executable) -> RowMapping | None:
        return (await self._conn.execute(stmt)).mappings().first()

    async def _all(self, stmt: sa.Executable) -> Sequence[RowMapping]:
        return (await self._conn.execute(stmt)).mappings().all()


# --- tenants -------------------------------------------------------------------------------


def _tenant(row: RowMapping) -> Tenant:
    return Tenant(
        id=row["id"],
        number=row["number"],
        name=row["name"],
        created_at=row["created_at"],
        settings=dict(row["settings"] or {}),
    )


def _tenant_key(row: RowMapping) -> TenantKeyRecord:
    return TenantKeyRecord(
        id=row["id"],
        tenant_id=row["tenant_id"],
        wrapped_key=row["wrapped_key"],
        master_key_id=row["master_key_id"],
        created_at=row["created_at"],
    )


class SqlTenants(_Repo):
    async def add(self, tenant: Tenant) -> None:
        await self._conn.execute(
            tenants.insert().values(
                id=tenant.id,
                number=tenant.number,
                name=tenant.name,
                settings=tenant.settings,
                created_at=tenant.created_at,
            )
        )

    async def get(self, tenant_id: UUID) -> Tenant | None:
        row = await self._one(tenants.select().where(tenants.c.id == tenant_id))
        return _tenant(row) if row else None

    async def get_by_name(self, name: str) -> Tenant | None:
        row = await self._one(tenants.select().where(tenants.c.name == name))
        return _tenant(row) if row else None

    async def get_by_number(self, number: int) -> Tenant | None:
        row = await self._one(tenants.select().where(tenants.c.number == number))
        return _tenant(row) if row else None

    async def list_all(self) -> list[Tenant]:
        return [_tenant(r) for r in await self._all(tenants.select().order_by(tenants.c.number))]

    async def next_number(self) -> int:
        value = (await self._conn.execute(sa.select(sa.func.max(tenants.c.number)))).scalar()
        return int(value or 0) + 1

    async def allocate(self, tenant_id: UUID, kind: Literal["subject", "document"]) -> int:
        column = tenants.c.subject_seq if kind == "subject" else tenants.c.document_seq
        # UPDATE … RETURNING takes the tenant row's lock on PostgreSQL, so two concurrent
        # uploads can never draw the same number.
        result = await self._conn.execute(
            tenants.update()
            .where(tenants.c.id == tenant_id)
            .values({column: column + 1})
            .returning(column)
        )
        return int(result.scalar_one())

    async def add_key(self, record: TenantKeyRecord) -> None:
        await self._conn.execute(
            tenant_keys.insert().values(
                id=record.id,
                tenant_id=record.tenant_id,
                wrapped_key=record.wrapped_key,
                master_key_id=record.master_key_id,
                created_at=record.created_at,
            )
        )

    async def current_key(self, tenant_id: UUID) -> TenantKeyRecord | None:
        row = await self._one(
            tenant_keys.select()
            .where(tenant_keys.c.tenant_id == tenant_id, tenant_keys.c.retired_at.is_(None))
            .order_by(tenant_keys.c.created_at.desc())
            .limit(1)
        )
        return _tenant_key(row) if row else None

    async def get_key(self, tenant_id: UUID, key_id: UUID) -> TenantKeyRecord | None:
        row = await self._one(
            tenant_keys.select().where(
                tenant_keys.c.tenant_id == tenant_id, tenant_keys.c.id == key_id
            )
        )
        return _tenant_key(row) if row else None


# --- API keys ------------------------------------------------------------------------------


def _api_key(row: RowMapping) -> ApiKey:
    return ApiKey(
        id=row["id"],
        tenant_id=row["tenant_id"],
        key_id=row["key_id"],
        name=row["name"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


class SqlApiKeys(_Repo):
    async def add(self, key: ApiKey, secret_hash: bytes) -> None:
        await self._conn.execute(
            api_keys.insert().values(
                id=key.id,
                tenant_id=key.tenant_id,
                key_id=key.key_id,
                secret_hash=secret_hash,
                name=key.name,
                created_at=key.created_at,
                revoked_at=key.revoked_at,
            )
        )

    async def find(self, key_id: str) -> tuple[ApiKey, bytes] | None:
        row = await self._one(api_keys.select().where(api_keys.c.key_id == key_id))
        return (_api_key(row), bytes(row["secret_hash"])) if row else None

    async def list_for(self, tenant_id: UUID) -> list[ApiKey]:
        rows = await self._all(
            api_keys.select()
            .where(api_keys.c.tenant_id == tenant_id)
            .order_by(api_keys.c.created_at, api_keys.c.id)
        )
        return [_api_key(r) for r in rows]

    async def revoke(self, key_id: str, at: datetime) -> ApiKey | None:
        await self._conn.execute(
            api_keys.update()
            .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        found = await self.find(key_id)
        return found[0] if found else None


# --- subjects ------------------------------------------------------------------------------


def _subject(row: RowMapping) -> Subject:
    return Subject(
        id=row["id"],
        tenant_id=row["tenant_id"],
        number=row["number"],
        type=SubjectType(row["type"]),
        external_id=row["external_id"],
        display_name=row["display_name"],
        parent_id=row["parent_id"],
        metadata=dict(row["metadata"] or {}),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        created_by=row["created_by"],
        updated_by=row["updated_by"],
    )


def _subject_values(subject: Subject) -> dict[str, Any]:
    return {
        "type": subject.type.value,
        "external_id": subject.external_id,
        "display_name": subject.display_name,
        "parent_id": subject.parent_id,
        "metadata": subject.metadata,
        "updated_at": subject.updated_at,
        "updated_by": subject.updated_by,
    }


class SqlSubjects(_Repo):
    async def add(self, subject: Subject) -> None:
        await self._conn.execute(
            subjects.insert().values(
                id=subject.id,
                tenant_id=subject.tenant_id,
                number=subject.number,
                created_at=subject.created_at,
                created_by=subject.created_by,
                **_subject_values(subject),
            )
        )

    async def get(self, tenant_id: UUID, subject_id: UUID) -> Subject | None:
        row = await self._one(
            subjects.select().where(subjects.c.tenant_id == tenant_id, subjects.c.id == subject_id)
        )
        return _subject(row) if row else None

    async def get_by_external_id(self, tenant_id: UUID, external_id: str) -> Subject | None:
        row = await self._one(
            subjects.select().where(
                subjects.c.tenant_id == tenant_id, subjects.c.external_id == external_id
            )
        )
        return _subject(row) if row else None

    async def update(self, subject: Subject) -> None:
        await self._conn.execute(
            subjects.update()
            .where(subjects.c.tenant_id == subject.tenant_id, subjects.c.id == subject.id)
            .values(**_subject_values(subject))
        )

    async def delete(self, tenant_id: UUID, subject_id: UUID) -> None:
        await self._conn.execute(
            subjects.delete().where(subjects.c.tenant_id == tenant_id, subjects.c.id == subject_id)
        )

    async def has_documents(self, tenant_id: UUID, subject_id: UUID) -> bool:
        return await self._exists(
            documents, documents.c.tenant_id == tenant_id, documents.c.subject_id == subject_id
        )

    async def has_members(self, tenant_id: UUID, subject_id: UUID) -> bool:
        return await self._exists(
            subjects, subjects.c.tenant_id == tenant_id, subjects.c.parent_id == subject_id
        )

    async def _exists(self, table: sa.Table, *conditions: sa.ColumnElement[bool]) -> bool:
        stmt = sa.select(sa.literal(1)).select_from(table).where(*conditions).limit(1)
        return (await self._conn.execute(stmt)).first() is not None

    async def page(self, tenant_id: UUID, seek: Seek) -> list[Subject]:
        stmt = _seek(subjects.select().where(subjects.c.tenant_id == tenant_id), subjects, seek)
        return [_subject(r) for r in await self._all(stmt)]


# --- documents and files -------------------------------------------------------------------


def _file(row: RowMapping) -> StoredFile:
    return StoredFile(
        id=row["id"],
        tenant_id=row["tenant_id"],
        document_id=row["document_id"],
        position=row["position"],
        role=FileRole(row["role"]) if row["role"] else None,
        filename=row["filename"],
        content_type=row["content_type"],
        size=row["size"],
        sha256=row["sha256"],
        blob_key=row["blob_key"],
        wrapped_dek=bytes(row["wrapped_dek"]),
        kek_id=row["kek_id"],
        created_at=row["created_at"],
        created_by=row["created_by"],
    )


def _document(row: RowMapping, attached: list[StoredFile]) -> Document:
    return Document(
        id=row["id"],
        tenant_id=row["tenant_id"],
        number=row["number"],
        subject_id=row["subject_id"],
        type=row["type"],
        name=row["name"],
        id_number=row["id_number"],
        issuing_country=row["issuing_country"],
        issue_date=row["issue_date"],
        expiry_date=row["expiry_date"],
        authenticity=Authenticity(row["authenticity"]) if row["authenticity"] else None,
        notify_before_expiry=row["notify_before_expiry"],
        metadata=dict(row["metadata"] or {}),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        created_by=row["created_by"],
        updated_by=row["updated_by"],
        files=attached,
    )


def _document_values(doc: Document) -> dict[str, Any]:
    return {
        "subject_id": doc.subject_id,
        "type": doc.type,
        "name": doc.name,
        "id_number": doc.id_number,
        "issuing_country": doc.issuing_country,
        "issue_date": doc.issue_date,
        "expiry_date": doc.expiry_date,
        "authenticity": doc.authenticity.value if doc.authenticity else None,
        "notify_before_expiry": doc.notify_before_expiry,
        "metadata": doc.metadata,
        "updated_at": doc.updated_at,
        "updated_by": doc.updated_by,
    }


class SqlDocuments(_Repo):
    async def add(self, document: Document) -> None:
        await self._conn.execute(
            documents.insert().values(
                id=document.id,
                tenant_id=document.tenant_id,
                number=document.number,
                created_at=document.created_at,
                created_by=document.created_by,
                **_document_values(document),
            )
        )

    async def get(
        self, tenant_id: UUID, document_id: UUID, *, for_update: bool = False
    ) -> Document | None:
        stmt = documents.select().where(
            documents.c.tenant_id == tenant_id, documents.c.id == document_id
        )
        row = await self._one(stmt.with_for_update() if for_update else stmt)
        if row is None:
            return None
        attached = await self._files_of([document_id], tenant_id)
        return _document(row, attached.get(document_id, []))

    async def update(self, document: Document) -> None:
        await self._conn.execute(
            documents.update()
            .where(documents.c.tenant_id == document.tenant_id, documents.c.id == document.id)
            .values(**_document_values(document))
        )

    async def delete(self, tenant_id: UUID, document_id: UUID) -> None:
        await self._conn.execute(
            files.delete().where(files.c.tenant_id == tenant_id, files.c.document_id == document_id)
        )
        await self._conn.execute(
            documents.delete().where(
                documents.c.tenant_id == tenant_id, documents.c.id == document_id
            )
        )

    async def page(self, tenant_id: UUID, flt: DocumentFilter, seek: Seek) -> list[Document]:
        stmt = documents.select().where(documents.c.tenant_id == tenant_id)
        if flt.subject_id is not None:
            stmt = stmt.where(documents.c.subject_id == flt.subject_id)
        if flt.types:
            stmt = stmt.where(documents.c.type.in_(flt.types))
        rows = await self._all(_seek(stmt, documents, seek))
        attached = await self._files_of([r["id"] for r in rows], tenant_id)
        return [_document(r, attached.get(r["id"], [])) for r in rows]

    async def _files_of(
        self, document_ids: list[UUID], tenant_id: UUID
    ) -> dict[UUID, list[StoredFile]]:
        if not document_ids:
            return {}
        rows = await self._all(
            files.select()
            .where(files.c.tenant_id == tenant_id, files.c.document_id.in_(document_ids))
            .order_by(files.c.position, files.c.id)
        )
        grouped: dict[UUID, list[StoredFile]] = {}
        for row in rows:
            grouped.setdefault(row["document_id"], []).append(_file(row))
        return grouped


class SqlFiles(_Repo):
    async def add(self, stored: StoredFile) -> None:
        await self._conn.execute(
            files.insert().values(
                id=stored.id,
                tenant_id=stored.tenant_id,
                document_id=stored.document_id,
                position=stored.position,
                role=stored.role.value if stored.role else None,
                filename=stored.filename,
                content_type=stored.content_type,
                size=stored.size,
                sha256=stored.sha256,
                blob_key=stored.blob_key,
                wrapped_dek=stored.wrapped_dek,
                kek_id=stored.kek_id,
                created_at=stored.created_at,
                created_by=stored.created_by,
            )
        )

    async def count(self, tenant_id: UUID, document_id: UUID) -> int:
        stmt = sa.select(sa.func.count()).where(
            files.c.tenant_id == tenant_id, files.c.document_id == document_id
        )
        return int((await self._conn.execute(stmt)).scalar_one())

    async def next_position(self, tenant_id: UUID, document_id: UUID) -> int:
        stmt = sa.select(sa.func.max(files.c.position)).where(
            files.c.tenant_id == tenant_id, files.c.document_id == document_id
        )
        last = (await self._conn.execute(stmt)).scalar()
        return 0 if last is None else int(last) + 1

    async def delete(self, tenant_id: UUID, file_id: UUID) -> None:
        await self._conn.execute(
            files.delete().where(files.c.tenant_id == tenant_id, files.c.id == file_id)
        )


# --- audit ---------------------------------------------------------------------------------


class SqlAudit(_Repo):
    async def add(self, event: AuditEvent) -> None:
        await self._conn.execute(
            audit_events.insert().values(
                id=event.id,
                tenant_id=event.tenant_id,
                at=event.at,
                actor=event.actor,
                action=event.action,
                outcome=event.outcome,
                target_type=event.target_type,
                target_id=event.target_id,
                request_id=event.request_id,
                details=event.details,
            )
        )

    async def list_for(self, tenant_id: UUID, *, limit: int = 100) -> list[AuditEvent]:
        rows = await self._all(
            audit_events.select()
            .where(audit_events.c.tenant_id == tenant_id)
            .order_by(audit_events.c.at.desc(), audit_events.c.id.desc())
            .limit(limit)
        )
        return [
            AuditEvent(
                id=r["id"],
                tenant_id=r["tenant_id"],
                at=r["at"],
                actor=r["actor"],
                action=r["action"],
                outcome=r["outcome"],
                target_type=r["target_type"],
                target_id=r["target_id"],
                request_id=r["request_id"],
                details=dict(r["details"] or {}),
            )
            for r in rows
        ]
