"""Helpers of the processing tests: uploading generated documents and waiting for their
stages to settle."""

from __future__ import annotations

import time
from typing import Any

import httpx2

from tests.helpers import Part, post_multipart

SETTLED = {"completed", "failed", "unauthorized"}


def upload(
    client: httpx2.Client,
    doc_type: str,
    data: bytes,
    filename: str,
    content_type: str,
    **fields: str,
) -> dict[str, Any]:
    parts = [Part("type", doc_type.encode())]
    parts += [Part(name, value.encode()) for name, value in fields.items()]
    parts.append(Part("file", data, filename, content_type))
    response = post_multipart(client, "/v1/documents", parts)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def settled(client: httpx2.Client, doc_id: str, *, timeout: float = 120.0) -> dict[str, Any]:
    """The document once no stage is idle or in progress (bounded wait)."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/v1/documents/{doc_id}")
        assert response.status_code == 200, response.text
        doc: dict[str, Any] = response.json()
        if set(doc["processing"].values()) <= SETTLED:
            return doc
        assert time.monotonic() < deadline, f"still processing: {doc['processing']}"
        time.sleep(0.1)


def signal(doc: dict[str, Any], code: str) -> dict[str, Any]:
    matching: list[dict[str, Any]] = [s for s in doc["authenticity_signals"] if s["code"] == code]
    assert len(matching) == 1, doc["authenticity_signals"]
    return matching[0]
