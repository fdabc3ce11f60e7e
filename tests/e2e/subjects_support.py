"""Shared helpers of the /v1/subjects end-to-end tests (``test_subject*.py``)."""

from __future__ import annotations

from typing import Any

import httpx2


def create(client: httpx2.Client, **fields: Any) -> dict[str, Any]:
    response = client.post("/v1/subjects", json=fields)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created
