"""Shared helpers of the /v1/documents end-to-end tests (``test_document*.py``)."""

from __future__ import annotations

from typing import Any

import httpx2


def new_subject(client: httpx2.Client, **fields: Any) -> dict[str, Any]:
    response = client.post("/v1/subjects", json=fields)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def new_doc(client: httpx2.Client, **fields: Any) -> dict[str, Any]:
    fields.setdefault("type", "passport")
    response = client.post("/v1/documents", json=fields)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def ids(page: dict[str, Any]) -> list[str]:
    return [d["id"] for d in page["data"]]
