"""Shared helpers of the crypto-shredding tests (``test_erasure.py``,
``test_delete_shredding.py``): uploads of a subject, a file's row and its subject's keys as
the stores hold them, and a backup of the embedded vault's data (not of its subject-key
store) taken and restored."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx2

from kycvault.domain.models import StoredFile
from kycvault.ports.keystore import SubjectKeyRecord
from kycvault.services.context import AppContext
from tests.helpers import Part, Server, post_multipart

# What an operator's backup of the data holds: the database and the blob directory.
BACKED_UP = ("kycvault.db", "blobs")


def upload(client: httpx2.Client, subject_id: str, doc_type: str, content: bytes) -> dict[str, Any]:
    parts = [
        Part("type", doc_type.encode()),
        Part("subject_id", subject_id.encode()),
        Part("file", content, "scan.png", "image/png"),
    ]
    response = post_multipart(client, "/v1/documents", parts)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


def read_content(client: httpx2.Client, doc: dict[str, Any]) -> httpx2.Response:
    return client.get(f"/v1/documents/{doc['id']}/files/{doc['files'][0]['id']}/content")


def subject_keys(server: Server, tenant: dict[str, Any], subject_id: str) -> list[SubjectKeyRecord]:
    async def work(ctx: AppContext) -> list[SubjectKeyRecord]:
        return await ctx.subject_keys.store.of_subject(
            UUID(str(tenant["tenant_id"])), UUID(subject_id)
        )

    return server.in_context(work)


def stored(server: Server, tenant: dict[str, Any], doc: dict[str, Any]) -> StoredFile:
    """The document's first file's row, as a backup of the database holds it."""

    async def work(ctx: AppContext) -> StoredFile:
        async with ctx.store.read() as uow:
            found = await uow.documents.get(UUID(str(tenant["tenant_id"])), UUID(doc["id"]))
        assert found is not None
        return found.files[0]

    return server.in_context(work)


def back_up(server: Server, backup: Path) -> None:
    """Copy the stopped embedded vault's database and blob directory to ``backup``."""
    backup.mkdir()
    for name in BACKED_UP:
        source = server.data_dir / name
        copy = shutil.copytree if source.is_dir() else shutil.copy2
        copy(source, backup / name)
    assert (server.data_dir / "subject-keys.db").exists()  # apart, and not backed up here


def restore(server: Server, backup: Path) -> None:
    """Put ``backup`` back in place of the stopped vault's database and blob directory."""
    shutil.rmtree(server.data_dir / "blobs")
    for name in BACKED_UP:
        for stale in server.data_dir.glob(name + "-*"):
            stale.unlink()
        copy = shutil.copytree if (backup / name).is_dir() else shutil.copy2
        copy(backup / name, server.data_dir / name)


def restore_after(
    server: Server, api_key: str, backup: Path, change: Callable[[httpx2.Client], None]
) -> None:
    """Back the running embedded vault's data up, make ``change`` through its API, then put
    the backup back in place and start it again: an operator's restore after the change."""
    server.stop()
    back_up(server, backup)
    server.start()
    with server.client(api_key) as client:
        change(client)
    server.stop()
    restore(server, backup)
    server.start()
