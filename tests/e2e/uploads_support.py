"""Shared helpers of the upload end-to-end tests (``test_upload*.py``).

Every rejected upload must leave nothing behind: no document row, no published blob in the
tenant's blob directory and no leftover in the blob store's staging directory;
:class:`Snapshot` and :func:`assert_staging_empty` check exactly that.
"""

from __future__ import annotations

import io
import time
import zipfile
from typing import Any

import httpx2

from tests.helpers import PDF_BYTES, Part, Server, image_bytes, post_multipart
from tests.stored_blobs import StoredBlob

PNG_TYPE = "image/png"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def docx_bytes() -> bytes:
    """A minimal Office Open XML word document."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
            "</Types>",
        )
        archive.writestr(
            "word/document.xml",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            "<w:body><w:p><w:r><w:t>Proof of address</w:t></w:r></w:p></w:body></w:document>",
        )
    return buffer.getvalue()


def plain_zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.md", "just a zip")
    return buffer.getvalue()


TEXT_BYTES = b"Account holder: Jane Doe\nIBAN: DE89 3704 0044 0532 0130 00\n"
CSV_BYTES = b"date,amount,currency\n2024-01-02,100.50,EUR\n2024-01-03,-20.00,EUR\n"


def blob_path(server: Server, tenant: dict[str, Any], file_id: str) -> StoredBlob:
    return server.storage.blob(str(tenant["tenant_id"]), file_id)


def tenant_blobs(server: Server, tenant: dict[str, Any]) -> set[StoredBlob]:
    return server.storage.tenant_blobs(str(tenant["tenant_id"]))


def staging_files(server: Server) -> list[str]:
    return server.storage.staging()


def document_ids(client: httpx2.Client) -> set[str]:
    response = client.get("/v1/documents", params={"limit": 100})
    assert response.status_code == 200, response.text
    return {doc["id"] for doc in response.json()["data"]}


def assert_problem(
    response: httpx2.Response, status: int, code: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code, body
    return body


class Snapshot:
    """What a tenant has stored, to prove that a rejected request added nothing."""

    def __init__(self, server: Server, tenant: dict[str, Any], client: httpx2.Client) -> None:
        self.server, self.tenant, self.client = server, tenant, client
        self.documents = document_ids(client)
        self.blobs = tenant_blobs(server, tenant)
        self.file_counts = {
            doc_id: len(client.get(f"/v1/documents/{doc_id}").json()["files"])
            for doc_id in self.documents
        }

    def assert_unchanged(self) -> None:
        assert document_ids(self.client) == self.documents
        assert tenant_blobs(self.server, self.tenant) == self.blobs
        for doc_id, count in self.file_counts.items():
            assert len(self.client.get(f"/v1/documents/{doc_id}").json()["files"]) == count
        assert_staging_empty(self.server)


def assert_staging_empty(server: Server, timeout: float = 5.0) -> None:
    """Staging must be empty; discarding runs before the response is sent, but allow a short
    grace for a request the client abandoned."""
    deadline = time.monotonic() + timeout
    while staging_files(server) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert staging_files(server) == []


def create(client: httpx2.Client, doc_type: str, *parts: Part, **fields: str) -> httpx2.Response:
    form = [Part("type", doc_type.encode())]
    form += [Part(name, value.encode()) for name, value in fields.items()]
    return post_multipart(client, "/v1/documents", [*form, *parts])


def png_part(name: str = "scan.png", data: bytes | None = None) -> Part:
    return Part("file", data if data is not None else image_bytes("PNG"), name, PNG_TYPE)


def pdf_part(name: str = "doc.pdf", data: bytes = PDF_BYTES) -> Part:
    return Part("file", data, name, "application/pdf")
