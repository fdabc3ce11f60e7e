"""Shared helpers of the download end-to-end tests (``test_download*.py``,
``test_document_files.py``)."""

from __future__ import annotations

from typing import Any

import httpx2

from tests.helpers import Part, post_multipart


def upload(
    client: httpx2.Client,
    *files: tuple[str, bytes] | tuple[str, bytes, str],
    doc_type: str = "bank_statement",
) -> dict[str, Any]:
    parts = [Part("type", doc_type.encode())]
    for item in files:
        name, data = item[0], item[1]
        content_type = item[2] if len(item) > 2 else "application/octet-stream"
        parts.append(Part("file", data, name, content_type))
    response = post_multipart(client, "/v1/documents", parts)
    assert response.status_code == 201, response.text
    doc: dict[str, Any] = response.json()
    return doc


def content_url(doc: dict[str, Any], index: int = 0) -> str:
    return f"/v1/documents/{doc['id']}/files/{doc['files'][index]['id']}/content"


def assert_problem(response: httpx2.Response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if code is not None:
        assert response.json()["code"] == code
