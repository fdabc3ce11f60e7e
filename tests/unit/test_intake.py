"""The upload pipeline against real parts (SQLite file, local blob store, AES-GCM): every size
around a frame boundary, fed in awkward pieces, comes back byte-identical."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kycvault.bootstrap import Container, build_container, prepare_schema
from kycvault.config import Settings
from kycvault.errors import PayloadTooLarge, UnprocessableContent, UnsupportedMediaType
from kycvault.services import documents, files, tenants
from kycvault.services.context import Actor
from kycvault.services.intake import UploadSession

MiB = 1024 * 1024


@pytest.fixture
async def container(tmp_path: Path) -> AsyncIterator[Container]:
    built = build_container(Settings(data_dir=tmp_path, max_file_size=3 * MiB))
    await prepare_schema(built, upgrade=True)
    yield built
    await built.close()


@pytest.fixture
async def actor(container: Container) -> Actor:
    created = await tenants.create_tenant(container.ctx, name="t")
    return Actor(tenant_id=created.tenant.id, key_id=created.issued.key.key_id)


async def _upload(container: Container, actor: Actor, data: bytes, piece: int, name: str) -> str:
    session = await UploadSession.open(container.ctx, actor.tenant_id)
    intake = session.start_file(name)
    for start in range(0, len(data), piece):
        await intake.feed(data[start : start + piece])
    await session.finish_file(intake)
    doc = await documents.create_document(
        container.ctx, actor, {"type": "bank_statement"}, upload=session
    )
    return str(doc.id)


@pytest.mark.anyio
@pytest.mark.parametrize("size", [1, 100, MiB - 1, MiB, MiB + 1, 2 * MiB + 5])
@pytest.mark.parametrize("piece", [7777, 256 * 1024])
async def test_round_trip(container: Container, actor: Actor, size: int, piece: int) -> None:
    if size >= 9:
        data, name = b"%PDF-1.7\n" + os.urandom(size - 9), "s.pdf"
    else:
        data, name = b"hello world"[:size], "s.txt"
    doc_id = await _upload(container, actor, data, piece, name)
    doc = await documents.get_document(container.ctx, actor, uuid.UUID(doc_id))
    stored = doc.files[0]
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    content = await files.open_content(container.ctx, actor, doc.id, stored.id)
    assert b"".join([chunk async for chunk in content.stream()]) == data
    if len(data) > 10:
        content = await files.open_content(container.ctx, actor, doc.id, stored.id)
        middle = b"".join([c async for c in content.stream(len(data) // 2 - 3, len(data) // 2 + 3)])
        assert middle == data[len(data) // 2 - 3 : len(data) // 2 + 4]


@pytest.mark.anyio
async def test_size_cap_stops_the_stream(container: Container, actor: Actor) -> None:
    session = await UploadSession.open(container.ctx, actor.tenant_id)
    intake = session.start_file("big.pdf")
    await intake.feed(b"%PDF-1.7\n" + b"\0" * (3 * MiB - 9))
    with pytest.raises(PayloadTooLarge):
        await intake.feed(b"\0")
    await session.discard()
    staging = Path(container.settings.data_dir) / "blobs" / ".staging"
    assert list(staging.iterdir()) == []


@pytest.mark.anyio
async def test_content_is_checked_before_anything_is_written(
    container: Container, actor: Actor
) -> None:
    session = await UploadSession.open(container.ctx, actor.tenant_id)
    with pytest.raises(UnsupportedMediaType):
        session.start_file("tool.exe")
    intake = session.start_file("scan.pdf")
    with pytest.raises(UnprocessableContent):
        await intake.feed(b"MZ" + b"\0" * 9000)
    await session.discard()
    empty = session.start_file("empty.pdf")
    with pytest.raises(UnprocessableContent) as refused:
        await session.finish_file(empty)
    assert refused.value.code == "empty_file"
    await session.discard()
    assert list((Path(container.settings.data_dir) / "blobs" / ".staging").iterdir()) == []
