"""Documents read back as they were written, on both backend pairs, through every read that
builds them from rows: a listing page (its files read on the driver's cursor, its rows by
position), a numbered page, a single document and several by id; and the same entities as
the rows read by name build them."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from kycvault.adapters.db.repositories import document_rows
from kycvault.adapters.db.repositories.documents import SqlDocuments
from kycvault.adapters.db.tables import tenant_keys
from kycvault.bootstrap import Container
from kycvault.config import Settings
from kycvault.domain.listing import DocumentQuery
from kycvault.domain.models import Document, StoredFile, Subject
from kycvault.domain.processing import Processing, ProcessingSettings
from kycvault.domain.review import ReasonCode, Review, ReviewStatus
from kycvault.domain.types import Authenticity, FileRole, SubjectType
from kycvault.ports.persistence.records import Seek
from kycvault.services.context import Actor
from tests.backends import Backend
from tests.helpers import backend_settings

AT = datetime(2027, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture
def settings(backend_pair: Backend, tmp_path: Path) -> Settings:
    return backend_settings(backend_pair, tmp_path)


def _document(tenant_id: uuid.UUID, number: int, **changes: Any) -> Document:
    bare = Document(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        number=number,
        subject_id=None,
        type="passport",
        name=None,
        id_number=None,
        issuing_country=None,
        issue_date=None,
        expiry_date=None,
        authenticity=None,
        notify_before_expiry=False,
        metadata={},
        created_at=AT + timedelta(minutes=number),
        updated_at=AT + timedelta(minutes=number),
        created_by=None,
        updated_by=None,
    )
    return dataclasses.replace(bare, **changes)


def _file(document: Document, position: int, kek_id: uuid.UUID, **changes: Any) -> StoredFile:
    bare = StoredFile(
        id=uuid.uuid4(),
        tenant_id=document.tenant_id,
        document_id=document.id,
        position=position,
        role=None,
        filename=None,
        content_type="application/pdf",
        size=1000 + position,
        sha256=f"{position:064x}",
        blob_key=f"{document.id.hex}/{uuid.uuid4().hex}",
        wrapped_dek=bytes(range(position, position + 60)),
        kek_id=kek_id,
        created_at=AT + timedelta(seconds=position),
        created_by="kvk_files",
    )
    return dataclasses.replace(bare, **changes)


async def _written(container: Container, actor: Actor) -> list[Document]:
    """Three documents, newest first: one with everything a document may hold (sealed
    processing findings, metadata, a number, a review with its reason, three files), one
    with one file, one with none."""
    tenant_id = actor.tenant_id
    store = container.ctx.store

    def tenant_key(conn: sa.Connection) -> uuid.UUID:
        stmt = sa.select(tenant_keys.c.id).where(tenant_keys.c.tenant_id == tenant_id)
        key_id: uuid.UUID = conn.execute(stmt).scalar_one()
        return key_id

    kek_id = await container.store.database.run_sync(tenant_key)
    subject = Subject(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        number=1,
        type=SubjectType.INDIVIDUAL,
        external_id="user-1",
        display_name="Anna Eriksson",
        parent_id=None,
        metadata={},
        created_at=AT,
        updated_at=AT,
        created_by=None,
        updated_by=None,
    )
    processing = dataclasses.replace(
        Processing().queued(ProcessingSettings(ocr=False)).started().failed("broken"),
        extracted={"pages": 1, "mrz": {"layout": "TD3"}},
        classification={"type": "passport", "confidence": 0.97},
        authenticity_score=55,
        signals=[{"code": "duplicate_file", "weight": 35, "fired": True}],
        processed_at="2026-05-01T10:00:00+00:00",
    )
    full = _document(
        tenant_id,
        3,
        subject_id=subject.id,
        name="Passport of Anna",
        id_number="L898902C3",
        issuing_country="SWE",
        issue_date=date(2020, 1, 2),
        expiry_date=date(2030, 1, 1),
        authenticity=Authenticity.CERTIFIED_COPY,
        notify_before_expiry=True,
        metadata={"source": "branch", "nested": {"n": [1, 2]}},
        created_by="kvk_creator",
        updated_by="kvk_editor",
        processing=processing,
        review=Review(ReviewStatus.REJECTED, ReasonCode.OTHER, "blurry photo", "kvk_1", AT),
    )
    full.files = [
        _file(full, 0, kek_id, role=FileRole.FRONT, filename="front.jpg"),
        _file(
            full, 1, kek_id, role=FileRole.BACK, filename="back.jpg", subject_key_id=uuid.uuid4()
        ),
        _file(full, 2, kek_id),
    ]
    one = _document(tenant_id, 2, name="statement.pdf")
    one.files = [_file(one, 0, kek_id, filename="statement.pdf")]
    written = [full, one, _document(tenant_id, 1)]
    async with store.write() as uow:
        await uow.subjects.add(subject)
        for document in written:
            await uow.documents.add(document)
            for file in document.files:
                await uow.files.add(file)
        await uow.documents.set_review(tenant_id, full.id, full.review)
    return written


@pytest.mark.anyio
async def test_documents_read_back_as_written(container: Container, actor: Actor) -> None:
    written = await _written(container, actor)
    tenant_id = actor.tenant_id
    by_id = {document.id: document for document in written}
    async with container.ctx.store.read() as uow:
        newest = await uow.documents.page(
            tenant_id, DocumentQuery(), Seek(sort="-created_at", limit=10)
        )
        oldest = await uow.documents.page_at(tenant_id, DocumentQuery(), offset=1, limit=2)
        one = await uow.documents.get(tenant_id, written[0].id)
        some = await uow.documents.get_many(tenant_id, [written[1].id, written[0].id])
    assert newest == written
    assert oldest == written[1:]
    assert one == written[0]
    assert sorted(some, key=lambda d: d.number) == [written[1], written[0]]
    for document in newest:
        assert document == by_id[document.id]
        assert all(type(file.kek_id) is uuid.UUID for file in document.files)
        assert all(type(file.wrapped_dek) is bytes for file in document.files)


@pytest.mark.anyio
async def test_a_page_is_what_its_rows_read_by_name_give(
    container: Container, actor: Actor
) -> None:
    await _written(container, actor)
    tenant_id = actor.tenant_id
    fields = container.store.fields

    def both(conn: sa.Connection) -> tuple[list[Document], list[Document]]:
        repo = SqlDocuments(conn, fields)
        seek = Seek(sort="-created_at", limit=10)
        page = repo.page(tenant_id, DocumentQuery(), seek)
        rows = conn.execute(repo.page_statement(tenant_id, DocumentQuery(), seek)).mappings()
        by_name = []
        for row in rows.all():
            files = conn.execute(
                document_rows._FILES_OF, {"tenant_id": tenant_id, "ids": [row["id"]]}
            ).mappings()
            attached = [document_rows.stored_file(f, tenant_id, repo._sealed) for f in files]
            by_name.append(document_rows.document_entity(row, tenant_id, attached, repo._sealed))
        return page, by_name

    page, by_name = await container.store.database.run_sync(both)
    assert len(page) == 3
    assert page == by_name
